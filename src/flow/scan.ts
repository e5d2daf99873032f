/**
 * The scanner: finds every detector's matches in a text with a handful of anchored passes (a
 * literal or a short class the engine can skip to) instead of one expression per detector over
 * the whole text, then decodes base64 and percent-encoded blocks (bounded) and scans them again.
 */
import {
  DETECTORS,
  assignmentAt,
  emailAt,
  ibanAt,
  ipv6At,
  jwtAt,
  numberAt,
  privateKeyAt,
  telegramAt,
  tokenAt,
  urlAt,
  type DetectorInfo,
  type Hit,
  type PemMemo,
} from './detectors.ts';
import type { LevelName } from './levels.ts';

export interface Finding {
  readonly detector: string;
  /** UTF-16 offsets into the scanned text; `end` is exclusive. */
  readonly start: number;
  readonly end: number;
  readonly level: LevelName;
  readonly confidence: number;
  /** Set when the match was inside decoded content; the span is then the whole encoded block. */
  readonly encoding?: 'base64' | 'percent';
}

export interface ScanOptions {
  /** Detector ids to run (default: all). */
  readonly detectors?: ReadonlySet<string>;
  /** Decode base64 and percent-encoded blocks and scan them too (default true). */
  readonly decode?: boolean;
  /**
   * Texts up to this many characters are searched for base64 blocks everywhere (default
   * `FULL_BASE64_SEARCH`); in longer ones only marked blocks (`;base64,`) and a text that is one
   * block are decoded. The search has no literal to skip to and costs about 15 ns a character.
   */
  readonly fullBase64Search?: number;
}

const BY_ID = new Map<string, DetectorInfo>(DETECTORS.map((d) => [d.id, d]));

/**
 * Literal anchors for tokens, JWTs, PEM blocks, URLs, mail addresses, escapes and `::`. The
 * engine tries every position whose character can begin an alternative, so alternatives begin
 * with characters that are rare in text: `k_live_` for `sk_live_`, `yJ` for `eyJ`, `pm_` for
 * `npm_`, `-` and eight digits for `xoxb-…` (the handler steps back to the token's start).
 * Starting them with `s`, `e`, `n` or `x` made this pass up to three times slower.
 */
const ANCHOR = /AKIA|ASIA|ABIA|ACCA|AIza|gh[pousr]_|github_pat_|glpat-|-\d{8}|k_(?:live|test)_|q0(?:atp|csp)-|k-|pm_|yJ|-----BEGIN|:AA|:\/\/|::|@|%[0-9A-Fa-f]{2}/g;
/** Numbers: three digits in a row, an international prefix, or a dotted quad's start. */
const NUMBER = /\d{3}|\+\d|\d\.\d{1,3}\.\d/g;
const IBAN = /[A-Z]{2}\d\d/g;
/**
 * Inside the words a secret's key ends with (password, pwd, secret, token, …key, credential),
 * at their rarer letters (w, c, k) for the same reason as `ANCHOR`; the handler finds the
 * whole key.
 */
const KEYWORD = /[wW](?:d|ord)|W(?:D|ORD)|[cC]re[dt]|CRE[DT]|[kK](?:en|ey)|K(?:EN|EY)/g;
/** Runs long enough to hold an encoded secret. */
const BASE64_RUN = /[A-Za-z0-9+/_-]{20,}={0,2}/g;
/** A text that is one base64 block, give or take surrounding white space. */
const WHOLE_BLOCK = /^\s*[A-Za-z0-9+/_-]+={0,2}\s*$/;
/** Where a text says what follows is base64 (`data:…;base64,`, `base64: …`). */
const BASE64_MARK = /base64[,:] ?/g;
/** The default of `ScanOptions.fullBase64Search`. */
export const FULL_BASE64_SEARCH = 256 * 1024;

/** Decoding bounds: per block, per scan (total), and how deep encodings nest. */
const MAX_BLOCK = 64 * 1024;
const MAX_DECODED_TOTAL = 1024 * 1024;
const MAX_DEPTH = 2;

const GENERIC = 'generic-secret';

/** What one scan has decoded so far, shared by the nested scans of decoded blocks. */
interface Budget {
  decoded: number;
}

/** Every finding in `text`, in order of position. */
export function scanText(text: string, options: ScanOptions = {}): Finding[] {
  const budget = { decoded: 0 };
  return scan(text, options, 0, budget);
}

