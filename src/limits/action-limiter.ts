/**
 * The action limiter (seed 001 §5.3; seed 002 rate limiting): token-bucket rates, quotas per
 * period and concurrency, each counted globally, per session, per client, per server or per
 * tool. `strict` refuses at once; `soft` delays a call up to `max_delay` when a token is coming,
 * then refuses. A refusal says which limit and when to retry.
 *
 * Counters live behind `LimitStore` (in memory here). The client scope counts by the name the
 * client gave in its handshake: until authentication exists, a client can choose it.
 */
import type { LimitRule } from '../config/config.ts';
import { compileGlobs, type GlobList } from '../access/globs.ts';
import { decision } from '../pipeline/decision.ts';
import { PASS, type SettledCall, type Stage, type StageContext, type StageResult } from '../pipeline/stage.ts';
import { idKey, type JsonRpcId } from '../protocol/jsonrpc.ts';
import { MemoryLimitStore, type LimitStore, type TakeResult } from './store.ts';

export const ACTION_LIMITER = 'action-limiter';

export interface ActionLimiterOptions {
  /** Rules per upstream server (the global policy's rules are in every server's list). */
  readonly rules: ReadonlyMap<string, readonly LimitRule[]>;
  readonly store?: LimitStore;
  readonly now?: () => number;
}

interface Compiled {
  readonly rule: LimitRule;
  readonly tools: GlobList | undefined;
}

/** Which concurrency slots a call holds, per session and client request id. */
const leaseKey = (sessionId: string, id: JsonRpcId) => `${sessionId}\u0000${idKey(id)}`;

export function actionLimiter(options: ActionLimiterOptions): Stage {
  const store = options.store ?? new MemoryLimitStore();
  const now = options.now ?? Date.now;
  const compiled = new Map<string, Compiled[]>();
  for (const [server, rules] of options.rules) {
    compiled.set(server, rules.map((rule) => ({ rule, tools: rule.tools === undefined ? undefined : compileGlobs(rule.tools) })));
  }
  const leases = new Map<string, string[]>();

  function keyOf(rule: LimitRule, ctx: StageContext): string {
    switch (rule.scope) {
      case 'global':
        return rule.source;
      case 'session':
        return `${rule.source}|${ctx.session.sessionId}`;
      case 'client':
        return `${rule.source}|${ctx.session.client.name ?? 'unknown'}`;
      case 'server':
        return `${rule.source}|${ctx.server}`;
      case 'tool':
        return `${rule.source}|${ctx.server}|${ctx.target}`;
    }
  }

  const refuse = (rule: LimitRule, kind: string, limit: string, retryAfterMs: number, ctx: StageContext): StageResult => ({
    effect: 'reject',
    decision: decision(
      'deny',
      ACTION_LIMITER,
      'request-control',
      `limits.${kind}`,
      `${kind} limit of ${limit} ${rule.scope === 'global' ? 'for everyone' : `per ${rule.scope}`} reached for ${ctx.target ?? ctx.method}; retry in ${(retryAfterMs / 1000).toFixed(retryAfterMs < 10_000 ? 1 : 0)} s`,
      { limit, scope: rule.scope, retryAfterMs, policy: rule.source, server: ctx.server, tool: ctx.target },
    ),
  });

  /** Takes what every applicable rule asks for; gives slots back if a later rule refuses. */
  async function admit(ctx: StageContext, rules: readonly Compiled[]): Promise<StageResult> {
    const held: string[] = [];
    let waitMs = 0;
    const fail = (result: StageResult) => {
      for (const key of held) store.release(key);
      return result;
    };
    for (const { rule } of rules) {
      const key = keyOf(rule, ctx);
      if (rule.quota) {
        const taken: TakeResult = await store.takeQuota(`q|${key}`, rule.quota.limit, rule.quota.periodMs, now());
        if (!taken.ok) return fail(refuse(rule, 'quota', rule.quota.text, taken.retryAfterMs, ctx));
      }
      if (rule.rate) {
        const maxWait = rule.mode === 'soft' ? rule.maxDelayMs : 0;
        const taken: TakeResult = await store.takeToken(`r|${key}`, rule.rate.perMs, rule.rate.burst, maxWait, now());
        if (!taken.ok) return fail(refuse(rule, 'rate', rule.rate.text, taken.retryAfterMs, ctx));
        waitMs = Math.max(waitMs, taken.retryAfterMs);
      }
      if (rule.concurrency !== undefined) {
        const slot = `c|${key}`;
        if (!(await store.acquire(slot, rule.concurrency))) return fail(refuse(rule, 'concurrency', `${rule.concurrency} at a time`, 1000, ctx));
        held.push(slot);
      }
    }
    if (held.length > 0) {
      const id = (ctx.frame.message as { id: JsonRpcId }).id;
      leases.set(leaseKey(ctx.session.sessionId, id), held);
    }
    if (waitMs > 0) await new Promise((resolve) => setTimeout(resolve, waitMs));
    return PASS;
  }

  return {
    name: ACTION_LIMITER,
    layer: 'request-control',
    scope: { methods: ['tools/call'], directions: ['client-to-server'], kinds: ['request'] },
    evaluate(ctx) {
      if (ctx.server === undefined) return PASS;
      const rules = compiled.get(ctx.server)?.filter((c) => c.tools === undefined || c.tools.matches(ctx.target ?? '') !== undefined);
      if (!rules || rules.length === 0) return PASS;
      return admit(ctx, rules);
    },
    settled(call: SettledCall) {
      const key = leaseKey(call.session.sessionId, call.id);
      const held = leases.get(key);
      if (!held) return;
      leases.delete(key);
      for (const slot of held) store.release(slot);
    },
  };
}
