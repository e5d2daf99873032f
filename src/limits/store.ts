/**
 * Where limit counters live. In memory here; the scale-out issue backs the same interface with
 * Redis so that several gateway instances share one budget. Every method is synchronous in
 * memory and may become asynchronous behind a network store, so callers accept both.
 */

export interface TakeResult {
  readonly ok: boolean;
  /** When the caller may try again (ms from now); 0 when ok. */
  readonly retryAfterMs: number;
}

export interface LimitStore {
  /**
   * Token bucket: `ratePerMs` tokens refill per millisecond up to `burst`. Takes one token;
   * with `maxWaitMs` > 0 a caller may also reserve a future token and wait for it.
   */
  takeToken(key: string, ratePerMs: number, burst: number, maxWaitMs: number, now: number): TakeResult | Promise<TakeResult>;
  /** Fixed-window quota: at most `limit` per window of `periodMs` (windows aligned to the epoch). */
  takeQuota(key: string, limit: number, periodMs: number, now: number): TakeResult | Promise<TakeResult>;
  /** A concurrency slot; `release` gives it back. */
  acquire(key: string, limit: number): boolean | Promise<boolean>;
  release(key: string): void;
}

interface Bucket {
  tokens: number;
  at: number;
}

export class MemoryLimitStore implements LimitStore {
  readonly #buckets = new Map<string, Bucket>();
  readonly #quotas = new Map<string, { window: number; used: number }>();
  readonly #inUse = new Map<string, number>();

  takeToken(key: string, ratePerMs: number, burst: number, maxWaitMs: number, now: number): TakeResult {
    let bucket = this.#buckets.get(key);
    if (!bucket) this.#buckets.set(key, (bucket = { tokens: burst, at: now }));
    bucket.tokens = Math.min(burst, bucket.tokens + (now - bucket.at) * ratePerMs);
    bucket.at = now;
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return { ok: true, retryAfterMs: 0 };
    }
    const waitMs = Math.ceil((1 - bucket.tokens) / ratePerMs);
    if (waitMs <= maxWaitMs) {
      // Reserve the future token: later callers queue behind this one.
      bucket.tokens -= 1;
      return { ok: true, retryAfterMs: waitMs };
    }
    return { ok: false, retryAfterMs: waitMs };
  }

  takeQuota(key: string, limit: number, periodMs: number, now: number): TakeResult {
    const window = Math.floor(now / periodMs);
    let quota = this.#quotas.get(key);
    if (!quota || quota.window !== window) this.#quotas.set(key, (quota = { window, used: 0 }));
    if (quota.used < limit) {
      quota.used++;
      return { ok: true, retryAfterMs: 0 };
    }
    return { ok: false, retryAfterMs: (window + 1) * periodMs - now };
  }

  acquire(key: string, limit: number): boolean {
    const used = this.#inUse.get(key) ?? 0;
    if (used >= limit) return false;
    this.#inUse.set(key, used + 1);
    return true;
  }

  release(key: string): void {
    const used = this.#inUse.get(key) ?? 0;
    if (used <= 1) this.#inUse.delete(key);
    else this.#inUse.set(key, used - 1);
  }
}