function scan(text: string, options: ScanOptions, depth: number, budget: Budget): Finding[] {
  const hits: Hit[] = [];
  const encoded: Finding[] = [];
  const decode = options.decode !== false && depth < MAX_DEPTH;
  const pem: PemMemo = new Map();
  pass(ANCHOR, text, (at, match) => {
    switch (match.charCodeAt(0)) {
      case 121: // y of eyJ
        return text.charCodeAt(at - 1) === 101 ? jwtAt(text, at - 1, hits) : at + 1;
      case 107: // k of sk_live_, rk_test_, sk-…
      case 113: // q of sq0atp-
      case 112: // p of npm_
        return tokenAt(text, at - 1, hits);
      case 45: // - of -----BEGIN, or of xoxb-<digits>
        if (match.charCodeAt(1) === 45) return privateKeyAt(text, at, hits, pem);
        return /xox[abpre]/.test(text.slice(at - 4, at)) ? tokenAt(text, at - 4, hits) : at + 1;
      case 64: // @
        return emailAt(text, at, hits);
      case 37: // %
        return decode ? percentAt(text, at, options, depth, budget, encoded) : at + 3;
      case 58: // :
        return match === '://' ? urlAt(text, at, hits) : match === '::' ? ipv6At(text, at, hits) : telegramAt(text, at, hits);
      default:
        return tokenAt(text, at, hits);
    }
  });
  pass(NUMBER, text, (at) => numberAt(text, at, hits));
  pass(IBAN, text, (at) => ibanAt(text, at, hits));
  pass(KEYWORD, text, (at) => assignmentAt(text, at, hits));
  if (decode) base64Blocks(text, options, depth, budget, encoded, hits);
  return settle(hits, encoded, options.detectors);
}

/** Runs a global anchor over the text; `at` returns where the next search starts. */
function pass(anchor: RegExp, text: string, at: (index: number, match: string) => number): void {
  anchor.lastIndex = 0;
  let m: RegExpExecArray | null;
  while ((m = anchor.exec(text)) !== null) {
    const next = at(m.index, m[0]);
    anchor.lastIndex = Math.max(next, m.index + 1);
  }
}

/** Findings from hits: overlapping generic matches yield to specific ones; sorted by position. */
function settle(all: Hit[], encoded: Finding[], only: ReadonlySet<string> | undefined): Finding[] {
  // Only the detectors asked for: a generic match yields to a specific one that runs.
  const hits = only ? all.filter((h) => only.has(h.id)) : all;
  const specific = covering(hits.filter((h) => h.id !== GENERIC && BY_ID.get(h.id)!.kind === 'secret'));
  const findings: Finding[] = [];
  for (const hit of hits) {
    if (hit.id === GENERIC && specific.overlaps(hit.start, hit.end)) continue;
    // Digits inside a secret (a webhook's id that happens to pass Luhn) are the secret's.
    if (BY_ID.get(hit.id)!.kind !== 'secret' && specific.contains(hit.start, hit.end)) continue;
    const d = BY_ID.get(hit.id)!;
    findings.push({ detector: hit.id, start: hit.start, end: hit.end, level: hit.level ?? d.level, confidence: d.confidence });
  }
  for (const f of encoded) if (!only || only.has(f.detector)) findings.push(f);
  findings.sort((a, b) => a.start - b.start || a.end - b.end);
  return findings.filter((f, i) => i === 0 || f.start !== findings[i - 1]!.start || f.end !== findings[i - 1]!.end || f.detector !== findings[i - 1]!.detector);
}

/**
 * Spans sorted by start with the furthest end so far, so that "does any span overlap (or
 * contain) this one" is a binary search: a text with many thousands of findings stays linear
 * enough.
 */
