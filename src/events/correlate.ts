/**
 * Correlation rules (seed 000 §10.8) over a sliding window, declared in the config: a count
 * rule fires when enough events of some types happen within the window for one key (a session,
 * a server, or everyone); a sequence rule fires when an event of the second kind follows one of
 * the first within the window. A rule that fired stays quiet for that key for one window, so a
 * storm raises one alert, not one per event.
 */
import type { EventBus, SecurityEvent } from './bus.ts';
import type { Severity } from './taxonomy.ts';

export type CorrelationRule =
  | {
      readonly id: string;
      readonly types: readonly string[];
      readonly count: number;
      readonly withinMs: number;
      readonly same: 'session' | 'server' | 'global';
      readonly raise: Severity;
    }
  | {
      readonly id: string;
      readonly sequence: readonly [string, string];
      readonly withinMs: number;
      readonly same: 'session' | 'server' | 'global';
      readonly raise: Severity;
    };

/** Built in unless the config gives its own list. */
export const DEFAULT_CORRELATION: readonly CorrelationRule[] = [
  {
    id: 'repeated-refusals',
    types: ['event.security.*.blocked', 'event.security.request.denied', 'event.security.resource_quota.exceeded', 'event.security.authentication.failed'],
    count: 5,
    withinMs: 60_000,
    same: 'session',
    raise: 'high',
  },
  { id: 'secret-then-egress', sequence: ['event.security.data.secret_seen', 'event.security.flow_control.egress'], withinMs: 300_000, same: 'session', raise: 'critical' },
];

/** Keys remembered per rule at most (oldest forgotten), so memory stays bounded. */
const MAX_KEYS = 10_000;

export function correlate(bus: EventBus, rules: readonly CorrelationRule[], now: () => number = Date.now): void {
  for (const rule of rules) {
    const keyOf = (e: SecurityEvent) => (rule.same === 'global' ? '*' : ((rule.same === 'session' ? e.session : e.server) ?? '?'));
    const quietUntil = new Map<string, number>();
    const raise = (e: SecurityEvent, key: string, detail: Record<string, unknown>, what: string) => {
      quietUntil.set(key, now() + rule.withinMs);
      bound(quietUntil);
      bus.emit({
        type: 'event.security.correlation.alert',
        severity: rule.raise,
        message: `correlation rule "${rule.id}": ${what}`,
        rule: rule.id,
        ...(e.session ? { session: e.session } : {}),
        ...(e.server ? { server: e.server } : {}),
        detail,
      });
    };
    const quiet = (key: string) => (quietUntil.get(key) ?? 0) > now();
    if ('count' in rule) {
      const seen = new Map<string, number[]>();
      // The subscription delivers only the rule's types.
      bus.subscribe({ types: rule.types }, (e) => {
        const key = keyOf(e);
        const t = now();
        const times = (seen.get(key) ?? []).filter((x) => x > t - rule.withinMs);
        times.push(t);
        seen.set(key, times);
        bound(seen);
        if (times.length >= rule.count && !quiet(key)) {
          seen.delete(key);
          raise(e, key, { count: times.length, withinMs: rule.withinMs }, `${times.length} events within ${rule.withinMs / 1000} s`);
        }
      });
    } else {
      const [first, then] = rule.sequence;
      const started = new Map<string, { time: number; type: string }>();
      bus.subscribe({ types: [first] }, (e) => {
        started.set(keyOf(e), { time: now(), type: e.type });
        bound(started);
      });
      bus.subscribe({ types: [then] }, (e) => {
        const key = keyOf(e);
        const s = started.get(key);
        if (!s || s.time <= now() - rule.withinMs || quiet(key)) return;
        started.delete(key);
        raise(e, key, { first: s.type, then: e.type, afterMs: now() - s.time }, `${e.type} followed ${s.type}`);
      });
    }
  }
}

function bound(map: Map<string, unknown>): void {
  if (map.size > MAX_KEYS) map.delete(map.keys().next().value as string);
}
