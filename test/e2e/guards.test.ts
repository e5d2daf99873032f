/**
 * Argument guards end to end: the reference filesystem server behind the gateway with the
 * `filesystem` preset. The server itself may use the whole temporary folder; the gateway's
 * policy allows only `data/`. Traversals, a symlink escape and a sibling with the same prefix
 * are refused by the gateway (and never reach the server); reads and writes inside still work.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { connectV1, EVERYTHING, FILESYSTEM, NODE, textOf, workspace, type Connected, type Downstream, type Workspace, connectThrough } from '../helpers/gateway.ts';

describe.each<Downstream>(['stdio', 'http'])('the filesystem preset over %s', (downstream) => {
  let dir: string;
  let ws: Workspace;
  let conn: Connected;

  beforeAll(async () => {
    dir = realpathSync(mkdtempSync(join(tmpdir(), 'guardrail-guards-')));
    mkdirSync(join(dir, 'data'));
    mkdirSync(join(dir, 'data_old'));
    mkdirSync(join(dir, 'secret'));
    writeFileSync(join(dir, 'data/notes.txt'), 'inside the root\n');
    writeFileSync(join(dir, 'data_old/secret.txt'), 'a sibling with the same prefix\n');
    writeFileSync(join(dir, 'secret/passwd'), 'root:x:0:0\n');
    symlinkSync('../secret', join(dir, 'data/link-out'));
    ws = workspace({
      upstreams: {
        files: { command: NODE, args: [FILESYSTEM, dir], policy: { guards: [{ preset: 'filesystem', roots: [join(dir, 'data')] }] } },
      },
    });
    conn = await connectThrough(downstream, ws.config);
  });

  afterAll(async () => {
    await conn?.close();
    ws?.remove();
    rmSync(dir, { recursive: true, force: true });
  });

  const refusal = async (name: string, args: Record<string, unknown>) => {
    const error = await conn.client.callTool({ name, arguments: args }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(McpError);
    expect((error as McpError).code).toBe(-32010);
    return (error as McpError).data as { guardrail: { rule: string; layer: string; evidence: Record<string, unknown> } };
  };

  it('reads and writes inside the root', async () => {
    expect(textOf(await conn.client.callTool({ name: 'read_text_file', arguments: { path: join(dir, 'data/notes.txt') } }))).toContain('inside the root');
    await conn.client.callTool({ name: 'write_file', arguments: { path: join(dir, 'data/new.txt'), content: 'written through the gateway' } });
    expect(readFileSync(join(dir, 'data/new.txt'), 'utf8')).toBe('written through the gateway');
  });

  it('refuses a traversal out of the root, plain and percent-encoded', async () => {
    for (const path of [join(dir, 'data/../secret/passwd'), `${dir}/data/%2e%2e/secret/passwd`, `${dir}/data/..%252fsecret/passwd`]) {
      const data = await refusal('read_text_file', { path });
      expect(data.guardrail.layer).toBe('request-control');
      expect(data.guardrail.rule === 'path.outside-roots' || data.guardrail.rule === 'path.bad-encoding').toBe(true);
    }
  });

  it('refuses a path through a symlink that points outside, also for a new file', async () => {
    expect((await refusal('read_text_file', { path: join(dir, 'data/link-out/passwd') })).guardrail.rule).toBe('path.outside-roots');
    expect((await refusal('write_file', { path: join(dir, 'data/link-out/planted.txt'), content: 'x' })).guardrail.rule).toBe('path.outside-roots');
    expect(existsSync(join(dir, 'secret/planted.txt'))).toBe(false);
  });

  it('refuses a sibling folder that merely shares the root\'s prefix', async () => {
    const data = await refusal('read_text_file', { path: join(dir, 'data_old/secret.txt') });
    expect(data.guardrail).toMatchObject({ rule: 'path.outside-roots', evidence: { tool: 'read_text_file', argument: 'path', guard: 'path' } });
  });

  it('judges every path of a multi-file read and both ends of a move', async () => {
    const many = await refusal('read_multiple_files', { paths: [join(dir, 'data/notes.txt'), join(dir, 'secret/passwd')] });
    expect(many.guardrail.evidence.argument).toBe('paths[1]');
    const move = await refusal('move_file', { source: join(dir, 'data/notes.txt'), destination: join(dir, 'secret/notes.txt') });
    expect(move.guardrail.evidence.argument).toBe('destination');
    expect(existsSync(join(dir, 'data/notes.txt'))).toBe(true);
  });
});

describe('tool arguments against the tool\'s input schema (server-everything)', () => {
  let ws: Workspace;
  let conn: Connected;

  beforeAll(async () => {
    ws = workspace({ upstreams: { everything: { command: NODE, args: [EVERYTHING, 'stdio'] } } });
    conn = await connectV1('stdio', { config: ws.config });
    await conn.client.listTools();
  });

  afterAll(async () => {
    await conn?.close();
    ws?.remove();
  });

  it('refuses an injected string where the schema wants a number, and a missing required argument', async () => {
    const injected = await conn.client.callTool({ name: 'get-sum', arguments: { a: '1 OR 1=1', b: 2 } }).catch((e: unknown) => e);
    expect(injected).toBeInstanceOf(McpError);
    expect((injected as McpError).code).toBe(-32010);
    expect((injected as McpError).data).toMatchObject({ guardrail: { rule: 'argument-schema.invalid-arguments', evidence: { tool: 'get-sum' } } });
    expect(JSON.stringify((injected as McpError).data)).not.toContain('1 OR 1=1');
    const missing = await conn.client.callTool({ name: 'echo', arguments: {} }).catch((e: unknown) => e);
    expect((missing as McpError).data).toMatchObject({ guardrail: { rule: 'argument-schema.invalid-arguments' } });
  });

  it('passes arguments that match', async () => {
    expect(textOf(await conn.client.callTool({ name: 'get-sum', arguments: { a: 2, b: 3 } }))).toContain('5');
  });
});

describe('path guard by detection (server-filesystem, no preset)', () => {
  let dir: string;
  let ws: Workspace;
  let conn: Connected;

  beforeAll(async () => {
    dir = realpathSync(mkdtempSync(join(tmpdir(), 'guardrail-detect-')));
    mkdirSync(join(dir, 'data'));
    writeFileSync(join(dir, 'data/notes.txt'), 'found by detection\n');
    writeFileSync(join(dir, 'outside.txt'), 'outside\n');
    ws = workspace({ upstreams: { files: { command: NODE, args: [FILESYSTEM, dir], policy: { guards: [{ guard: 'path', detect: true, roots: [join(dir, 'data')] }] } } } });
    conn = await connectV1('stdio', { config: ws.config });
    await conn.client.listTools();
  });

  afterAll(async () => {
    await conn?.close();
    ws?.remove();
    rmSync(dir, { recursive: true, force: true });
  });

  it('judges the path arguments it found in the schemas, with each tool\'s operation', async () => {
    expect(textOf(await conn.client.callTool({ name: 'read_text_file', arguments: { path: join(dir, 'data/notes.txt') } }))).toContain('found by detection');
    const outside = await conn.client.callTool({ name: 'read_text_file', arguments: { path: join(dir, 'outside.txt') } }).catch((e: unknown) => e);
    expect((outside as McpError).data).toMatchObject({ guardrail: { rule: 'path.outside-roots', evidence: { argument: 'path' } } });
    const moved = await conn.client.callTool({ name: 'move_file', arguments: { source: join(dir, 'data/notes.txt'), destination: join(dir, 'moved.txt') } }).catch((e: unknown) => e);
    expect((moved as McpError).data).toMatchObject({ guardrail: { rule: 'path.outside-roots', evidence: { argument: 'destination' } } });
    // Deleting is not permitted by default; the filesystem server has no delete tool, so check the write path instead.
    await conn.client.callTool({ name: 'write_file', arguments: { path: join(dir, 'data/new.txt'), content: 'ok' } });
    expect(readFileSync(join(dir, 'data/new.txt'), 'utf8')).toBe('ok');
  });
});