function covering(spans: readonly Hit[]): { overlaps(start: number, end: number): boolean; contains(start: number, end: number): boolean } {
  const sorted = [...spans].sort((a, b) => a.start - b.start);
  const reach: number[] = [];
  for (const s of sorted) reach.push(Math.max(s.end, reach.at(-1) ?? 0));
  /** How many spans start before `limit` (or at it, with `inclusive`). */
  const before = (limit: number, inclusive: boolean): number => {
    let lo = 0;
    let hi = sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (sorted[mid]!.start < limit || (inclusive && sorted[mid]!.start === limit)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  return {
    overlaps: (start, end) => {
      const n = before(end, false);
      return n > 0 && reach[n - 1]! > start;
    },
    contains: (start, end) => {
      const n = before(start, true);
      return n > 0 && reach[n - 1]! >= end;
    },
  };
}

// --- encoded content ----------------------------------------------------------------------

const PERCENT_RUN_CHAR = /[A-Za-z0-9%._~!$&'()*+,;=:@/?#[\]-]/;

/** At `%XX`: the surrounding URL-ish run, decoded and scanned when it has three escapes or more. */
function percentAt(text: string, at: number, options: ScanOptions, depth: number, budget: Budget, out: Finding[]): number {
  // Once the budget is spent, no run is looked at again (each would be walked per escape).
  if (budget.decoded >= MAX_DECODED_TOTAL) return at + 3;
  let start = at;
  while (start > 0 && at - start < MAX_BLOCK && PERCENT_RUN_CHAR.test(text.charAt(start - 1))) start--;
  let end = at;
  while (end < text.length && end - start < MAX_BLOCK && PERCENT_RUN_CHAR.test(text.charAt(end))) end++;
  const run = text.slice(start, end);
  const escapes = run.match(/%[0-9A-Fa-f]{2}/g)?.length ?? 0;
  // Not decoded: the search goes on inside the run (`?name=q3%20report&key=AKIA…`).
  if (escapes < 3 || budget.decoded + run.length > MAX_DECODED_TOTAL) return at + 3;
  budget.decoded += run.length;
  const decoded = percentDecode(run);
  report(decoded, 'percent', start, end, options, depth, budget, out);
  return end;
}

/** Percent-decoding that never throws: bytes are collected and read as UTF-8 (bad sequences become U+FFFD). */
function percentDecode(run: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < run.length; i++) {
    const c = run.charCodeAt(i);
    if (c === 37 && i + 2 < run.length && /^[0-9A-Fa-f]{2}$/.test(run.slice(i + 1, i + 3))) {
      bytes.push(parseInt(run.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (c === 43) bytes.push(32);
    else bytes.push(...Buffer.from(run[i]!, 'utf8'));
  }
  return Buffer.from(bytes).toString('utf8');
}

function base64Blocks(text: string, options: ScanOptions, depth: number, budget: Budget, out: Finding[], hits: readonly Hit[]): void {
  const block = (at: number, run: string): number => {
    const end = at + run.length;
    // A run that is itself a finding (a token) is not decoded again.
    if (hits.some((h) => h.start <= at && end <= h.end)) return end;
    if (run.length > MAX_BLOCK || budget.decoded + run.length > MAX_DECODED_TOTAL) return end;
    const decoded = base64Text(run);
    if (decoded === undefined) return end;
    budget.decoded += run.length;
    report(decoded, 'base64', at, end, options, depth, budget, out);
    return end;
  };
  if (text.length <= (options.fullBase64Search ?? FULL_BASE64_SEARCH)) return pass(BASE64_RUN, text, block);
  // A text that is one block (a resource blob): decoded up to the budget.
  const head = /^\s*[A-Za-z0-9+/_-]{64}/.exec(text);
  if (head && base64Text(head[0].trim()) !== undefined && WHOLE_BLOCK.test(text)) {
    const start = text.length - text.trimStart().length;
    const slice = text.slice(start, start + MAX_DECODED_TOTAL - budget.decoded).replace(/\s+$/, '');
    const decoded = base64Text(slice.slice(0, slice.length - (slice.length % 4)));
    if (decoded !== undefined) {
      budget.decoded += slice.length;
      report(decoded, 'base64', start, text.trimEnd().length, options, depth, budget, out);
    }
  }
  pass(BASE64_MARK, text, (at, mark) => {
    const run = /[A-Za-z0-9+/_-]{20,}={0,2}/y;
    run.lastIndex = at + mark.length;
    const m = run.exec(text);
    return m ? block(at + mark.length, m[0]) : at + mark.length;
  });
}

/** The run decoded, when it decodes to text (mostly printable); undefined for binary or non-base64. */
function base64Text(run: string): string | undefined {
  const body = run.replace(/=+$/, '');
  if (body.length % 4 === 1) return undefined;
  // Look at the head first: most long runs are identifiers, hashes or binary, not encoded text.
  const head = Buffer.from(body.slice(0, 64), 'base64');
  if (!printable(head)) return undefined;
  const bytes = Buffer.from(body, 'base64');
  return printable(bytes) ? bytes.toString('utf8') : undefined;
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** Text: valid UTF-8 (random bytes almost never are) with few control characters. */
function printable(bytes: Buffer): boolean {
  if (bytes.length === 0) return false;
  let bad = 0;
  let high = false;
  for (const b of bytes) {
    if ((b < 32 && b !== 9 && b !== 10 && b !== 13) || b === 127) bad++;
    else if (b >= 0x80) high = true;
  }
  if (bad / bytes.length >= 0.05) return false;
  if (!high) return true;
  try {
    // A block cut mid-character at its end is still text: allow an incomplete last sequence.
    UTF8.decode(bytes.subarray(0, Math.max(0, bytes.length - 3)));
    return true;
  } catch {
    return false;
  }
}

function report(decoded: string, encoding: 'base64' | 'percent', start: number, end: number, options: ScanOptions, depth: number, budget: Budget, out: Finding[]): void {
  for (const inner of scan(decoded, options, depth + 1, budget)) {
    out.push({ detector: inner.detector, start, end, level: inner.level, confidence: inner.confidence, encoding });
  }
}
