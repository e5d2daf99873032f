/**
 * Everything MCP does, through the gateway, against the reference server
 * `@modelcontextprotocol/server-everything` (a real child process), driven by the official
 * SDK 1.x client; the same suite over stdio and over Streamable HTTP.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  ListRootsRequestSchema,
  LoggingMessageNotificationSchema,
  ResourceUpdatedNotificationSchema,
  type LoggingMessageNotification,
} from '@modelcontextprotocol/sdk/types.js';
import { type Connected, type Downstream, eventually, EVERYTHING, NODE, textOf, workspace, type Workspace, connectThrough } from '../helpers/gateway.ts';


describe.each<Downstream>(['stdio', 'http'])('server-everything through the gateway over %s', (downstream) => {
  let ws: Workspace;
  let conn: Connected;
  const logs: LoggingMessageNotification['params'][] = [];
  const updates: string[] = [];

  beforeAll(async () => {
    ws = workspace({ upstreams: { everything: { command: NODE, args: [EVERYTHING, 'stdio'] } } });
    conn = await connectThrough(downstream, ws.config, {
      capabilities: { sampling: {}, elicitation: {}, roots: { listChanged: true } },
      setup(client) {
        client.setRequestHandler(CreateMessageRequestSchema, async (request) => ({
          role: 'assistant',
          model: 'test-model',
          content: { type: 'text', text: `sampled: ${JSON.stringify(request.params.messages[0]?.content)}` },
        }));
        client.setRequestHandler(ElicitRequestSchema, async () => ({ action: 'accept', content: { name: 'Ada', color: 'blue' } }));
        client.setRequestHandler(ListRootsRequestSchema, async () => ({ roots: [{ uri: 'file:///tmp/e2e-root', name: 'e2e root' }] }));
        client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => void logs.push(n.params));
        client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => void updates.push(n.params.uri));
      },
    });
  });

  afterAll(async () => {
    await conn?.close();
    ws?.remove();
  });

  it('presents the single server as itself', () => {
    expect(conn.client.getServerVersion()?.name).toBe('mcp-servers/everything');
    const caps = conn.client.getServerCapabilities();
    expect(caps?.tools).toBeDefined();
    expect(caps?.resources?.subscribe).toBe(true);
    expect(conn.client.getInstructions()).toMatch(/\S/);
  });

  it('lists and calls tools', async () => {
    const { tools } = await conn.client.listTools();
    const names = tools.map((t) => t.name);
    expect(names).toEqual(expect.arrayContaining(['echo', 'get-sum', 'trigger-sampling-request', 'trigger-elicitation-request', 'get-roots-list']));
    expect(textOf(await conn.client.callTool({ name: 'echo', arguments: { message: 'through the gateway' } }))).toBe('Echo: through the gateway');
    expect(textOf(await conn.client.callTool({ name: 'get-sum', arguments: { a: 40, b: 2 } }))).toContain('42');
  });

  it('routes a sampling request from the server to this client and back', async () => {
    const result = await conn.client.callTool({ name: 'trigger-sampling-request', arguments: { prompt: 'capital of France?', maxTokens: 20 } });
    expect(textOf(result)).toContain('sampled:');
    expect(textOf(result)).toContain('capital of France?');
  });

  it('routes an elicitation round trip', async () => {
    const result = await conn.client.callTool({ name: 'trigger-elicitation-request', arguments: {} });
    expect(textOf(result)).toContain('Ada');
  });

  it('answers the server\'s roots/list with this client\'s roots', async () => {
    const result = await conn.client.callTool({ name: 'get-roots-list', arguments: {} });
    expect(textOf(result)).toContain('file:///tmp/e2e-root');
  });

  it('delivers progress notifications for the call that asked for them', async () => {
    const seen: number[] = [];
    const result = await conn.client.callTool({ name: 'trigger-long-running-operation', arguments: { duration: 1, steps: 4 } }, undefined, {
      onprogress: (p) => void seen.push(p.progress),
    });
    expect(textOf(result)).toContain('completed');
    expect(seen.length).toBeGreaterThanOrEqual(2);
    expect([...seen].sort((a, b) => a - b)).toEqual(seen);
  });

  it('cancels a call when the client gives up on it, and keeps serving', async () => {
    const controller = new AbortController();
    const started = Date.now();
    const call = conn.client.callTool({ name: 'trigger-long-running-operation', arguments: { duration: 20, steps: 20 } }, undefined, { signal: controller.signal });
    setTimeout(() => controller.abort('test cancels'), 300);
    await expect(call).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(5000);
    expect(textOf(await conn.client.callTool({ name: 'echo', arguments: { message: 'still here' } }))).toBe('Echo: still here');
  });

  it('reads resources and resource templates', async () => {
    const { resources } = await conn.client.listResources();
    expect(resources.length).toBeGreaterThanOrEqual(1);
    const read = await conn.client.readResource({ uri: resources[0]!.uri });
    expect(read.contents[0]?.uri).toBe(resources[0]!.uri);
    const { resourceTemplates } = await conn.client.listResourceTemplates();
    expect(resourceTemplates.map((t) => t.uriTemplate)).toContain('demo://resource/dynamic/text/{resourceId}');
    const dynamic = await conn.client.readResource({ uri: 'demo://resource/dynamic/text/7' });
    expect(JSON.stringify(dynamic.contents)).toContain('7');
  });

  it('gets prompts and completions', async () => {
    const { prompts } = await conn.client.listPrompts();
    expect(prompts.map((p) => p.name)).toEqual(expect.arrayContaining(['simple-prompt', 'args-prompt', 'completable-prompt']));
    const prompt = await conn.client.getPrompt({ name: 'args-prompt', arguments: { city: 'Lisbon' } });
    expect(JSON.stringify(prompt.messages)).toContain('Lisbon');
    const completion = await conn.client.complete({ ref: { type: 'ref/prompt', name: 'completable-prompt' }, argument: { name: 'department', value: 'E' } });
    expect(completion.completion.values).toContain('Engineering');
  });

  it('relays log messages at the level the client set', async () => {
    await conn.client.setLoggingLevel('debug');
    await conn.client.callTool({ name: 'toggle-simulated-logging', arguments: {} });
    await eventually(() => (logs.length > 0 ? true : undefined), 10_000, 'a log message');
    await conn.client.callTool({ name: 'toggle-simulated-logging', arguments: {} });
    expect(logs[0]?.level).toBeDefined();
  });

  it('relays resource subscriptions and updates', async () => {
    const uri = 'demo://resource/static/document/architecture.md';
    await conn.client.subscribeResource({ uri });
    await conn.client.callTool({ name: 'toggle-subscriber-updates', arguments: {} });
    await eventually(() => (updates.includes(uri) ? true : undefined), 10_000, 'a resource update');
    await conn.client.callTool({ name: 'toggle-subscriber-updates', arguments: {} });
    await conn.client.unsubscribeResource({ uri });
  });

  it('answers ping itself with an empty result', async () => {
    expect(await conn.client.ping()).toEqual({});
  });

  it('records a decision for every request', async () => {
    await conn.client.callTool({ name: 'echo', arguments: { message: 'recorded' } });
    const records = await eventually(() => {
      const found = ws.decisions().filter((d) => d.method === 'tools/call' && d.target === 'echo');
      return found.length > 0 ? found : undefined;
    });
    expect(records[0]).toMatchObject({ type: 'guardrail.decision', direction: 'client-to-server', server: 'everything', verdict: 'allow' });
  });
});
