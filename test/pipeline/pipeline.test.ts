/**
 * The pipeline with hand-written stages on real frames: order, scope, first reject wins,
 * fail closed on throws and rejected promises, mutations (and the ones that are not allowed),
 * byte-identity when nothing changed, and outcome listeners.
 */
import { describe, expect, it } from 'vitest';
import { decision, type Decision } from '../../src/pipeline/decision.ts';
import { Pipeline, type PipelineInput, type PipelineOutcome } from '../../src/pipeline/pipeline.ts';
import { SecurityContext } from '../../src/pipeline/security-context.ts';
import { PASS, type Direction, type Stage, type StageContext, type StageResult, type StageScope } from '../../src/pipeline/stage.ts';
import { decodeFrame, encodeFrame, frameOf, type Frame } from '../../src/protocol/frame.ts';
import type { JsonRpcMessage, MessageKind } from '../../src/protocol/jsonrpc.ts';

function decoded(text: string): Frame {
  const result = decodeFrame(Buffer.from(text, 'utf8'));
  if (!result.ok) throw new Error(result.reason);
  return result.frame;
}

const CALL_TEXT = '{"jsonrpc":"2.0","method":"tools/call","params":{"name":"echo","arguments":{"text":"héllo",  "n": 1.50}},"id":7}';

function input(frame: Frame, overrides: Partial<PipelineInput> = {}): PipelineInput {
  const method = 'method' in frame.message ? frame.message.method : 'tools/call';
  return {
    direction: 'client-to-server',
    era: 'legacy',
    kind: frame.kind,
    method,
    frame,
    session: new SecurityContext({ sessionId: 'test-session', transport: 'stdio' }),
    server: 'srv',
    target: 'echo',
    request: undefined,
    ...overrides,
  };
}

const ALL: StageScope = { methods: '*', directions: ['client-to-server', 'server-to-client'] };

/** A stage that records that it ran (into `log`) and returns what `result` says. */
function stage(name: string, log: string[], result: (ctx: StageContext) => StageResult | Promise<StageResult> = () => PASS, scope: StageScope = ALL): Stage {
  return {
    name,
    layer: 'request-control',
    scope,
    evaluate(ctx) {
      log.push(name);
      return result(ctx);
    },
  };
}

const deny = (name: string, rule = `${name}.no`): StageResult => ({ effect: 'reject', decision: decision('deny', name, 'request-control', rule, `${name} said no`) });

async function run(pipeline: Pipeline, i: PipelineInput): Promise<PipelineOutcome> {
  return pipeline.run(i);
}

