/**
 * The README's first command runs `examples/quickstart.yaml`: the reference filesystem server,
 * read-only, over HTTP. This runs that very file (on a free port instead of 8787) and checks
 * what the README promises: reading works, writing tools are hidden and refused.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { type Connected, connectV1, eventually, ROOT, type RunningGateway, startHttpGateway, textOf, waitReady } from '../helpers/gateway.ts';


describe('examples/quickstart.yaml', () => {
  let gateway: RunningGateway;
  let conn: Connected;

  beforeAll(async () => {
    gateway = await startHttpGateway(['--config', join(ROOT, 'examples/quickstart.yaml')]);
    await waitReady(gateway.url);
    conn = await connectV1('http', { url: gateway.url });
  });

  afterAll(async () => {
    await conn?.close();
    await gateway?.stop();
  });

  it('serves the filesystem server with its writing tools hidden', async () => {
    const names = (await conn.client.listTools()).tools.map((t) => t.name);
    expect(names).toContain('read_text_file');
    expect(names).toContain('list_directory');
    for (const hidden of ['write_file', 'edit_file', 'move_file', 'create_directory']) expect(names).not.toContain(hidden);
  });

  it('reads the example workspace', async () => {
    const read = await conn.client.callTool({ name: 'read_text_file', arguments: { path: join(ROOT, 'examples/workspace/notes.txt') } });
    expect(textOf(read)).toContain('Every message passes the pipeline');
  });

  it('refuses a write with a policy error and records the decision', async () => {
    const error = await conn.client.callTool({ name: 'write_file', arguments: { path: join(ROOT, 'examples/workspace/x.txt'), content: 'no' } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(McpError);
    expect((error as McpError).code).toBe(-32010);
    expect(existsSync(join(ROOT, 'examples/workspace/x.txt'))).toBe(false);
    // The record is written in the same turn of the gateway's event loop, not before the answer.
    await eventually(() => (/"verdict":"deny".*"target":"write_file"|"target":"write_file".*"verdict":"deny"/.test(gateway.stderr()) ? true : undefined), 5000, 'the decision record');
  });
});
