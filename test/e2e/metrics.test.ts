/**
 * Metrics end to end: a gateway (a real CLI process) with an admin listener in front of the
 * test fixture server; real calls, a refused one and a server crash (the gateway restarts it)
 * show up in the Prometheus text served on GET /metrics.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, FIXTURE, NODE, workspace, type Workspace } from '../helpers/gateway.ts';
import { RawStdio } from '../helpers/raw.ts';

describe('the admin listener', () => {
  let ws: Workspace;
  let raw: RawStdio;
  let url: URL;

  beforeAll(async () => {
    ws = workspace({
      upstreams: { fx: { command: NODE, args: [FIXTURE], restart: { initial_delay: 10 }, policy: { tools: { deny: ['delete_file'] } } } },
      admin: { url: 'http://127.0.0.1:0' },
      log: { level: 'info' },
    });
    raw = new RawStdio(['--config', ws.config]);
    await raw.initialize();
    url = new URL(await eventually(() => /admin listener \(metrics\) url=(\S+)/.exec(raw.stderr)?.[1], 10_000, 'the admin listener'));
  });

  afterAll(async () => {
    await raw?.end();
    ws?.remove();
  });

  const scrape = async () => {
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    return res.text();
  };
  const value = (text: string, series: string) => {
    const line = text.split('\n').find((l) => l.startsWith(series));
    return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
  };

  it('counts calls by verdict, decisions by layer, latency per upstream, sessions', async () => {
    for (let i = 0; i < 3; i++) raw.send({ jsonrpc: '2.0', id: i, method: 'tools/call', params: { name: 'echo', arguments: { text: `hi ${i}` } } });
    raw.send({ jsonrpc: '2.0', id: 'no', method: 'tools/call', params: { name: 'delete_file', arguments: { path: '/x' } } });
    for (let i = 0; i < 3; i++) await raw.response(i);
    await raw.response('no');
    const text = await scrape();
    expect(value(text, 'guardrail_calls_total{server="fx",method="tools/call",verdict="allow"}')).toBe(3);
    expect(value(text, 'guardrail_calls_total{server="fx",method="tools/call",verdict="deny"}')).toBe(1);
    expect(value(text, 'guardrail_decisions_total{layer="request-control",effect="deny"}')).toBe(1);
    expect(value(text, 'guardrail_upstream_latency_seconds_count{server="fx",method="tools/call"}')).toBe(3);
    expect(value(text, 'guardrail_sessions')).toBe(1);
    expect(value(text, 'guardrail_security_events_total{type="event.security.request.denied",severity="medium"}')).toBe(1);
    expect(text).toContain('guardrail_process_resident_memory_bytes');
  });

  it('counts upstream restarts', async () => {
    raw.send({ jsonrpc: '2.0', id: 'crash', method: 'tools/call', params: { name: 'crash', arguments: {} } });
    await raw.response('crash');
    const restarts = await eventually(async () => value(await scrape(), 'guardrail_upstream_restarts_total{server="fx"}'), 10_000, 'a restart');
    expect(restarts).toBeGreaterThanOrEqual(1);
  });

  it('answers 404 elsewhere and 200 on /healthz', async () => {
    expect((await fetch(new URL('/nope', url))).status).toBe(404);
    expect(await (await fetch(new URL('/healthz', url))).text()).toBe('ok\n');
  });
});
