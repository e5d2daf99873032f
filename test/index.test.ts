/**
 * The library entry (src/index.ts): its exports, and embedding the gateway in a program with
 * a custom stage. The stdio listener runs on a PassThrough pair (no process stdio) in front
 * of the real fixture server; the test speaks JSON-RPC lines to it like a client would.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as guardrail from '../src/index.ts';
import { decision, type Gateway, type Stage } from '../src/index.ts';
import { alive, eventually, FIXTURE, NODE, ROOT } from './helpers/gateway.ts';

type Message = Record<string, unknown>;

describe('exports', () => {
  it('exposes the embedding API', () => {
    expect(typeof guardrail.startGateway).toBe('function');
    expect(typeof guardrail.loadConfigFile).toBe('function');
    expect(typeof guardrail.parseConfigText).toBe('function');
    expect(typeof guardrail.requestFilter).toBe('function');
    expect(typeof guardrail.decision).toBe('function');
    expect(typeof guardrail.Pipeline).toBe('function');
    expect(guardrail.VERSION).toBe((JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version);
  });

  it('exports working parts, not just names', () => {
    const stage = guardrail.requestFilter({ maxDepth: 8, policies: new Map() });
    const pipeline = new guardrail.Pipeline([stage]);
    expect(pipeline.stages).toEqual([stage]);
    expect(guardrail.decision('deny', 's', 'request-control', 's.r', 'why')).toEqual({ effect: 'deny', stage: 's', layer: 'request-control', rule: 's.r', reason: 'why' });
    expect(guardrail.ErrorCode.PolicyDenied).toBe(-32010);
    const key = `AKIA${'QWERTYUIOPASDFGH'.split('').reverse().join('')}`;
    expect(guardrail.scanText(`id=${key}`).map((f) => f.detector)).toEqual(['aws-access-key-id']);
    expect(guardrail.DETECTORS.length).toBe(24);
    expect(guardrail.canonicalJson({ b: 1, a: [true, null] })).toBe('{"a":[true,null],"b":1}');
  });
});

/** A JSON-RPC client over the gateway's stdio streams. */
class LineClient {
  readonly input = new PassThrough();
  readonly output = new PassThrough();
  readonly received: Message[] = [];
  #buffer = '';
  #waiters: Array<() => void> = [];

