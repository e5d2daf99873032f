/**
 * Metrics (seed 001 §7; issue: calls, decisions by layer and effect, latency per upstream,
 * queue depth, audit lag, upstream restarts) for Prometheus, with the standard client library
 * (prom-client), served on the admin listener. The gateway talks to the small `GatewayMetrics`
 * interface; prom-client is loaded only when an admin listener is configured, and without one
 * every call is a no-op.
 */
import type * as Http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AdminListenerConfig } from '../config/config.ts';
import type { Logger } from '../util/logger.ts';

export interface GatewayMetrics {
  /** A client request the gateway judged, by upstream, method and verdict. */
  call(server: string | undefined, method: string, verdict: string): void;
  decision(layer: string, effect: string): void;
  /** Time an upstream took to answer, in seconds. */
  upstreamLatency(server: string, method: string, seconds: number): void;
  restart(server: string): void;
  event(type: string, severity: string): void;
}

export const NO_METRICS: GatewayMetrics = { call() {}, decision() {}, upstreamLatency() {}, restart() {}, event() {} };

/** What the admin listener reads when it is scraped. */
export interface Gauges {
  sessions(): number;
  auditQueue(): number;
  auditLagSeconds(): number;
  auditDropped(): number;
}

export interface AdminServer {
  readonly url: URL;
  readonly metrics: GatewayMetrics;
  close(): Promise<void>;
}

export async function startAdmin(config: AdminListenerConfig, gauges: Gauges, logger: Logger): Promise<AdminServer> {
  const prom = await import('prom-client');
  const registry = new prom.Registry();
  prom.collectDefaultMetrics({ register: registry, prefix: 'guardrail_' });
  const calls = new prom.Counter({ name: 'guardrail_calls_total', help: 'Client requests judged, by upstream, method and verdict.', labelNames: ['server', 'method', 'verdict'], registers: [registry] });
  const decisions = new prom.Counter({ name: 'guardrail_decisions_total', help: 'Stage decisions, by layer and effect.', labelNames: ['layer', 'effect'], registers: [registry] });
  const latency = new prom.Histogram({
    name: 'guardrail_upstream_latency_seconds',
    help: 'Time upstreams took to answer, by upstream and method.',
    labelNames: ['server', 'method'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const restarts = new prom.Counter({ name: 'guardrail_upstream_restarts_total', help: 'Restarts of upstream servers scheduled by the gateway.', labelNames: ['server'], registers: [registry] });
  const events = new prom.Counter({ name: 'guardrail_security_events_total', help: 'Security events, by type and severity.', labelNames: ['type', 'severity'], registers: [registry] });
  new prom.Gauge({ name: 'guardrail_sessions', help: 'Client sessions open.', registers: [registry], collect() { this.set(gauges.sessions()); } });
  new prom.Gauge({ name: 'guardrail_audit_queue_depth', help: 'Audit records waiting to be written.', registers: [registry], collect() { this.set(gauges.auditQueue()); } });
  new prom.Gauge({ name: 'guardrail_audit_lag_seconds', help: 'Age of the oldest audit record not yet written.', registers: [registry], collect() { this.set(gauges.auditLagSeconds()); } });
  new prom.Gauge({ name: 'guardrail_audit_dropped', help: 'Audit records dropped since start (drop-with-alert).', registers: [registry], collect() { this.set(gauges.auditDropped()); } });

  const http = process.getBuiltinModule('node:http') as typeof Http;
  const server = http.createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://admin').pathname;
    if (req.method === 'GET' && path === '/metrics') {
      registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
        (error: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(error.message),
      );
      return;
    }
    if (req.method === 'GET' && path === '/healthz') return void res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const url = new URL(`http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${address.port}/metrics`);
  logger.info('admin listener (metrics)', { url: url.href });
  return {
    url,
    metrics: {
      call: (server, method, verdict) => calls.inc({ server: server ?? '-', method, verdict }),
      decision: (layer, effect) => decisions.inc({ layer, effect }),
      upstreamLatency: (server, method, seconds) => latency.observe({ server, method }, seconds),
      restart: (name) => restarts.inc({ server: name }),
      event: (type, severity) => events.inc({ type, severity }),
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
