/**
 * Faults: upstreams that crash, hang or send garbage; clients that send malformed, invalid or
 * oversized messages or disconnect mid-stream; and shutdown. Every one must fail only the call
 * it concerns, with the right JSON-RPC error, and never take the gateway or other sessions down.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alive, EVERYTHING, FIXTURE, NODE, type RunningGateway, startHttpGateway, waitReady, workspace, type Workspace } from '../helpers/gateway.ts';
import { MCP_HEADERS, rawHttp, RawStdio, sseMessages } from '../helpers/raw.ts';

type Message = Record<string, unknown>;

const call = (id: unknown, name: string, args: Message = {}) => ({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args } });
const textOf = (m: Message): string => ((m.result as { content: Array<{ text: string }> }).content ?? []).map((c) => c.text).join('');
const errorOf = (m: Message) => m.error as { code: number; message: string; data?: Record<string, unknown> };

describe('upstream faults (stdio)', () => {
  let ws: Workspace;
  let raw: RawStdio;

  beforeAll(async () => {
    ws = workspace({
      limits: { max_message_bytes: '1MiB', request_timeout: '1s' },
      upstreams: {
        fixture: { command: NODE, args: [FIXTURE], restart: { initial_delay: '50ms' } },
        everything: { command: NODE, args: [EVERYTHING, 'stdio'] },
      },
    });
    raw = new RawStdio(['--config', ws.config]);
    await raw.initialize();
  });

  afterAll(async () => {
    await raw?.end();
    ws?.remove();
  });

  it('answers a call whose server crashes with an error, restarts the server, and serves again', async () => {
    raw.send(call(1, 'fixture__pid'));
    const before = Number(textOf(await raw.response(1)));
    raw.send(call(2, 'fixture__crash'));
    const crashed = await raw.response(2);
    expect(errorOf(crashed).code).toBe(-32000);
    expect(errorOf(crashed).message).toMatch(/exited with code 3/);
    // The other server never noticed.
    raw.send(call(3, 'everything__echo', { message: 'unaffected' }));
    expect(textOf(await raw.response(3))).toBe('Echo: unaffected');
    raw.send(call(4, 'fixture__pid'));
    const after = Number(textOf(await raw.response(4, 20_000)));
    expect(after).not.toBe(before);
    expect(alive(before)).toBe(false);
  });

  it('times out a call the server never answers, and keeps the server when it still answers pings', async () => {
    raw.send(call(10, 'fixture__pid'));
    const pid = Number(textOf(await raw.response(10)));
    const started = Date.now();
    raw.send(call(11, 'fixture__hang'));
    const answer = await raw.response(11);
    expect(errorOf(answer).code).toBe(-32001);
    expect(Date.now() - started).toBeLessThan(5000);
    raw.send(call(12, 'fixture__pid'));
    expect(Number(textOf(await raw.response(12)))).toBe(pid);
  });

  it('restarts a server that stops answering altogether', async () => {
    raw.send(call(20, 'fixture__pid'));
    const pid = Number(textOf(await raw.response(20)));
    raw.send(call(21, 'fixture__freeze'));
    expect(errorOf(await raw.response(21)).code).toBe(-32001);
    raw.send(call(22, 'fixture__pid'));
    const after = await raw.response(22, 20_000);
    // The frozen server either was replaced in time or the call failed while it was replaced.
    if ('result' in after) expect(Number(textOf(after))).not.toBe(pid);
    raw.send(call(23, 'fixture__pid'));
    expect(Number(textOf(await raw.response(23, 20_000)))).not.toBe(pid);
    await expect.poll(() => alive(pid), { timeout: 10_000 }).toBe(false);
  });

  it('survives a malformed line from the server', async () => {
    raw.send(call(30, 'fixture__garbage'));
    expect(textOf(await raw.response(30))).toBe('after garbage');
  });

  it('fails only the call whose answer is too large', async () => {
    raw.send(call(40, 'fixture__big', { bytes: 2 * 1024 * 1024 }));
    const big = await raw.response(40);
    expect(errorOf(big).code).toBe(-32011);
    raw.send(call(41, 'fixture__big', { bytes: 1000 }));
    expect(textOf(await raw.response(41))).toHaveLength(1000);
  });
});

describe('malformed client input (stdio)', () => {
  let ws: Workspace;
  let raw: RawStdio;

  beforeAll(async () => {
    ws = workspace({ limits: { max_message_bytes: '1MiB', max_depth: 32 }, upstreams: { fixture: { command: NODE, args: [FIXTURE] } } });
    raw = new RawStdio(['--config', ws.config]);
    await raw.initialize();
  });

  afterAll(async () => {
    await raw?.end();
    ws?.remove();
  });

  it('answers a line that is not JSON with a parse error', async () => {
    raw.write('{"jsonrpc": "2.0", "id": 1, "method": \n');
    const answer = await raw.next((m) => (m.error as { code?: number } | undefined)?.code === -32700);
    expect(answer.id).toBeNull();
  });

  it('answers invalid JSON-RPC with -32600 and the id when it can be read', async () => {
    raw.send({ jsonrpc: '1.0', id: 'v', method: 'ping' });
    expect(errorOf(await raw.response('v')).code).toBe(-32600);
    raw.send({ jsonrpc: '2.0', id: 1.5, method: 'ping' });
    expect(errorOf(await raw.next((m) => m.id === null && errorOf(m)?.code === -32600)).message).toMatch(/id/);
    raw.write('[{"jsonrpc":"2.0","id":"b","method":"ping"}]\n');
    expect(errorOf(await raw.next((m) => m.id === null && /batch/.test(errorOf(m)?.message ?? ''))).code).toBe(-32600);
  });

  it('refuses unknown methods with -32601 without forwarding them', async () => {
    raw.send({ jsonrpc: '2.0', id: 'u', method: 'tools/destroy_everything', params: {} });
    const answer = await raw.response('u');
    expect(errorOf(answer).code).toBe(-32601);
    expect(errorOf(answer).data).toMatchObject({ guardrail: { rule: 'request-filter.unknown-method' } });
  });

  it('refuses excessive nesting', async () => {
    let deep: unknown = 'x';
    for (let i = 0; i < 60; i++) deep = { d: deep };
    raw.send(call('deep', 'fixture__echo', { text: 'x', extra: deep }));
    const answer = await raw.response('deep');
    expect(errorOf(answer).code).toBe(-32600);
    expect(errorOf(answer).data).toMatchObject({ guardrail: { rule: 'request-filter.too-deep' } });
  });

  it('fails an oversized request by its id and keeps the session', async () => {
    raw.send(call('huge', 'fixture__echo', { text: 'y'.repeat(2 * 1024 * 1024) }));
    const answer = await raw.response('huge');
    expect(errorOf(answer).code).toBe(-32011);
    raw.send({ jsonrpc: '2.0', id: 'after', method: 'ping' });
    expect((await raw.response('after')).result).toEqual({});
  });

  it('refuses requests before initialize on a fresh connection', async () => {
    const fresh = new RawStdio(['--config', ws.config]);
    try {
      fresh.send(call(1, 'echo', { text: 'early' }));
      expect(errorOf(await fresh.response(1)).message).toMatch(/initialize/);
    } finally {
      await fresh.end();
    }
  });
});

describe('HTTP faults and shutdown', () => {
  let ws: Workspace;
  let gateway: RunningGateway;

  beforeAll(async () => {
    ws = workspace({
      limits: { max_message_bytes: '1MiB' },
      upstreams: { fixture: { command: NODE, args: [FIXTURE] }, everything: { command: NODE, args: [EVERYTHING, 'stdio'] } },
    });
    gateway = await startHttpGateway(['--config', ws.config]);
    await waitReady(gateway.url);
  });

  afterAll(async () => {
    await gateway?.stop();
    ws?.remove();
  });

  async function session(): Promise<Record<string, string>> {
    const init = await rawHttp(gateway.url, {
      headers: MCP_HEADERS,
      body: JSON.stringify({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } }),
    });
    expect(init.status).toBe(200);
    const headers = { ...MCP_HEADERS, 'mcp-session-id': String(init.headers['mcp-session-id']), 'mcp-protocol-version': '2025-11-25' };
    await rawHttp(gateway.url, { headers, body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }) });
    return headers;
  }

  it('refuses a request whose Host or Origin is foreign (DNS rebinding)', async () => {
    const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' });
    const host = await rawHttp(gateway.url, { headers: { ...MCP_HEADERS, host: 'evil.example.com' }, body });
    expect(host.status).toBe(403);
    const origin = await rawHttp(gateway.url, { headers: { ...MCP_HEADERS, origin: 'http://evil.example.com' }, body });
    expect(origin.status).toBe(403);
  });

  it('answers transport-level mistakes with the right status', async () => {
    expect((await rawHttp(gateway.url, { headers: { ...MCP_HEADERS, 'content-type': 'text/plain' }, body: '{}' })).status).toBe(415);
    expect((await rawHttp(gateway.url, { headers: { ...MCP_HEADERS, accept: 'application/json' }, body: '{}' })).status).toBe(406);
    expect((await rawHttp(gateway.url, { headers: MCP_HEADERS, body: '{"jsonrpc":' })).status).toBe(400);
    const noSession = await rawHttp(gateway.url, { headers: MCP_HEADERS, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }) });
    expect(noSession.status).toBe(400);
    const unknown = await rawHttp(gateway.url, { headers: { ...MCP_HEADERS, 'mcp-session-id': 'nope' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }) });
    expect(unknown.status).toBe(404);
    const huge = await rawHttp(gateway.url, { headers: MCP_HEADERS, body: JSON.stringify(call(1, 'x', { t: 'z'.repeat(2 * 1024 * 1024) })) });
    expect(huge.status).toBe(413);
    expect(JSON.parse(huge.body).error.code).toBe(-32011);
  });

  it('ends a session on DELETE (404 afterwards) and reaps its server processes', async () => {
    const headers = await session();
    const pidAnswer = await rawHttp(gateway.url, { headers, body: JSON.stringify(call(1, 'fixture__pid')) });
    const pid = Number(textOf(JSON.parse(pidAnswer.body) as Message));
    expect(alive(pid)).toBe(true);
    expect((await rawHttp(gateway.url, { method: 'DELETE', headers })).status).toBe(200);
    expect((await rawHttp(gateway.url, { headers, body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }) })).status).toBe(404);
    await expect.poll(() => alive(pid), { timeout: 10_000 }).toBe(false);
  });

  it('lets a client that lost a stream resume it with Last-Event-ID', async () => {
    const headers = await session();
    const body = JSON.stringify({ jsonrpc: '2.0', id: 'long', method: 'tools/call', params: { name: 'everything__trigger-long-running-operation', arguments: { duration: 1, steps: 4 }, _meta: { progressToken: 'p' } } });
    // Read the first event (the priming id), then drop the connection.
    const firstId = await new Promise<string>((resolve, reject) => {
      const req = import('node:http').then(({ request }) => {
        const r = request(gateway.url, { method: 'POST', headers }, (res) => {
          let text = '';
          res.on('data', (chunk: Buffer) => {
            text += chunk.toString();
            const m = /^id: (\S+)$/m.exec(text);
            if (m) {
              res.destroy();
              resolve(m[1]!);
            }
          });
        });
        r.on('error', () => undefined);
        r.end(body);
      });
      req.catch(reject);
    });
    const resumed = await rawHttp(gateway.url, { method: 'GET', headers: { ...headers, accept: 'text/event-stream', 'last-event-id': firstId } });
    expect(resumed.status).toBe(200);
    const messages = sseMessages(resumed.body);
    const answer = messages.find((m) => m.id === 'long');
    expect(answer && textOf(answer)).toContain('completed');
    expect(messages.some((m) => m.method === 'notifications/progress')).toBe(true);
  });

  it('cancels a 2026-07-28 call when its client closes the stream', async () => {
    const meta = { 'io.modelcontextprotocol/protocolVersion': '2026-07-28', 'io.modelcontextprotocol/clientCapabilities': {} };
    const modernHeaders = (name: string) => ({ ...MCP_HEADERS, 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'tools/call', 'mcp-name': name });
    const slow = JSON.stringify({ jsonrpc: '2.0', id: 'slow-1', method: 'tools/call', params: { name: 'fixture__slow', arguments: { ms: 20_000 }, _meta: meta } });
    const { request } = await import('node:http');
    const req = request(gateway.url, { method: 'POST', headers: modernHeaders('fixture__slow') });
    req.on('error', () => undefined);
    req.end(slow);
    await new Promise((r) => setTimeout(r, 500));
    req.destroy();
    await expect
      .poll(
        async () => {
          const res = await rawHttp(gateway.url, { headers: modernHeaders('fixture__cancelled_calls'), body: JSON.stringify({ jsonrpc: '2.0', id: 'c', method: 'tools/call', params: { name: 'fixture__cancelled_calls', arguments: {}, _meta: meta } }) });
          return (JSON.parse(textOf(JSON.parse(res.body) as Message)) as unknown[]).length;
        },
        { timeout: 10_000 },
      )
      .toBeGreaterThan(0);
  });

  it('shuts down on SIGTERM with no server process left behind', async () => {
    const local = workspace({ upstreams: { fixture: { command: NODE, args: [FIXTURE] } } });
    const gw = await startHttpGateway(['--config', local.config]);
    await waitReady(gw.url);
    const init = await rawHttp(gw.url, {
      headers: MCP_HEADERS,
      body: JSON.stringify({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } }),
    });
    const headers = { ...MCP_HEADERS, 'mcp-session-id': String(init.headers['mcp-session-id']) };
    const answer = await rawHttp(gw.url, { headers, body: JSON.stringify(call(1, 'pid')) });
    const pid = Number(textOf(JSON.parse(answer.body) as Message));
    expect(alive(pid)).toBe(true);
    expect(await gw.stop('SIGTERM')).toBe(0);
    expect(alive(pid)).toBe(false);
    local.remove();
  });
});

describe('stdio shutdown', () => {
  it('exits when the client closes stdin, and reaps its servers', async () => {
    const ws = workspace({ upstreams: { fixture: { command: NODE, args: [FIXTURE] } } });
    const raw = new RawStdio(['--config', ws.config]);
    await raw.initialize();
    raw.send(call(1, 'pid'));
    const pid = Number(textOf(await raw.response(1)));
    expect(await raw.end()).toBe(0);
    await expect.poll(() => alive(pid), { timeout: 10_000 }).toBe(false);
    ws.remove();
  });
});
