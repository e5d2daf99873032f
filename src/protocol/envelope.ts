/**
 * Locating the top-level `"id"` member of a serialised JSON-RPC message, so the gateway can
 * remap ids by splicing a few bytes instead of re-serialising the whole message. Splicing keeps
 * the peer's bytes intact (big integers, number spellings, escapes, key order) and costs O(1)
 * when the id is the last member, which is where the TypeScript SDK writes it.
 *
 * Both scanners work on UTF-8 bytes: every JSON structural character is ASCII and no byte of a
 * multi-byte sequence is below 0x80, so byte offsets are safe.
 */

import { isValidId, type JsonRpcId } from './jsonrpc.ts';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const COMMA = 0x2c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;

export interface Span {
  start: number;
  end: number;
}

interface MemberSpan extends Span {
  keyStart: number;
}

const isWs = (c: number | undefined): boolean => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

/** Index just past the string that opens at `i`, or -1 when it does not end. */
function skipString(buf: Buffer, i: number): number {
  let from = i + 1;
  for (;;) {
    const q = buf.indexOf(QUOTE, from);
    if (q < 0) return -1;
    let backslashes = 0;
    for (let k = q - 1; k > i && buf[k] === BACKSLASH; k--) backslashes++;
    if ((backslashes & 1) === 0) return q + 1;
    from = q + 1;
  }
}

/** Index just past the JSON value that starts at `i` (which must not be whitespace), or -1. */
function skipValue(buf: Buffer, i: number): number {
  const c = buf[i];
  if (c === QUOTE) return skipString(buf, i);
  if (c === OPEN_BRACE || c === OPEN_BRACKET) {
    let depth = 0;
    for (let j = i; j < buf.length; ) {
      const b = buf[j]!;
      if (b === QUOTE) {
        j = skipString(buf, j);
        if (j < 0) return -1;
        continue;
      }
      if (b === OPEN_BRACE || b === OPEN_BRACKET) depth++;
      else if (b === CLOSE_BRACE || b === CLOSE_BRACKET) {
        depth--;
        if (depth === 0) return j + 1;
      }
      j++;
    }
    return -1;
  }
  // number, true, false, null: runs until a delimiter
  let j = i;
  while (j < buf.length) {
    const b = buf[j]!;
    if (b === COMMA || b === CLOSE_BRACE || b === CLOSE_BRACKET || isWs(b)) break;
    j++;
  }
  return j === i ? -1 : j;
}

const ID_KEY = Buffer.from('"id"');

function hasEscape(buf: Buffer, start: number, end: number): boolean {
  for (let k = start; k < end; k++) if (buf[k] === BACKSLASH) return true;
  return false;
}
const keyIsId = (buf: Buffer, start: number, end: number): boolean =>
  end - start === 4 && buf[start + 1] === 0x69 && buf[start + 2] === 0x64 && buf[start] === QUOTE && buf[end - 1] === QUOTE;

/**
 * O(1) path: the span of the id value when `"id"` is the last member of the top-level object,
 * or the last but one before `"jsonrpc"`. Returns undefined when that is not the layout.
 */
function idSpanFromEnd(buf: Buffer): MemberSpan | undefined {
  let j = buf.length - 1;
  while (j >= 0 && isWs(buf[j])) j--;
  if (buf[j] !== CLOSE_BRACE) return undefined;
  j--;
  for (let member = 0; member < 2; member++) {
    while (j >= 0 && isWs(buf[j])) j--;
    const valueEnd = j + 1;
    let valueStart: number;
    if (buf[j] === QUOTE) {
      // Walk back to the unescaped opening quote.
      let q = j;
      for (;;) {
        q = buf.lastIndexOf(QUOTE, q - 1);
        if (q < 0) return undefined;
        let backslashes = 0;
        for (let k = q - 1; k >= 0 && buf[k] === BACKSLASH; k--) backslashes++;
        if ((backslashes & 1) === 0) break;
      }
      valueStart = q;
    } else {
      let k = j;
      while (k >= 0 && !isWs(buf[k]) && buf[k] !== COLON && buf[k] !== QUOTE && buf[k] !== CLOSE_BRACE && buf[k] !== CLOSE_BRACKET) k--;
      valueStart = k + 1;
      if (valueStart > j) return undefined;
    }
    j = valueStart - 1;
    while (j >= 0 && isWs(buf[j])) j--;
    if (buf[j] !== COLON) return undefined;
    j--;
    while (j >= 0 && isWs(buf[j])) j--;
    if (buf[j] !== QUOTE) return undefined;
    const keyEnd = j + 1;
    const keyStart = buf.lastIndexOf(QUOTE, j - 1);
    // Keys written with escapes are left to the exact walk.
    if (keyStart <= 0 || buf[keyEnd - 2] === BACKSLASH || buf[keyStart - 1] === BACKSLASH) return undefined;
    if (keyIsId(buf, keyStart, keyEnd)) return { start: valueStart, end: valueEnd, keyStart };
    if (keyEnd - keyStart !== 9 || buf.toString('latin1', keyStart, keyEnd) !== '"jsonrpc"') return undefined;
    j = keyStart - 1;
    while (j >= 0 && isWs(buf[j])) j--;
    if (buf[j] !== COMMA) return undefined;
    j--;
  }
  return undefined;
}

