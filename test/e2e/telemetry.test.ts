/**
 * OpenTelemetry end to end: a gateway (a real CLI process) exports traces and logs over
 * OTLP/HTTP with the official SDK to a collector played by a real HTTP server on loopback,
 * which keeps what it receives (the OTLP JSON encoding).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, FIXTURE, NODE, workspace, type Workspace } from '../helpers/gateway.ts';
import { RawStdio } from '../helpers/raw.ts';

type Attribute = { key: string; value: { stringValue?: string; intValue?: string | number } };
type Span = { traceId: string; spanId: string; parentSpanId?: string; name: string; attributes: Attribute[]; events?: { name: string; attributes: Attribute[] }[] };
type LogRecord = { severityText: string; body: { stringValue: string }; attributes: Attribute[] };
const attr = (list: Attribute[] | undefined, key: string) => list?.find((a) => a.key === key)?.value.stringValue;

const CLIENT_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const CLIENT_SPAN = '00f067aa0ba902b7';

describe('OpenTelemetry export', () => {
  let serverMeta: Record<string, string> = {};
  let collector: Server;
  let ws: Workspace;
  const spans: Span[] = [];
  const logs: LogRecord[] = [];
  const paths: string[] = [];

  beforeAll(async () => {
    collector = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        paths.push(`${req.url} ${req.headers['content-type']}`);
        const data = JSON.parse(body) as {
          resourceSpans?: { scopeSpans: { spans: Span[] }[] }[];
          resourceLogs?: { scopeLogs: { logRecords: LogRecord[] }[] }[];
        };
        for (const r of data.resourceSpans ?? []) for (const s of r.scopeSpans) spans.push(...s.spans);
        for (const r of data.resourceLogs ?? []) for (const s of r.scopeLogs) logs.push(...s.logRecords);
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((r) => collector.listen(0, '127.0.0.1', r));
    ws = workspace({
      upstreams: { fx: { command: NODE, args: [FIXTURE], policy: { tools: { deny: ['delete_file'] } } } },
      telemetry: { endpoint: `http://127.0.0.1:${(collector.address() as AddressInfo).port}`, export_interval: '200ms' },
    });
    const raw = new RawStdio(['--config', ws.config]);
    await raw.initialize();
    raw.send({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', arguments: { text: 'traced' } } });
    raw.send({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'delete_file', arguments: { path: '/x' } } });
    await raw.response(1);
    await raw.response(2);
    // A client inside a trace: its context in _meta (SEP-414).
    raw.send({ jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'echo', arguments: { text: '__meta__' }, _meta: { traceparent: `00-${CLIENT_TRACE}-${CLIENT_SPAN}-01` } } });
    serverMeta = JSON.parse(((await raw.response(3)) as { result: { content: { text: string }[] } }).result.content[0]!.text) as Record<string, string>;
    // Stopping the gateway flushes what is batched.
    expect(await raw.end()).toBe(0);
  });

  afterAll(() => {
    collector?.close();
    ws?.remove();
  });

  it('exports a span per call with its decisions, and the upstream round trip as a child span', async () => {
    await eventually(() => (spans.length >= 3 ? true : undefined), 10_000, 'spans');
    expect(paths.some((p) => p.startsWith('/v1/traces application/json'))).toBe(true);
    const calls = spans.filter((s) => s.name === 'mcp tools/call');
    const allowed = calls.find((s) => attr(s.attributes, 'guardrail.verdict') === 'allow')!;
    const denied = calls.find((s) => attr(s.attributes, 'guardrail.verdict') === 'deny')!;
    expect(allowed).toBeDefined();
    expect(attr(allowed.attributes, 'mcp.server')).toBe('fx');
    expect(attr(allowed.attributes, 'mcp.target')).toBe('echo');
    const upstream = spans.find((s) => s.name === 'upstream fx' && s.parentSpanId === allowed.spanId);
    expect(upstream?.traceId).toBe(allowed.traceId);
    expect(denied.events?.map((e) => attr(e.attributes, 'guardrail.rule'))).toContain('request-filter.tool-denied');
    expect(spans.some((s) => s.name === 'upstream fx' && s.parentSpanId === denied.spanId)).toBe(false);
  });

  it('exports security events as log records', async () => {
    const record = await eventually(() => logs.find((l) => attr(l.attributes, 'event.name') === 'event.security.request.denied'), 10_000, 'the log record');
    expect(record.severityText).toBe('MEDIUM');
    expect(attr(record.attributes, 'guardrail.rule')).toBe('request-filter.tool-denied');
  });

  it('joins the trace of a client that sent its context in _meta, and passes the trace on to the server', async () => {
    const call = await eventually(() => spans.find((s) => s.name === 'mcp tools/call' && s.traceId === CLIENT_TRACE), 10_000, 'the joined span');
    expect(call.parentSpanId).toBe(CLIENT_SPAN);
    const upstream = spans.find((s) => s.name === 'upstream fx' && s.parentSpanId === call.spanId)!;
    expect(upstream.traceId).toBe(CLIENT_TRACE);
    // The server received the upstream span as its parent.
    expect(serverMeta.traceparent).toBe(`00-${CLIENT_TRACE}-${upstream.spanId}-01`);
  });
});