describe('order and scope', () => {
  it('runs the stages in the order given', async () => {
    const log: string[] = [];
    const pipeline = new Pipeline([stage('c', log), stage('a', log), stage('b', log)]);
    const outcome = await run(pipeline, input(decoded(CALL_TEXT)));
    expect(log).toEqual(['c', 'a', 'b']);
    expect(outcome.verdict).toBe('allow');
    expect(outcome.decisions).toEqual([]);
  });

  it('keeps the order when stages scoped to a method are mixed with stages for every method', async () => {
    const log: string[] = [];
    const pipeline = new Pipeline([
      stage('all-1', log),
      stage('calls', log, () => PASS, { methods: ['tools/call'], directions: ['client-to-server'] }),
      stage('all-2', log),
      stage('lists', log, () => PASS, { methods: ['tools/list', 'prompts/list'], directions: ['client-to-server'] }),
    ]);
    await run(pipeline, input(decoded(CALL_TEXT)));
    expect(log).toEqual(['all-1', 'calls', 'all-2']);
    log.length = 0;
    await run(pipeline, input(frameOf({ jsonrpc: '2.0', id: 1, method: 'prompts/list' })));
    expect(log).toEqual(['all-1', 'all-2', 'lists']);
    log.length = 0;
    // A method no stage names meets only the stages for every method.
    await run(pipeline, input(frameOf({ jsonrpc: '2.0', id: 2, method: 'resources/read', params: { uri: 'x' } })));
    expect(log).toEqual(['all-1', 'all-2']);
  });

  it('respects directions and kinds', async () => {
    const log: string[] = [];
    const pipeline = new Pipeline([
      stage('inbound', log, () => PASS, { methods: '*', directions: ['client-to-server'] }),
      stage('outbound', log, () => PASS, { methods: '*', directions: ['server-to-client'] }),
      stage('results', log, () => PASS, { methods: ['tools/call'], directions: ['server-to-client'], kinds: ['result'] }),
      stage('notes', log, () => PASS, { methods: '*', directions: ['client-to-server', 'server-to-client'], kinds: ['notification'] }),
    ]);
    const cases: Array<[Direction, MessageKind, JsonRpcMessage, string, string[]]> = [
      ['client-to-server', 'request', { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'x' } }, 'tools/call', ['inbound']],
      ['server-to-client', 'result', { jsonrpc: '2.0', id: 1, result: {} }, 'tools/call', ['outbound', 'results']],
      ['server-to-client', 'error', { jsonrpc: '2.0', id: 1, error: { code: 1, message: 'x' } }, 'tools/call', ['outbound']],
      ['server-to-client', 'result', { jsonrpc: '2.0', id: 1, result: {} }, 'tools/list', ['outbound']],
      ['client-to-server', 'notification', { jsonrpc: '2.0', method: 'notifications/initialized' }, 'notifications/initialized', ['inbound', 'notes']],
      ['server-to-client', 'notification', { jsonrpc: '2.0', method: 'notifications/progress' }, 'notifications/progress', ['outbound', 'notes']],
    ];
    for (const [direction, kind, message, method, expected] of cases) {
      log.length = 0;
      const frame = frameOf(message);
      expect(frame.kind).toBe(kind);
      await run(pipeline, input(frame, { direction, method }));
      expect(log, `${direction} ${kind} ${method}`).toEqual(expected);
    }
    expect(pipeline.stagesFor('server-to-client', 'result', 'tools/call').map((s) => s.name)).toEqual(['outbound', 'results']);
  });

  it('refuses two stages with the same name', () => {
    expect(() => new Pipeline([stage('same', []), stage('same', [])])).toThrow(/two pipeline stages are named "same"/);
  });

  it('gives each stage the context it was run with', async () => {
    const seen: StageContext[] = [];
    const pipeline = new Pipeline([stage('look', [], (ctx) => (seen.push(ctx), PASS))]);
    const frame = decoded(CALL_TEXT);
    const i = input(frame, { server: 'files', target: 'read_file', era: 'modern' });
    await run(pipeline, i);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ direction: 'client-to-server', era: 'modern', kind: 'request', method: 'tools/call', server: 'files', target: 'read_file' });
    expect(seen[0]!.frame).toBe(frame);
    expect(seen[0]!.session).toBe(i.session);
  });
});

describe('rejections and failures', () => {
  it('lets the first reject win: later stages do not run', async () => {
    const log: string[] = [];
    const pipeline = new Pipeline([stage('a', log), stage('b', log, () => deny('b')), stage('c', log, () => deny('c'))]);
    const frame = decoded(CALL_TEXT);
    const outcome = await run(pipeline, input(frame));
    expect(log).toEqual(['a', 'b']);
    expect(outcome.verdict).toBe('deny');
    expect(outcome.decisions.map((d) => d.rule)).toEqual(['b.no']);
    expect(outcome.frame).toBe(frame);
  });

  it('keeps the decisions of passing stages before the reject, the reject last', async () => {
    const note = decision('allow', 'noter', 'audit', 'noter.seen', 'seen');
    const pipeline = new Pipeline([stage('noter', [], () => ({ effect: 'pass', decision: note })), stage('b', [], () => deny('b'))]);
    const outcome = await run(pipeline, input(decoded(CALL_TEXT)));
    expect(outcome.decisions).toEqual([note, expect.objectContaining({ effect: 'deny', rule: 'b.no', stage: 'b' })]);
  });

  it('turns a stage that throws into a deny that records the error (fail closed)', async () => {
    const log: string[] = [];
    const pipeline = new Pipeline([
      stage('boom', log, () => {
        throw new Error('kaput');
      }),
      stage('after', log),
    ]);
    const outcome = await run(pipeline, input(decoded(CALL_TEXT)));
    expect(log).toEqual(['boom']);
    expect(outcome.verdict).toBe('deny');
    const d = outcome.decisions.at(-1)!;
    expect(d).toMatchObject({ effect: 'deny', stage: 'boom', layer: 'request-control', rule: 'boom.internal-error', evidence: { error: 'kaput' } });
    expect(d.reason).toMatch(/boom/);
  });

  it('records a thrown non-Error too', async () => {
    const pipeline = new Pipeline([
      stage('odd', [], () => {
        throw 'a string';
      }),
    ]);
    const outcome = await run(pipeline, input(decoded(CALL_TEXT)));
    expect(outcome.verdict).toBe('deny');
    expect(outcome.decisions.at(-1)!.evidence).toEqual({ error: 'a string' });
  });

  it('denies when a stage returns something that is not a result', async () => {
    const pipeline = new Pipeline([stage('sloppy', [], () => undefined as unknown as StageResult)]);
    const outcome = await run(pipeline, input(decoded(CALL_TEXT)));
    expect(outcome.verdict).toBe('deny');
    expect(outcome.decisions.at(-1)!.rule).toBe('sloppy.internal-error');
  });
});

