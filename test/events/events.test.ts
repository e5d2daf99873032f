/**
 * Security events: the bus's subscriptions, decisions turned into typed events, correlation
 * over a sliding window (with a clock the test moves), the OCSF form, and the sinks against
 * real loopback sockets and a real HTTP server.
 */
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createSocket } from 'node:dgram';
import { createServer as createTcpServer, type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { DecisionRecord } from '../../src/audit/decision-log.ts';
import { EventBus, type SecurityEvent } from '../../src/events/bus.ts';
import { correlate, DEFAULT_CORRELATION } from '../../src/events/correlate.ts';
import { eventsOf } from '../../src/events/from-decisions.ts';
import { toOcsf } from '../../src/events/ocsf.ts';
import { createSink, syslogLine, type Sink } from '../../src/events/sinks.ts';
import { decision, type Decision } from '../../src/pipeline/decision.ts';
import { silentLogger } from '../../src/util/logger.ts';
import { eventually } from '../helpers/gateway.ts';

const record = (verdict: DecisionRecord['verdict'], decisions: Decision[], extra: Partial<DecisionRecord> = {}): DecisionRecord => ({
  session: 's1',
  direction: 'client-to-server',
  kind: 'request',
  method: 'tools/call',
  id: 1,
  server: 'files',
  target: 'read_file',
  verdict,
  decisions,
  ...extra,
});
const deny = (stage: string, layer: Decision['layer'], rule: string) => decision('deny', stage, layer, rule, `refused by ${rule}`);
const types = (r: DecisionRecord) => eventsOf(r).map((e) => e.type);

describe('decisions become events', () => {
  it('names each refusal by the layer and stage that made it', () => {
    expect(types(record('deny', [deny('request-filter', 'request-control', 'request-filter.tool-denied')]))).toEqual(['event.security.request.denied']);
    expect(types(record('deny', [deny('argument-guard', 'request-control', 'path.outside-roots')]))).toEqual(['event.security.guard.blocked']);
    expect(types(record('deny', [deny('action-limiter', 'request-control', 'limit.rate')]))).toEqual(['event.security.resource_quota.exceeded']);
    expect(types(record('deny', [deny('flow', 'information-flow', 'flow.no-tainted-egress')]))).toEqual(['event.security.flow_control.blocked']);
    expect(types(record('deny', [deny('flow', 'information-flow', 'flow.annotation-replayed')]))).toEqual(['event.security.authentication.failed']);
    expect(types(record('deny', [deny('argument-guard', 'request-control', 'argument-guard.internal-error')]))).toEqual(['event.security.policy.error']);
  });

  it('reports transformations, secrets seen and egress calls from the flow decision, with its evidence', () => {
    const redacted = decision('transform', 'flow', 'information-flow', 'flow.level-default', 'redacted', { classification: 'RESTRICTED', detectors: { 'aws-access-key-id': 1 }, transformations: ['redact:aws-access-key-id'] });
    const events = eventsOf(record('transform', [redacted], { direction: 'server-to-client', kind: 'result' }));
    expect(events.map((e) => e.type)).toEqual(['event.security.flow_control.transformed', 'event.security.data.secret_seen']);
    expect(events[1]!.detail).toEqual({ classification: 'RESTRICTED', detectors: { 'aws-access-key-id': 1 } });
    const egress = decision('allow', 'flow', 'information-flow', 'flow.egress', 'a call to mail', { classification: 'PUBLIC', detectors: {}, egress: true });
    expect(types(record('allow', [egress]))).toEqual(['event.security.flow_control.egress']);
    expect(types(record('allow', []))).toEqual([]);
  });
});

describe('the bus', () => {
  it('delivers by type glob and minimum severity, and survives a subscriber that throws', () => {
    const bus = new EventBus();
    const flow: SecurityEvent[] = [];
    const high: SecurityEvent[] = [];
    bus.subscribe({}, () => {
      throw new Error('broken subscriber');
    });
    bus.subscribe({ types: ['event.security.flow_control.*'] }, (e) => flow.push(e));
    bus.subscribe({ minSeverity: 'high' }, (e) => high.push(e));
    bus.emit({ type: 'event.security.flow_control.transformed', message: 'm' });
    bus.emit({ type: 'event.security.guard.blocked', message: 'm' });
    bus.emit({ type: 'event.security.request.denied', message: 'm' });
    expect(flow.map((e) => e.type)).toEqual(['event.security.flow_control.transformed']);
    expect(high.map((e) => [e.type, e.severity])).toEqual([['event.security.guard.blocked', 'high']]);
    expect(bus.emitted).toBe(3);
  });
});

describe('correlation', () => {
  const setup = () => {
    const bus = new EventBus();
    let now = 1_000_000;
    correlate(bus, DEFAULT_CORRELATION, () => now);
    const alerts: SecurityEvent[] = [];
    bus.subscribe({ types: ['event.security.correlation.alert'] }, (e) => alerts.push(e));
    return { bus, alerts, advance: (ms: number) => (now += ms) };
  };

  it('raises one high alert for five refusals in a minute in one session, not for four or for five spread out', () => {
    const { bus, alerts, advance } = setup();
    for (let i = 0; i < 4; i++) bus.emit({ type: 'event.security.guard.blocked', message: 'm', session: 'a' });
    bus.emit({ type: 'event.security.guard.blocked', message: 'm', session: 'b' });
    expect(alerts).toHaveLength(0);
    bus.emit({ type: 'event.security.request.denied', message: 'm', session: 'a' });
    expect(alerts.map((a) => [a.severity, a.rule, a.session])).toEqual([['high', 'repeated-refusals', 'a']]);
    // The same storm goes on: quiet for one window.
    for (let i = 0; i < 6; i++) bus.emit({ type: 'event.security.guard.blocked', message: 'm', session: 'a' });
    expect(alerts).toHaveLength(1);
    // Spread out over more than a minute: no alert.
    advance(120_000);
    for (let i = 0; i < 5; i++) {
      bus.emit({ type: 'event.security.guard.blocked', message: 'm', session: 'c' });
      advance(20_000);
    }
    expect(alerts).toHaveLength(1);
  });

  it('raises a critical alert when a session that saw a secret calls an egress tool within five minutes', () => {
    const { bus, alerts, advance } = setup();
    bus.emit({ type: 'event.security.flow_control.egress', message: 'm', session: 'a' });
    expect(alerts).toHaveLength(0);
    bus.emit({ type: 'event.security.data.secret_seen', message: 'm', session: 'a' });
    advance(60_000);
    bus.emit({ type: 'event.security.flow_control.egress', message: 'm', session: 'b' });
    expect(alerts).toHaveLength(0);
    bus.emit({ type: 'event.security.flow_control.egress', message: 'm', session: 'a' });
    expect(alerts.map((a) => [a.severity, a.rule])).toEqual([['critical', 'secret-then-egress']]);
    bus.emit({ type: 'event.security.data.secret_seen', message: 'm', session: 'd' });
    advance(301_000);
    bus.emit({ type: 'event.security.flow_control.egress', message: 'm', session: 'd' });
    expect(alerts).toHaveLength(1);
  });

  it('delivers an alert after the event that raised it, to every subscriber (a sink subscribed after the rules too)', () => {
    const { bus } = setup();
    const seen: string[] = [];
    bus.subscribe({}, (e) => seen.push(e.type));
    bus.emit({ type: 'event.security.data.secret_seen', message: 'm', session: 'a' });
    bus.emit({ type: 'event.security.flow_control.egress', message: 'm', session: 'a' });
    expect(seen).toEqual(['event.security.data.secret_seen', 'event.security.flow_control.egress', 'event.security.correlation.alert']);
  });
});

describe('OCSF', () => {
  it('maps a refusal to API Activity with its disposition, and an alert to a Detection Finding', () => {
    const bus = new EventBus();
    const refusal = bus.emit({ type: 'event.security.guard.blocked', message: 'path escape', session: 's', server: 'files', method: 'tools/call', tool: 'read_file', rule: 'path.outside-roots' });
    expect(toOcsf(refusal)).toMatchObject({
      class_uid: 6003,
      category_uid: 6,
      activity_id: 99,
      type_uid: 600399,
      severity_id: 4,
      severity: 'High',
      disposition_id: 2,
      disposition: 'Blocked',
      api: { operation: 'tools/call', service: { name: 'files' } },
      actor: { session: { uid: 's' } },
      metadata: { version: '1.6.0', event_code: 'event.security.guard.blocked', uid: refusal.id },
      unmapped: { rule: 'path.outside-roots', tool: 'read_file' },
    });
    expect(toOcsf(refusal).time).toBe(Date.parse(refusal.time));
    const alert = bus.emit({ type: 'event.security.correlation.alert', severity: 'critical', message: 'secret then egress', rule: 'secret-then-egress' });
    expect(toOcsf(alert)).toMatchObject({ class_uid: 2004, category_uid: 2, type_uid: 200401, severity_id: 5, finding_info: { title: 'secret then egress', analytic: { name: 'secret-then-egress' } } });
    expect(toOcsf(bus.emit({ type: 'event.security.authentication.failed', message: 'replayed' }))).toMatchObject({ class_uid: 3002, category_uid: 3, status_id: 2 });
  });
});

describe('sinks', () => {
  const sinks: Sink[] = [];
  const closers: (() => void)[] = [];
  afterEach(async () => {
    await Promise.all(sinks.splice(0).map((s) => s.close()));
    for (const close of closers.splice(0)) close();
  });
  const event = (): SecurityEvent => new EventBus().emit({ type: 'event.security.flow_control.blocked', message: 'refused', session: 's' });

  it('writes RFC 5424 lines: priority from facility and severity, version 1, message id from the type', () => {
    const line = syslogLine(event(), 'guardrail', 13, 'native');
    expect(line).toMatch(/^<107>1 \d{4}-\d\d-\d\dT\S+Z \S+ guardrail \d+ flow_control\.blocked - \{/);
    expect(JSON.parse(line.slice(line.indexOf(' - ') + 3))).toMatchObject({ type: 'event.security.flow_control.blocked' });
  });

  it('sends syslog over UDP to a real socket', async () => {
    const server = createSocket('udp4');
    const received: string[] = [];
    server.on('message', (m) => received.push(m.toString()));
    await new Promise<void>((r) => server.bind(0, '127.0.0.1', r));
    closers.push(() => server.close());
    const sink = createSink({ type: 'syslog', url: `udp://127.0.0.1:${(server.address() as AddressInfo).port}`, format: 'ocsf', appName: 'guardrail', facility: 13 }, silentLogger);
    sinks.push(sink);
    sink.send(event());
    const line = await eventually(() => received[0], 5000, 'a datagram');
    expect(JSON.parse(line.slice(line.indexOf(' - ') + 3))).toMatchObject({ class_uid: 6003, disposition_id: 2 });
  });

  it('sends syslog over TCP with octet counting, keeping what it could not send until the server is up', async () => {
    // Pick a free port, then start the sink before anything listens there.
    const probe = createTcpServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as AddressInfo).port;
    await new Promise((r) => probe.close(r));
    const sink = createSink({ type: 'syslog', url: `tcp://127.0.0.1:${port}`, format: 'native', appName: 'guardrail', facility: 13 }, silentLogger);
    sinks.push(sink);
    sink.send(event());
    sink.send(event());
    let data = '';
    const server = createTcpServer((socket) => socket.on('data', (chunk) => (data += chunk.toString())));
    await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
    closers.push(() => server.close());
    await eventually(() => (data.split(' <').length >= 3 ? true : undefined), 10_000, 'two frames');
    const length = Number(data.slice(0, data.indexOf(' ')));
    const first = data.slice(data.indexOf(' ') + 1, data.indexOf(' ') + 1 + length);
    expect(first).toMatch(/^<107>1 .* - \{.*\}$/);
  });

  it('retries a webhook that fails with 503 and delivers; gives up at once on 400', async () => {
    let calls = 0;
    const bodies: string[] = [];
    const server = createHttpServer((req: IncomingMessage, res: ServerResponse) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        calls++;
        if (req.headers.authorization !== 'Bearer t') res.writeHead(400).end();
        else if (calls < 3) res.writeHead(503).end();
        else {
          bodies.push(body);
          res.writeHead(204).end();
        }
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    closers.push(() => server.close());
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
    const sink = createSink({ type: 'webhook', url, format: 'native', headers: { authorization: 'Bearer t' }, retries: 3, backoffMs: 10 }, silentLogger);
    sinks.push(sink);
    sink.send(event());
    await eventually(() => bodies[0], 5000, 'the delivery');
    expect(calls).toBe(3);
    expect(JSON.parse(bodies[0]!)).toMatchObject({ type: 'event.security.flow_control.blocked' });
    const refused = createSink({ type: 'webhook', url, format: 'native', headers: {}, retries: 3, backoffMs: 10 }, silentLogger);
    sinks.push(refused);
    refused.send(event());
    await eventually(() => (refused.dropped === 1 ? true : undefined), 5000, 'the drop');
    expect(calls).toBe(4);
  });
});