/**
 * Visits the top-level members of the object in `buf` in order, calling `visit` with the key's
 * span and the value's span. Stops when `visit` returns false, at the end of the object, or at
 * the first byte that is not where a member should be (also when the bytes end early, which
 * makes it usable on the head of a truncated message). Returns false if it stopped on bad input.
 */
function walkMembers(buf: Buffer, visit: (key: Span, value: Span) => boolean): boolean {
  let i = 0;
  while (i < buf.length && isWs(buf[i])) i++;
  if (buf[i] !== OPEN_BRACE) return false;
  i++;
  for (;;) {
    while (i < buf.length && isWs(buf[i])) i++;
    if (buf[i] === CLOSE_BRACE) return true;
    if (buf[i] !== QUOTE) return false;
    const keyStart = i;
    const keyEnd = skipString(buf, i);
    if (keyEnd < 0) return false;
    i = keyEnd;
    while (i < buf.length && isWs(buf[i])) i++;
    if (buf[i] !== COLON) return false;
    i++;
    while (i < buf.length && isWs(buf[i])) i++;
    const valueStart = i;
    const valueEnd = skipValue(buf, i);
    if (valueEnd < 0) return false;
    if (!visit({ start: keyStart, end: keyEnd }, { start: valueStart, end: valueEnd })) return true;
    i = valueEnd;
    while (i < buf.length && isWs(buf[i])) i++;
    if (buf[i] === COMMA) {
      i++;
      continue;
    }
    return buf[i] === CLOSE_BRACE;
  }
}

/**
 * O(n) path: returns the id span, `undefined` when there is no id or the bytes are not an
 * object, or `'ambiguous'` when the object has more than one `"id"` member (parsers disagree on
 * which one wins, which makes such a message a smuggling vector rather than something to
 * forward). Keys spelled with escapes (`"\u0069d"`) count as ambiguous too: they cannot be
 * compared without decoding, and no real peer writes them.
 */
function idSpanByWalking(buf: Buffer): Span | undefined | 'ambiguous' {
  let found: Span | undefined;
  let ambiguous = false;
  const complete = walkMembers(buf, (key, value) => {
    if (keyIsId(buf, key.start, key.end)) {
      if (found) ambiguous = true;
      found = value;
    } else if (hasEscape(buf, key.start, key.end)) {
      ambiguous = true;
    }
    return !ambiguous;
  });
  if (ambiguous) return 'ambiguous';
  return complete ? found : undefined;
}

export interface Envelope {
  id?: JsonRpcId;
  method?: string;
}

function readScalar(buf: Buffer, span: Span): unknown {
  try {
    return JSON.parse(buf.toString('utf8', span.start, span.end));
  } catch {
    return undefined;
  }
}

/**
 * Best-effort id and method of a message too large to buffer, from its first and last bytes:
 * enough to answer the request with an error instead of leaving its caller waiting.
 */
export function peekEnvelope(head: Buffer, tail: Buffer): Envelope {
  const envelope: Envelope = {};
  walkMembers(head, (key, value) => {
    const name = readScalar(head, key);
    const v = readScalar(head, value);
    if (name === 'id' && isValidId(v)) envelope.id = v;
    if (name === 'method' && typeof v === 'string') envelope.method = v;
    return true;
  });
  if (envelope.id === undefined) {
    const last = idSpanFromEnd(tail);
    const v = last ? readScalar(tail, last) : undefined;
    if (isValidId(v)) envelope.id = v;
  }
  return envelope;
}

/**
 * The byte span of the top-level id value in `buf`, verified against the id the parser read.
 * `undefined` means the bytes cannot be spliced safely and the caller must re-serialise;
 * `'ambiguous'` means the message carries duplicate ids and must be refused.
 */
export function locateId(buf: Buffer, parsedId: unknown): Span | undefined | 'ambiguous' {
  const last = idSpanFromEnd(buf);
  // The last member is the one every last-wins parser (JavaScript, Python, Go, Jackson) honours
  // and the one JSON.parse gave us; an earlier `"id"` literal may be nested content or a
  // duplicate member, and only the (linear) walk can tell which. A duplicate spelled with
  // escapes in front of a last-member id is not looked for: it changes nothing for last-wins
  // parsers, and strict ones (serde) reject the message outright.
  const span = last !== undefined && buf.indexOf(ID_KEY) === last.keyStart ? last : idSpanByWalking(buf);
  if (span === undefined || span === 'ambiguous') return span;
  // Belt and braces: the bytes we would replace must spell the id the parser saw.
  try {
    if (JSON.parse(buf.toString('utf8', span.start, span.end)) !== parsedId) return undefined;
  } catch {
    return undefined;
  }
  return { start: span.start, end: span.end };
}