describe('synchronous and asynchronous stages', () => {
  it('returns synchronously when every stage does', () => {
    const pipeline = new Pipeline([stage('a', []), stage('b', [])]);
    const outcome = pipeline.run(input(decoded(CALL_TEXT)));
    expect(outcome).not.toBeInstanceOf(Promise);
    expect((outcome as PipelineOutcome).verdict).toBe('allow');
  });

  it('waits for an async stage and runs the stages after it', async () => {
    const log: string[] = [];
    const pipeline = new Pipeline([
      stage('first', log),
      stage('lookup', log, async () => {
        await new Promise((r) => setTimeout(r, 5));
        log.push('lookup-done');
        return PASS;
      }),
      stage('last', log),
    ]);
    const pending = pipeline.run(input(decoded(CALL_TEXT)));
    expect(pending).toBeInstanceOf(Promise);
    const outcome = await pending;
    expect(log).toEqual(['first', 'lookup', 'lookup-done', 'last']);
    expect(outcome.verdict).toBe('allow');
  });

  it('honours an async reject', async () => {
    const log: string[] = [];
    const pipeline = new Pipeline([stage('approval', log, async () => deny('approval', 'approval.declined')), stage('after', log)]);
    const outcome = await run(pipeline, input(decoded(CALL_TEXT)));
    expect(log).toEqual(['approval']);
    expect(outcome).toMatchObject({ verdict: 'deny' });
    expect(outcome.decisions.at(-1)!.rule).toBe('approval.declined');
  });

  it('turns a rejected promise into a deny that records the error', async () => {
    const log: string[] = [];
    const pipeline = new Pipeline([stage('dns', log, () => Promise.reject(new Error('lookup failed'))), stage('after', log)]);
    const outcome = await run(pipeline, input(decoded(CALL_TEXT)));
    expect(log).toEqual(['dns']);
    expect(outcome.verdict).toBe('deny');
    expect(outcome.decisions.at(-1)).toMatchObject({ stage: 'dns', rule: 'dns.internal-error', evidence: { error: 'lookup failed' } });
  });
});

