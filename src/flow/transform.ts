/**
 * The named transformations of flow rules (seed 001 §3.1.2): `redact` masks in place, `hash`
 * replaces with a keyed hash (stable, so equal values stay joinable), `tokenize` replaces with
 * a pseudonym the gateway keeps per session and restores only on the way back to where the
 * value came from (its server, or the client), `drop` withholds the whole text.
 */
import { randomBytes } from 'node:crypto';
import { hmacSha256 } from '../util/hmac.ts';
import type { LevelName } from './levels.ts';

export type TransformationName = 'redact' | 'hash' | 'tokenize' | 'drop';

export interface Span {
  readonly start: number;
  readonly end: number;
  readonly detector: string;
  readonly level: LevelName;
  readonly transformation: TransformationName;
}

const RANK: Readonly<Record<TransformationName, number>> = { drop: 3, redact: 2, hash: 1, tokenize: 0 };

/** A keyed, stable digest of a value: 16 hex characters of HMAC-SHA-256. */
export function keyedHash(key: Buffer, value: string): string {
  return hmacSha256(key, value, 'hex').slice(0, 16);
}

const TOKEN = /tok_[a-z2-7]{16}/g;
const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';

interface Vaulted {
  readonly value: string;
  readonly detector: string;
  /** Where the value came from: a server's name, or undefined for the client. */
  readonly server: string | undefined;
}

/** The session's pseudonyms: bounded, oldest forgotten first (a forgotten token is never restored). */
export class TokenVault {
  readonly #byToken = new Map<string, Vaulted>();
  readonly #byValue = new Map<string, string>();
  readonly #max: number;

  constructor(max = 10_000) {
    this.#max = max;
  }

  get size(): number {
    return this.#byToken.size;
  }

  tokenize(value: string, detector: string, server: string | undefined): string {
    const key = `${server ?? ''}\u0000${value}`;
    const known = this.#byValue.get(key);
    if (known !== undefined) return known;
    const bytes = randomBytes(10);
    let token = 'tok_';
    // 80 bits as 16 base32 characters.
    let bits = 0;
    let acc = 0;
    for (const b of bytes) {
      acc = (acc << 8) | b;
      bits += 8;
      while (bits >= 5) {
        token += BASE32[(acc >>> (bits - 5)) & 31];
        bits -= 5;
      }
    }
    this.#byToken.set(token, { value, detector, server });
    this.#byValue.set(key, token);
    if (this.#byToken.size > this.#max) {
      const [oldest, entry] = this.#byToken.entries().next().value as [string, Vaulted];
      this.#byToken.delete(oldest);
      this.#byValue.delete(`${entry.server ?? ''}\u0000${entry.value}`);
    }
    return token;
  }

  /**
   * Tokens in `text` replaced by their values where the text goes back to where the value came
   * from: `to` is the server a message goes to, or undefined for the client.
   */
  restore(text: string, to: string | undefined): { text: string; restored: number; kept: number } {
    let restored = 0;
    let kept = 0;
    const out = text.replace(TOKEN, (token) => {
      const entry = this.#byToken.get(token);
      if (entry === undefined) return token;
      if (entry.server !== to) {
        kept++;
        return token;
      }
      restored++;
      return entry.value;
    });
    return { text: out, restored, kept };
  }

  mayHold(text: string): boolean {
    return this.#byToken.size > 0 && text.includes('tok_');
  }
}

export interface TransformContext {
  readonly hashKey: Buffer;
  readonly vault: TokenVault;
  /** Where the values come from: a server's name, or undefined for the client. */
  readonly origin: string | undefined;
}

/**
 * Applies spans to one text. Overlapping spans merge into one, transformed by the strongest of
 * their transformations (drop, redact, hash, tokenize). Returns undefined when a span drops the
 * whole text, with the detector that did.
 */
export function transformText(text: string, spans: readonly Span[], context: TransformContext): string {
  const sorted = [...spans].sort((a, b) => a.start - b.start || b.end - a.end);
  const merged: Span[] = [];
  for (const span of sorted) {
    const last = merged.at(-1);
    if (last && span.start < last.end) {
      const stronger = RANK[span.transformation] > RANK[last.transformation] ? span : last;
      merged[merged.length - 1] = { ...stronger, start: last.start, end: Math.max(last.end, span.end) };
    } else merged.push(span);
  }
  const drop = merged.find((s) => s.transformation === 'drop');
  if (drop) return `[WITHHELD:${drop.detector}]`;
  let out = '';
  let at = 0;
  for (const span of merged) {
    out += text.slice(at, span.start) + replacement(text.slice(span.start, span.end), span, context);
    at = span.end;
  }
  return out + text.slice(at);
}

function replacement(value: string, span: Span, context: TransformContext): string {
  switch (span.transformation) {
    case 'hash':
      return `[HASH:${span.detector}:${keyedHash(context.hashKey, value)}]`;
    case 'tokenize':
      return context.vault.tokenize(value, span.detector, context.origin);
    default:
      return `[REDACTED:${span.detector}]`;
  }
}