  constructor() {
    this.output.on('data', (chunk: Buffer) => {
      this.#buffer += chunk.toString('utf8');
      for (let nl = this.#buffer.indexOf('\n'); nl >= 0; nl = this.#buffer.indexOf('\n')) {
        const line = this.#buffer.slice(0, nl);
        this.#buffer = this.#buffer.slice(nl + 1);
        if (line.trim()) this.received.push(JSON.parse(line) as Message);
      }
      for (const w of this.#waiters.splice(0)) w();
    });
  }

  send(message: Message): void {
    this.input.write(`${JSON.stringify(message)}\n`);
  }

  async response(id: unknown): Promise<Message> {
    for (;;) {
      const found = this.received.find((m) => m.id === id && ('result' in m || 'error' in m));
      if (found) return found;
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
  }

  async request(id: unknown, method: string, params: Message = {}): Promise<Message> {
    this.send({ jsonrpc: '2.0', id, method, params });
    return this.response(id);
  }
}

const textOf = (m: Message): string => ((m.result as { content: Array<{ text: string }> }).content ?? []).map((c) => c.text).join('');

describe('embedding: startGateway with a custom stage on a PassThrough stdio pair', () => {
  let gateway: Gateway;
  let client: LineClient;
  const decisions = new PassThrough();
  const records: Message[] = [];
  const seenByStage: string[] = [];

  /** Refuses tools/call of `echo`; everything else passes. */
  const noEcho: Stage = {
    name: 'no-echo',
    layer: 'request-control',
    scope: { methods: ['tools/call'], directions: ['client-to-server'], kinds: ['request'] },
    evaluate(ctx) {
      seenByStage.push(`${ctx.server}/${ctx.target}`);
      if (ctx.target !== 'echo') return guardrail.PASS;
      return { effect: 'reject', decision: decision('deny', 'no-echo', 'request-control', 'no-echo.blocked', 'echo is not allowed in this embedding', { tool: ctx.target }) };
    },
  };

  beforeAll(async () => {
    const loaded = guardrail.parseConfigText(
      `
upstreams:
  fixture:
    command: ${JSON.stringify(NODE)}
    args: [${JSON.stringify(FIXTURE)}]
    policy: { tools: { deny: [delete_file] } }
log: { level: silent }
`,
      { env: process.env },
    );
    if (!loaded.ok) throw new Error(loaded.errors.map(guardrail.formatIssue).join('\n'));
    decisions.on('data', (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n').filter(Boolean)) records.push(JSON.parse(line) as Message);
    });
    client = new LineClient();
    gateway = await guardrail.startGateway({ config: loaded.config, stdio: { input: client.input, output: client.output }, stages: [noEcho], decisionStream: decisions });
  });

  afterAll(async () => {
    await gateway?.stop();
  });

  it('runs the built-in stages first and the custom stage after them', () => {
    expect(gateway.pipeline.stages.map((s) => s.name)).toEqual(['tool-watch', 'request-filter', 'flow', 'argument-schema', 'argument-guard', 'action-limiter', 'no-echo']);
  });

  it('initializes and lists the fixture\'s tools, without the denied one', async () => {
    const init = await client.request('init', 'initialize', { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'embedder', version: '1' } });
    expect(init.error).toBeUndefined();
    expect((init.result as { serverInfo: { name: string } }).serverInfo.name).toBe('fixture');
    client.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
    const list = await client.request(2, 'tools/list');
    const names = (list.result as { tools: Array<{ name: string }> }).tools.map((t) => t.name);
    expect(names).toContain('echo');
    expect(names).toContain('pid');
    expect(names).not.toContain('delete_file');
  });

  it('answers a call the custom stage refuses with a JSON-RPC error whose data carries the decision', async () => {
    const refused = await client.request(3, 'tools/call', { name: 'echo', arguments: { text: 'top secret words' } });
    expect(refused.result).toBeUndefined();
    expect(refused.error).toEqual({
      code: guardrail.ErrorCode.PolicyDenied,
      message: 'echo is not allowed in this embedding',
      data: { guardrail: { effect: 'deny', rule: 'no-echo.blocked', layer: 'request-control', stage: 'no-echo', reason: 'echo is not allowed in this embedding', evidence: { tool: 'echo' } } },
    });
    expect(seenByStage).toContain('fixture/echo');
    // The refusal is recorded too, without the arguments.
    const record = await eventually(() => records.find((r) => r.id === 3), 5000, 'the decision record');
    expect(record).toMatchObject({ type: 'guardrail.decision', method: 'tools/call', server: 'fixture', target: 'echo', verdict: 'deny' });
    expect(JSON.stringify(record)).not.toContain('top secret words');
  });

  it('forwards what the stage passes to the server, and the server\'s answer back', async () => {
    const answer = await client.request('four', 'tools/call', { name: 'write_file', arguments: { path: '/tmp/a' } });
    expect(answer.error).toBeUndefined();
    expect(textOf(answer)).toBe('write_file /tmp/a');
    expect(seenByStage).toContain('fixture/write_file');
  });

  it('still applies the configured policy with the documented code', async () => {
    const denied = await client.request(5, 'tools/call', { name: 'delete_file', arguments: { path: '/x' } });
    expect((denied.error as { code: number; data: { guardrail: { rule: string } } }).code).toBe(-32010);
    expect((denied.error as { data: { guardrail: { rule: string } } }).data.guardrail.rule).toBe('request-filter.tool-denied');
  });

  it('leaves no child process behind after stop()', async () => {
    const answer = await client.request(6, 'tools/call', { name: 'pid', arguments: {} });
    const pid = Number(textOf(answer));
    expect(Number.isInteger(pid) && pid > 0).toBe(true);
    expect(pid).not.toBe(process.pid);
    expect(alive(pid)).toBe(true);
    await gateway.stop();
    expect(alive(pid)).toBe(false);
    expect(gateway.sessions.size).toBe(0);
  });
});
