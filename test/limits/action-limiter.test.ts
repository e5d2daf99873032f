/**
 * The action limiter on its own, with rules from the real config loader and a clock the test
 * controls (the in-memory store is real): rates in strict and soft mode, quotas per window,
 * concurrency released when the call settles, scopes, and refusals that say when to retry.
 */
import { describe, expect, it } from 'vitest';
import type { LimitRule } from '../../src/config/config.ts';
import { parseConfigText } from '../../src/config/load.ts';
import { actionLimiter } from '../../src/limits/action-limiter.ts';
import { Pipeline, type PipelineOutcome } from '../../src/pipeline/pipeline.ts';
import { SecurityContext } from '../../src/pipeline/security-context.ts';
import { frameOf } from '../../src/protocol/frame.ts';

function rulesOf(policy: string): Map<string, readonly LimitRule[]> {
  const loaded = parseConfigText(`upstreams:\n  srv:\n    command: node\n    policy:\n${policy}`, {});
  if (!loaded.ok) throw new Error(loaded.errors.map((e) => `${e.path}: ${e.message}`).join('\n'));
  return new Map(loaded.config.upstreams.map((u) => [u.name, u.policy.limits]));
}

function harness(policy: string) {
  let clock = 1_000_000;
  const stage = actionLimiter({ rules: rulesOf(policy), now: () => clock });
  const pipeline = new Pipeline([stage]);
  const sessions = new Map<string, SecurityContext>();
  const session = (id: string) => sessions.get(id) ?? sessions.set(id, new SecurityContext({ sessionId: id, transport: 'stdio' })).get(id)!;
  let nextId = 1;
  return {
    advance: (ms: number) => (clock += ms),
    async call(tool = 'echo', sessionId = 's1'): Promise<PipelineOutcome & { id: number }> {
      const id = nextId++;
      const frame = frameOf({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: tool, arguments: {} } });
      const outcome = await pipeline.run({ direction: 'client-to-server', era: 'legacy', kind: 'request', method: 'tools/call', frame, session: session(sessionId), server: 'srv', target: tool, request: undefined });
      return { ...outcome, id };
    },
    settle(id: number, sessionId = 's1') {
      pipeline.settled({ session: session(sessionId), id, method: 'tools/call', server: 'srv', target: 'echo' });
    },
  };
}

describe('action limiter', () => {
  it('strict rate: the burst passes, the next call is refused with when to retry, the bucket refills', async () => {
    const h = harness('      rate_limits: [{ scope: session, rate: 2/s }]\n');
    expect((await h.call()).verdict).toBe('allow');
    expect((await h.call()).verdict).toBe('allow');
    const refused = await h.call();
    expect(refused.verdict).toBe('deny');
    expect(refused.decisions.at(-1)).toMatchObject({ rule: 'limits.rate', layer: 'request-control', evidence: { limit: '2/s', scope: 'session', retryAfterMs: 500 } });
    expect(refused.decisions.at(-1)!.reason).toMatch(/rate limit of 2\/s per session reached for echo; retry in 0\.5 s/);
    h.advance(500);
    expect((await h.call()).verdict).toBe('allow');
  });

  it('counts per session, or for everyone with the global scope', async () => {
    const perSession = harness('      rate_limits: [{ scope: session, rate: 1/min }]\n');
    expect((await perSession.call('echo', 'a')).verdict).toBe('allow');
    expect((await perSession.call('echo', 'b')).verdict).toBe('allow');
    expect((await perSession.call('echo', 'a')).verdict).toBe('deny');
    const global = harness('      rate_limits: [{ scope: global, rate: 1/min }]\n');
    expect((await global.call('echo', 'a')).verdict).toBe('allow');
    expect((await global.call('echo', 'b')).verdict).toBe('deny');
  });

  it('soft rate: delays a call while a token is due within max_delay, refuses beyond', async () => {
    const h = harness('      rate_limits: [{ scope: session, rate: 20/s, burst: 1, mode: soft, max_delay: 100ms }]\n');
    expect((await h.call()).verdict).toBe('allow');
    // The next token is 50 ms away: the call waits for it (real time; no threshold asserted).
    expect((await h.call()).verdict).toBe('allow');
    // Two reserved tokens later, the wait would exceed 100 ms: refused.
    expect((await h.call()).verdict).toBe('allow');
    expect((await h.call()).decisions.at(-1)).toMatchObject({ rule: 'limits.rate' });
  });

  it('quota per window, reset by the next window', async () => {
    const h = harness('      rate_limits: [{ scope: tool, tools: ["write_*"], quota: 2/h }]\n');
    expect((await h.call('write_file')).verdict).toBe('allow');
    expect((await h.call('write_file')).verdict).toBe('allow');
    const refused = await h.call('write_file');
    expect(refused.decisions.at(-1)).toMatchObject({ rule: 'limits.quota', evidence: { limit: '2/h', scope: 'tool', tool: 'write_file' } });
    // Another tool is not counted.
    expect((await h.call('read_file')).verdict).toBe('allow');
    h.advance(3_600_000);
    expect((await h.call('write_file')).verdict).toBe('allow');
  });

  it('concurrency: a slot is held until the call settles', async () => {
    const h = harness('      rate_limits: [{ scope: server, concurrency: 1 }]\n');
    const first = await h.call();
    expect(first.verdict).toBe('allow');
    expect((await h.call()).decisions.at(-1)).toMatchObject({ rule: 'limits.concurrency' });
    h.settle(first.id);
    const third = await h.call();
    expect(third.verdict).toBe('allow');
    // Settling twice, or a call that held nothing, gives back nothing extra.
    h.settle(first.id);
    expect((await h.call()).verdict).toBe('deny');
  });

  it('refuses a limit with nothing to count, at load', () => {
    expect(() => rulesOf('      rate_limits: [{ scope: session }]\n')).toThrow(/at least one of rate, quota, concurrency/);
    expect(() => rulesOf('      rate_limits: [{ scope: session, rate: "fast" }]\n')).toThrow(/count per period/);
  });
});
