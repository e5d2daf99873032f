/**
 * Several servers behind one endpoint: the reference filesystem and everything servers plus
 * the test fixture (which paginates its lists), aggregated with namespaced names, over stdio
 * and HTTP, with a per-server tool deny list.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { McpError, ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { type Connected, type Downstream, eventually, EVERYTHING, FILESYSTEM, FIXTURE, NODE, textOf, workspace, type Workspace, connectThrough } from '../helpers/gateway.ts';


describe.each<Downstream>(['stdio', 'http'])('aggregation of three servers over %s', (downstream) => {
  let ws: Workspace;
  let root: string;
  let conn: Connected;
  let listChanged = 0;

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'guardrail-fs-'));
    writeFileSync(join(root, 'hello.txt'), 'hello from the filesystem server\n');
    ws = workspace({
      upstreams: {
        files: { command: NODE, args: [FILESYSTEM, root] },
        everything: { command: NODE, args: [EVERYTHING, 'stdio'] },
        fixture: { command: NODE, args: [FIXTURE, '--tools', '12', '--page', '5'], policy: { tools: { deny: ['delete_*', 'crash'] } } },
      },
    });
    conn = await connectThrough(downstream, ws.config, {
      setup: (client) => client.setNotificationHandler(ToolListChangedNotificationSchema, () => void listChanged++),
    });
  });

  afterAll(async () => {
    await conn?.close();
    ws?.remove();
    rmSync(root, { recursive: true, force: true });
  });

  it('presents itself as the gateway with merged capabilities', () => {
    expect(conn.client.getServerVersion()?.name).toBe('guardrail');
    const caps = conn.client.getServerCapabilities();
    expect(caps?.tools?.listChanged).toBe(true);
    expect(caps?.resources?.subscribe).toBe(true);
    expect(caps?.prompts).toBeDefined();
    expect(conn.client.getInstructions()).toContain('## everything');
  });

  it('lists every server\'s tools under its prefix, following the gateway\'s cursors', async () => {
    const names: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await conn.client.listTools(cursor ? { cursor } : {});
      names.push(...page.tools.map((t) => t.name));
      cursor = page.nextCursor;
      pages++;
    } while (cursor && pages < 20);
    expect(pages).toBeGreaterThan(1);
    expect(names).toEqual(expect.arrayContaining(['files__read_text_file', 'files__list_allowed_directories', 'everything__echo', 'fixture__echo', 'fixture__tool_11']));
    expect(new Set(names).size).toBe(names.length);
    // The fixture has 12 built-in and 12 generated tools; two are denied and hidden.
    expect(names.filter((n) => n.startsWith('fixture__'))).toHaveLength(12 + 12 - 2);
    expect(names).not.toContain('fixture__delete_file');
    expect(names).not.toContain('fixture__crash');
  });

  it('routes calls by prefix to the right server', async () => {
    expect(textOf(await conn.client.callTool({ name: 'everything__echo', arguments: { message: 'one' } }))).toBe('Echo: one');
    expect(textOf(await conn.client.callTool({ name: 'fixture__echo', arguments: { text: 'two' } }))).toBe('two');
    const read = await conn.client.callTool({ name: 'files__read_text_file', arguments: { path: join(root, 'hello.txt') } });
    expect(textOf(read)).toContain('hello from the filesystem server');
    await conn.client.callTool({ name: 'files__write_file', arguments: { path: join(root, 'written.txt'), content: 'written through the gateway' } });
    expect(readFileSync(join(root, 'written.txt'), 'utf8')).toBe('written through the gateway');
  });

  it('refuses a denied tool with an error that carries the decision, without reaching the server', async () => {
    const error = await conn.client.callTool({ name: 'fixture__delete_file', arguments: { path: '/x' } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(McpError);
    expect((error as McpError).code).toBe(-32010);
    expect((error as McpError).message).toContain('delete_file');
    expect((error as McpError).data).toMatchObject({ guardrail: { rule: 'request-filter.tool-denied', layer: 'request-control', evidence: { server: 'fixture', tool: 'delete_file', pattern: 'delete_*' } } });
    const denial = await eventually(() => ws.decisions().find((d) => d.verdict === 'deny' && d.target === 'delete_file'));
    expect(denial).toMatchObject({ server: 'fixture', method: 'tools/call' });
    // The denied call never reached the fixture: it would have answered "delete_file /x".
    expect(ws.decisions().filter((d) => d.target === 'delete_file' && d.verdict === 'allow')).toHaveLength(0);
  });

  it('refuses names that belong to no server', async () => {
    const error = await conn.client.callTool({ name: 'nobody__echo', arguments: {} }).catch((e: unknown) => e);
    expect((error as McpError).code).toBe(-32602);
    expect((error as McpError).data).toMatchObject({ guardrail: { rule: 'request-filter.unknown-target' } });
  });

  it('namespaces resources and prompts and routes reads and gets back', async () => {
    const { resources } = await conn.client.listResources();
    const fixtureItem = resources.find((r) => r.uri === 'fixture__fixture://item/1');
    expect(fixtureItem).toBeDefined();
    expect(resources.some((r) => r.uri.startsWith('everything__demo://'))).toBe(true);
    const read = await conn.client.readResource({ uri: 'fixture__fixture://item/1' });
    expect(JSON.stringify(read.contents)).toContain('content of item 1');
    const { prompts } = await conn.client.listPrompts();
    expect(prompts.map((p) => p.name)).toEqual(expect.arrayContaining(['fixture__greet', 'everything__args-prompt']));
    const prompt = await conn.client.getPrompt({ name: 'fixture__greet', arguments: { who: 'Grace' } });
    expect(JSON.stringify(prompt.messages)).toContain('Hello Grace');
  });

  it('rejects a cursor it did not issue', async () => {
    const error = await conn.client.listTools({ cursor: 'not-a-cursor' }).catch((e: unknown) => e);
    expect((error as McpError).code).toBe(-32602);
  });

  it('passes list_changed notifications from a server to the client', async () => {
    // server-everything announces the tools it registers once the client is initialized.
    await eventually(() => (listChanged > 0 ? true : undefined), 10_000, 'tools/list_changed');
  });
});