describe('mutations', () => {
  const redacted = (ctx: StageContext): JsonRpcMessage => {
    const m = ctx.frame.message as unknown as { params: { arguments: Record<string, unknown> } };
    return { ...ctx.frame.message, params: { ...m.params, arguments: { ...m.params.arguments, text: '[redacted]' } } } as JsonRpcMessage;
  };
  const mutate = (message: JsonRpcMessage, name = 'redact'): StageResult => ({
    effect: 'mutate',
    message,
    decision: decision('transform', name, 'information-flow', `${name}.applied`, 'changed'),
  });

  it('keeps the very same frame, bytes included, when every stage passes', async () => {
    const frame = decoded(CALL_TEXT);
    const outcome = await run(new Pipeline([stage('a', []), stage('b', [])]), input(frame));
    expect(outcome.verdict).toBe('allow');
    expect(outcome.frame).toBe(frame);
    expect(outcome.frame.raw).toBe(frame.raw);
    // The peer's spelling survives: the non-ASCII text and the number "1.50".
    expect(encodeFrame(outcome.frame).toString('utf8')).toBe(CALL_TEXT);
  });

  it('hands the new message to later stages and reports a transform with a rebuilt frame', async () => {
    const seenByLater: unknown[] = [];
    const pipeline = new Pipeline([
      stage('redact', [], (ctx) => mutate(redacted(ctx))),
      stage('later', [], (ctx) => {
        seenByLater.push((ctx.frame.message as unknown as { params: { arguments: { text: string } } }).params.arguments.text);
        return PASS;
      }),
    ]);
    const frame = decoded(CALL_TEXT);
    const outcome = await run(pipeline, input(frame));
    expect(seenByLater).toEqual(['[redacted]']);
    expect(outcome.verdict).toBe('transform');
    expect(outcome.frame).not.toBe(frame);
    expect(outcome.frame.raw).toBeUndefined();
    expect(outcome.frame.kind).toBe('request');
    expect(outcome.decisions.map((d) => d.rule)).toEqual(['redact.applied']);
    const sent = JSON.parse(encodeFrame(outcome.frame).toString('utf8'));
    expect(sent).toEqual({ jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'echo', arguments: { text: '[redacted]', n: 1.5 } } });
    // The input frame itself is untouched.
    expect(frame.raw!.toString('utf8')).toBe(CALL_TEXT);
  });

  it('chains mutations after an async stage', async () => {
    const pipeline = new Pipeline([
      stage('wait', [], async () => PASS),
      stage('redact', [], (ctx) => mutate(redacted(ctx))),
      stage('stamp', [], async (ctx) => mutate({ ...ctx.frame.message, params: { ...(ctx.frame.message as { params: object }).params, stamped: true } } as JsonRpcMessage, 'stamp')),
    ]);
    const outcome = await run(pipeline, input(decoded(CALL_TEXT)));
    expect(outcome.verdict).toBe('transform');
    expect(outcome.frame.message).toMatchObject({ params: { stamped: true, arguments: { text: '[redacted]' } } });
    expect(outcome.decisions.map((d) => d.stage)).toEqual(['redact', 'stamp']);
  });

  it('denies a mutation that turns a request into a notification', async () => {
    const log: string[] = [];
    const pipeline = new Pipeline([
      stage('sneaky', log, (ctx) => {
        const { id: _id, ...rest } = ctx.frame.message as { id: number };
        return mutate(rest as unknown as JsonRpcMessage, 'sneaky');
      }),
      stage('after', log),
    ]);
    const frame = decoded(CALL_TEXT);
    const outcome = await run(pipeline, input(frame));
    expect(log).toEqual(['sneaky']);
    expect(outcome.verdict).toBe('deny');
    expect(outcome.frame).toBe(frame);
    expect(outcome.decisions.at(-1)).toMatchObject({ rule: 'sneaky.internal-error', stage: 'sneaky' });
    expect(String(outcome.decisions.at(-1)!.evidence!.error)).toMatch(/request into a notification/);
    // The stage's own transform decision is not recorded as if it had applied.
    expect(outcome.decisions.map((d) => d.rule)).not.toContain('sneaky.applied');
  });

  it('denies a mutation that turns a result into an error', async () => {
    const frame = decoded('{"jsonrpc":"2.0","id":3,"result":{"content":[]}}');
    const pipeline = new Pipeline([stage('swap', [], () => mutate({ jsonrpc: '2.0', id: 3, error: { code: -1, message: 'no' } }, 'swap'))]);
    const outcome = await run(pipeline, input(frame, { direction: 'server-to-client', method: 'tools/call' }));
    expect(outcome.verdict).toBe('deny');
    expect(String(outcome.decisions.at(-1)!.evidence!.error)).toMatch(/result into a error/);
  });

  it('denies a mutation that changes the id, numeric or string, sync or async', async () => {
    for (const [newId, async] of [
      [8, false],
      ['7', false],
      ['other', true],
    ] as const) {
      const log: string[] = [];
      const result = (ctx: StageContext) => mutate({ ...ctx.frame.message, id: newId } as JsonRpcMessage, 'readdress');
      const pipeline = new Pipeline([stage('readdress', log, async ? async (ctx) => result(ctx) : result), stage('after', log)]);
      const frame = decoded(CALL_TEXT);
      const outcome = await run(pipeline, input(frame));
      expect(outcome.verdict, String(newId)).toBe('deny');
      expect(outcome.frame).toBe(frame);
      expect(log).toEqual(['readdress']);
      expect(outcome.decisions.at(-1)).toMatchObject({ rule: 'readdress.internal-error', evidence: { error: expect.stringMatching(/id/) } });
    }
  });

  it('allows a mutation of a notification, which has no id', async () => {
    const frame = decoded('{"jsonrpc":"2.0","method":"notifications/message","params":{"level":"info","data":"secret"}}');
    const pipeline = new Pipeline([stage('scrub', [], () => mutate({ jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', data: '[scrubbed]' } }, 'scrub'))]);
    const outcome = await run(pipeline, input(frame, { direction: 'server-to-client', method: 'notifications/message' }));
    expect(outcome.verdict).toBe('transform');
    expect(outcome.frame.message).toMatchObject({ params: { data: '[scrubbed]' } });
  });

  it('reports a deny, with the original frame, when a stage rejects after another mutated', async () => {
    const pipeline = new Pipeline([stage('redact', [], (ctx) => mutate(redacted(ctx))), stage('gate', [], () => deny('gate'))]);
    const outcome = await run(pipeline, input(decoded(CALL_TEXT)));
    expect(outcome.verdict).toBe('deny');
    expect(outcome.decisions.map((d) => d.rule)).toEqual(['redact.applied', 'gate.no']);
  });
});

describe('outcome listeners', () => {
  it('calls every listener with the input and the outcome, for sync and async runs', async () => {
    const seen: Array<[string, PipelineInput, PipelineOutcome]> = [];
    let asyncStage = false;
    const pipeline = new Pipeline([stage('maybe-async', [], () => (asyncStage ? Promise.resolve(deny('maybe-async')) : PASS))]);
    pipeline.onOutcome((i, o) => seen.push(['first', i, o]));
    pipeline.onOutcome((i, o) => seen.push(['second', i, o]));

    const i1 = input(decoded(CALL_TEXT));
    const o1 = pipeline.run(i1) as PipelineOutcome;
    asyncStage = true;
    const i2 = input(decoded(CALL_TEXT));
    const o2 = await pipeline.run(i2);

    expect(seen.map(([who, i, o]) => [who, i, o])).toEqual([
      ['first', i1, o1],
      ['second', i1, o1],
      ['first', i2, o2],
      ['second', i2, o2],
    ]);
    expect(seen[0]![2].verdict).toBe('allow');
    expect(seen[2]![2].verdict).toBe('deny');
  });

  it('does not let a throwing listener change the outcome or starve the others', async () => {
    const pipeline = new Pipeline([stage('a', [])]);
    const calls: string[] = [];
    pipeline.onOutcome(() => {
      calls.push('thrower');
      throw new Error('observer broke');
    });
    pipeline.onOutcome((_i, o) => calls.push(`next:${o.verdict}`));
    const outcome = await run(pipeline, input(decoded(CALL_TEXT)));
    expect(outcome.verdict).toBe('allow');
    expect(calls).toEqual(['thrower', 'next:allow']);
  });

  it('reports decisions as the values stages made', async () => {
    const made: Decision[] = [];
    const pipeline = new Pipeline([
      stage('gate', [], () => {
        const r = deny('gate', 'gate.closed');
        made.push((r as { decision: Decision }).decision);
        return r;
      }),
    ]);
    let reported: readonly Decision[] = [];
    pipeline.onOutcome((_i, o) => (reported = o.decisions));
    await run(pipeline, input(decoded(CALL_TEXT)));
    expect(reported).toHaveLength(1);
    expect(reported[0]).toBe(made[0]);
  });
});
