/**
 * Clients and servers of different protocol eras, bridged by the gateway:
 * - a 2026-07-28 client (SDK 2.x, pinned) in front of server-everything, which speaks only
 *   2025-11-25: the server's sampling and elicitation requests reach the client as
 *   `input_required` results, and its retries carry the answers back;
 * - a 2025-11-25 client (SDK 1.x) in front of a server that speaks only 2026-07-28 (our
 *   conformance fixture with --modern-only): `input_required` results become real requests to
 *   the client.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client as ModernClient, StreamableHTTPClientTransport as ModernHttpTransport } from '@modelcontextprotocol/client';
import { StdioClientTransport as ModernStdioTransport } from '@modelcontextprotocol/client/stdio';
import { CreateMessageRequestSchema, ElicitRequestSchema, ListRootsRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { CLI, CONFORMANCE_SERVER, type Connected, type Downstream, EVERYTHING, NODE, type RunningGateway, startHttpGateway, textOf, workspace, type Workspace, connectThrough } from '../helpers/gateway.ts';
import { MCP_HEADERS, rawHttp } from '../helpers/raw.ts';


describe.each<Downstream>(['stdio', 'http'])('a 2026-07-28 client in front of a 2025-11-25 server over %s', (downstream) => {
  let ws: Workspace;
  let gateway: RunningGateway | undefined;
  let client: ModernClient;

  beforeAll(async () => {
    ws = workspace({ upstreams: { everything: { command: NODE, args: [EVERYTHING, 'stdio'] } } });
    client = new ModernClient({ name: 'modern-e2e', version: '1.0.0' }, { capabilities: { sampling: {}, elicitation: { form: {} } }, versionNegotiation: { mode: { pin: '2026-07-28' } } });
    client.setRequestHandler('sampling/createMessage', async () => ({ role: 'assistant', model: 'bridge-model', content: { type: 'text', text: 'answer through the bridge' } }));
    client.setRequestHandler('elicitation/create', async () => ({ action: 'accept', content: { name: 'Lin' } }));
    if (downstream === 'http') {
      gateway = await startHttpGateway(['--config', ws.config]);
      await client.connect(new ModernHttpTransport(gateway.url));
    } else {
      await client.connect(new ModernStdioTransport({ command: NODE, args: [CLI, 'run', '--config', ws.config], stderr: 'pipe' }));
    }
  });

  afterAll(async () => {
    await client?.close();
    await gateway?.stop();
    ws?.remove();
  });

  it('negotiates 2026-07-28 with the gateway', () => {
    expect(client.getNegotiatedProtocolVersion()).toBe('2026-07-28');
    expect(client.getProtocolEra()).toBe('modern');
  });

  it('lists and calls tools, reads resources and gets prompts', async () => {
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toContain('echo');
    expect(textOf(await client.callTool({ name: 'echo', arguments: { message: 'across eras' } }))).toBe('Echo: across eras');
    const { resources } = await client.listResources();
    const read = await client.readResource({ uri: resources[0]!.uri });
    expect(read.contents[0]?.uri).toBe(resources[0]!.uri);
    const prompt = await client.getPrompt({ name: 'args-prompt', arguments: { city: 'Oslo' } });
    expect(JSON.stringify(prompt.messages)).toContain('Oslo');
  });

  it('turns the server\'s sampling request into an input_required round', async () => {
    const result = await client.callTool({ name: 'trigger-sampling-request', arguments: { prompt: 'bridge me', maxTokens: 10 } });
    expect(textOf(result)).toContain('answer through the bridge');
  });

  it('turns the server\'s elicitation request into an input_required round', async () => {
    const result = await client.callTool({ name: 'trigger-elicitation-request', arguments: {} });
    expect(textOf(result)).toContain('Lin');
  });
});

describe('a forged requestState', () => {
  it('is refused with -32602 and never reaches the server', async () => {
    const ws = workspace({ upstreams: { everything: { command: NODE, args: [EVERYTHING, 'stdio'] } } });
    const gateway = await startHttpGateway(['--config', ws.config]);
    try {
      const meta = { 'io.modelcontextprotocol/protocolVersion': '2026-07-28', 'io.modelcontextprotocol/clientCapabilities': { sampling: {} } };
      const res = await rawHttp(gateway.url, {
        headers: { ...MCP_HEADERS, 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'tools/call', 'mcp-name': 'echo' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'tools/call', params: { name: 'echo', arguments: { message: 'x' }, inputResponses: {}, requestState: 'guardrail.v1.forged.signature', _meta: meta } }),
      });
      const body = JSON.parse(res.body) as { error: { code: number; data: unknown } };
      expect(body.error.code).toBe(-32602);
      expect(body.error.data).toEqual({ reason: 'invalid_request_state' });
    } finally {
      await gateway.stop();
      ws.remove();
    }
  });
});

describe('a requestState used twice', () => {
  it('continues the round once; the concurrent second retry is refused', async () => {
    const ws = workspace({ upstreams: { everything: { command: NODE, args: [EVERYTHING, 'stdio'] } } });
    const gateway = await startHttpGateway(['--config', ws.config]);
    try {
      const meta = { 'io.modelcontextprotocol/protocolVersion': '2026-07-28', 'io.modelcontextprotocol/clientCapabilities': { sampling: {} } };
      const headers = { ...MCP_HEADERS, 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'tools/call', 'mcp-name': 'trigger-sampling-request' };
      const params = { name: 'trigger-sampling-request', arguments: { prompt: 'twice', maxTokens: 5 }, _meta: meta };
      const first = JSON.parse((await rawHttp(gateway.url, { headers, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params }) })).body) as {
        result: { resultType: string; inputRequests: Record<string, unknown>; requestState: string };
      };
      expect(first.result.resultType).toBe('input_required');
      const [key] = Object.keys(first.result.inputRequests);
      const retry = (id: number) =>
        rawHttp(gateway.url, {
          headers,
          body: JSON.stringify({
            jsonrpc: '2.0',
            id,
            method: 'tools/call',
            params: { ...params, requestState: first.result.requestState, inputResponses: { [key!]: { role: 'assistant', model: 'm', content: { type: 'text', text: 'once' } } } },
          }),
        }).then((r) => JSON.parse(r.body) as { result?: { content: Array<{ text: string }> }; error?: { code: number } });
      const answers = await Promise.all([retry(2), retry(3)]);
      const completed = answers.filter((a) => a.result !== undefined);
      const refused = answers.filter((a) => a.error !== undefined);
      expect(completed).toHaveLength(1);
      expect(completed[0]!.result!.content[0]!.text).toContain('once');
      expect(refused.map((a) => a.error!.code)).toEqual([-32602]);
    } finally {
      await gateway.stop();
      ws.remove();
    }
  });
});

describe.each<Downstream>(['stdio', 'http'])('a 2025-11-25 client in front of a 2026-07-28-only server over %s', (downstream) => {
  let ws: Workspace;
  let conn: Connected;
  const asked: string[] = [];

  beforeAll(async () => {
    ws = workspace({ upstreams: { modern: { command: NODE, args: [CONFORMANCE_SERVER, '--stdio', '--modern-only'] } } });
    conn = await connectThrough(downstream, ws.config, {
      capabilities: { sampling: {}, elicitation: {}, roots: {} },
      setup(client) {
        client.setRequestHandler(ElicitRequestSchema, async (request) => {
          asked.push(`elicitation: ${request.params.message}`);
          const properties = (request.params as { requestedSchema?: { properties?: Record<string, unknown> } }).requestedSchema?.properties ?? {};
          return { action: 'accept', content: 'color' in properties ? { color: 'teal' } : { name: 'Alice' } };
        });
        client.setRequestHandler(CreateMessageRequestSchema, async () => {
          asked.push('sampling');
          return { role: 'assistant', model: 'm', content: { type: 'text', text: 'Paris' } };
        });
        client.setRequestHandler(ListRootsRequestSchema, async () => {
          asked.push('roots');
          return { roots: [{ uri: 'file:///bridged/root', name: 'bridged' }] };
        });
      },
    });
  });

  afterAll(async () => {
    await conn?.close();
    ws?.remove();
  });

  it('initializes even though the server has no initialize', () => {
    expect(conn.client.getServerVersion()?.name).toBeDefined();
    expect(conn.client.getServerCapabilities()?.tools).toBeDefined();
  });

  it('calls a plain tool, without the 2026-only result fields', async () => {
    const result = await conn.client.callTool({ name: 'test_simple_text', arguments: {} });
    expect(textOf(result)).toMatch(/\S/);
    expect(result).not.toHaveProperty('resultType');
  });

  it('asks the client for an elicitation the server returned as input_required', async () => {
    const result = await conn.client.callTool({ name: 'test_input_required_result_elicitation', arguments: {} });
    expect(textOf(result)).toContain('Alice');
    expect(asked.some((a) => a.startsWith('elicitation'))).toBe(true);
  });

  it('asks for sampling and roots too', async () => {
    await conn.client.callTool({ name: 'test_input_required_result_sampling', arguments: {} });
    await conn.client.callTool({ name: 'test_input_required_result_list_roots', arguments: {} });
    expect(asked).toContain('sampling');
    expect(asked).toContain('roots');
  });

  it('carries the server\'s own requestState through several rounds', async () => {
    const result = await conn.client.callTool({ name: 'test_input_required_result_multi_round', arguments: {} });
    expect(textOf(result)).toMatch(/\S/);
    expect(asked.filter((a) => a.startsWith('elicitation')).length).toBeGreaterThanOrEqual(3);
  });
});
