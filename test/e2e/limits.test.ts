/**
 * Action limits end to end: the test fixture behind the gateway, driven by the official SDK
 * client over stdio. A rate limit refuses with when to retry; a concurrency slot is given back
 * when its call is cancelled, so the next call gets through.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { connectV1, eventually, FIXTURE, NODE, textOf, workspace, type Connected, type Workspace } from '../helpers/gateway.ts';

describe('action limits over stdio', () => {
  let ws: Workspace;
  let conn: Connected;

  beforeAll(async () => {
    ws = workspace({
      upstreams: {
        fixture: {
          command: NODE,
          args: [FIXTURE],
          policy: { rate_limits: [{ scope: 'session', tools: ['echo'], rate: '2/min' }, { scope: 'session', tools: ['slow'], concurrency: 1 }] },
        },
      },
    });
    conn = await connectV1('stdio', { config: ws.config });
  });

  afterAll(async () => {
    await conn?.close();
    ws?.remove();
  });

  it('refuses the call over the rate, saying which limit and when to retry', async () => {
    expect(textOf(await conn.client.callTool({ name: 'echo', arguments: { text: 'one' } }))).toContain('one');
    expect(textOf(await conn.client.callTool({ name: 'echo', arguments: { text: 'two' } }))).toContain('two');
    const error = await conn.client.callTool({ name: 'echo', arguments: { text: 'three' } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(McpError);
    expect((error as McpError).code).toBe(-32010);
    expect((error as McpError).message).toMatch(/rate limit of 2\/min per session reached for echo; retry in \d+ s/);
    expect((error as McpError).data).toMatchObject({ guardrail: { rule: 'limits.rate', evidence: { scope: 'session', limit: '2/min' } } });
  });

  it('holds a concurrency slot for the length of a call and gives it back when the call is cancelled', async () => {
    const controller = new AbortController();
    const long = conn.client.callTool({ name: 'slow', arguments: { ms: 20_000 } }, undefined, { signal: controller.signal }).catch((e: unknown) => e);
    await eventually(async () => {
      const second = await conn.client.callTool({ name: 'slow', arguments: { ms: 1 } }).catch((e: unknown) => e);
      return second instanceof McpError && (second.data as { guardrail?: { rule?: string } })?.guardrail?.rule === 'limits.concurrency' ? true : undefined;
    }, 5000, 'the second call to be refused');
    controller.abort();
    await long;
    const next = await eventually(async () => {
      const r = await conn.client.callTool({ name: 'slow', arguments: { ms: 1 } }).catch((e: unknown) => e);
      return r instanceof McpError ? undefined : r;
    }, 5000, 'a call after the cancellation');
    expect(textOf(next)).not.toBe('');
  });
});
