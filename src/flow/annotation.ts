/**
 * Protocol-level security annotations (seed 000 §10.5): a message leaving the gateway can carry
 * its classification, its sender, a per-sender sequence number, the transformations applied to
 * it and an HMAC binding all of that to the message content.
 *
 * The annotation travels where MCP allows extension data, under a vendor-prefixed `_meta` key:
 * `params._meta["dev.guardrail/security"]` for requests and notifications,
 * `result._meta["dev.guardrail/security"]` for results. Peers that do not know the key ignore
 * it, as MCP requires of unknown `_meta` keys.
 *
 * What the HMAC covers (the same function builds it on both sides, so the definition cannot
 * drift between signer and verifier):
 *
 *     canonicalJson({ message: stripped, annotation: <the annotation without "integrity"> })
 *
 * where `stripped` is the annotated message with the annotation key removed from `_meta`,
 * then `_meta` removed if that left it empty, then (requests and notifications only) `params`
 * removed if that left it empty; members whose value is `undefined` count as absent, as they do
 * once serialised. The verifier hands back exactly `stripped`, so what it returns is exactly
 * what the HMAC vouched for. Consequence: an empty `_meta` or an empty `params` in the signed
 * message arrives as an absent one.
 */
import { timingSafeEqual } from 'node:crypto';
import { hmacSha256 } from '../util/hmac.ts';
import { kindOf, type JsonRpcMessage } from '../protocol/jsonrpc.ts';
import { canonicalJson, isPlainObject } from '../util/canonical-json.ts';
import { isLevel, type LevelName } from './levels.ts';

export { canonicalJson };

export const ANNOTATION_KEY = 'dev.guardrail/security';

export type ClassificationName = LevelName;

const ALG = 'hmac-sha256';
const MIN_KEY_BYTES = 32;
const MAX_SOURCE_LENGTH = 256;
/** An HMAC-SHA-256 in unpadded base64url: 32 bytes → 43 characters. */
const INTEGRITY_PATTERN = /^[A-Za-z0-9_-]{43}$/;
const ANNOTATION_FIELDS = ['alg', 'classification', 'integrity', 'sequence', 'source', 'transformations', 'v'];

/** The value stored under `_meta["dev.guardrail/security"]`. */
export interface SecurityAnnotation {
  readonly v: 1;
  readonly classification: ClassificationName;
  /** The signer's name; the verifier picks the key by it. */
  readonly source: string;
  /** Per-source, starting at 1, one more for every message the source signs. */
  readonly sequence: number;
  /** What the gateway changed before signing, e.g. `redact:aws-access-key-id`. */
  readonly transformations: readonly string[];
  readonly alg: 'hmac-sha256';
  /** Unpadded base64url HMAC-SHA-256 over the canonical input described above. */
  readonly integrity: string;
}

export type VerifyFailureCode = 'missing' | 'malformed' | 'unknown-source' | 'bad-integrity' | 'replayed' | 'too-old';

export type VerifyResult =
  | { ok: true; annotation: SecurityAnnotation; message: JsonRpcMessage }
  | { ok: false; reason: string; code: VerifyFailureCode };

// ---------------------------------------------------------------------------------------------
// Where the annotation lives, and the message without it

type Obj = Record<string, unknown>;

/** The member that holds `_meta` for this message, or undefined for an error response. */
function containerName(message: JsonRpcMessage): 'params' | 'result' | undefined {
  const kind = kindOf(message);
  // An error response has no `_meta`: JSON-RPC's error object has only code, message and data,
  // and MCP defines no metadata there, so error responses are never annotated.
  if (kind === 'error') return undefined;
  return kind === 'result' ? 'result' : 'params';
}

/** Members whose value is undefined are absent once serialised, so they count as absent here too. */
function definedEntries(o: object): Array<[string, unknown]> {
  return Object.entries(o).filter(([, value]) => value !== undefined);
}

/**
 * The message with the annotation removed (see the module comment). `message[name]` and its
 * `_meta`, when present, must be plain objects; the callers check that first. Built with
 * Object.fromEntries, which defines members (never assigns), so a "__proto__" key stays data.
 */
function stripAnnotation(message: JsonRpcMessage, name: 'params' | 'result'): JsonRpcMessage {
  const members: Array<[string, unknown]> = [];
  for (const [key, value] of definedEntries(message)) {
    if (key !== name) {
      members.push([key, value]);
      continue;
    }
    const inner: Array<[string, unknown]> = [];
    for (const [innerKey, innerValue] of definedEntries(value as Obj)) {
      if (innerKey !== '_meta') {
        inner.push([innerKey, innerValue]);
        continue;
      }
      const meta = definedEntries(innerValue as Obj).filter(([metaKey]) => metaKey !== ANNOTATION_KEY);
      if (meta.length > 0) inner.push(['_meta', Object.fromEntries(meta)]);
    }
    // `result` is required on a result response, so only `params` may disappear.
    if (inner.length > 0 || name === 'result') members.push([name, Object.fromEntries(inner)]);
  }
  return Object.fromEntries(members) as unknown as JsonRpcMessage;
}

function macInput(stripped: JsonRpcMessage, unsigned: Omit<SecurityAnnotation, 'integrity'>): string {
  return canonicalJson({ message: stripped, annotation: unsigned });
}

function mac(key: Buffer, input: string): string {
  return hmacSha256(key, input, 'base64url');
}

function checkKey(key: unknown, what: string): Buffer {
  if (!Buffer.isBuffer(key)) throw new TypeError(`${what} must be a Buffer`);
  if (key.length < MIN_KEY_BYTES) throw new RangeError(`${what} must be at least ${MIN_KEY_BYTES} bytes (got ${key.length})`);
  // A private copy: a caller that later reuses or zeroes its buffer cannot change our key.
  return Buffer.from(key);
}

function sourceProblem(source: unknown): string | undefined {
  if (typeof source !== 'string' || source.length === 0) return '"source" must be a non-empty string';
  if (source.length > MAX_SOURCE_LENGTH) return `"source" must be at most ${MAX_SOURCE_LENGTH} characters`;
  return undefined;
}

function transformationsProblem(list: unknown): string | undefined {
  if (!Array.isArray(list)) return '"transformations" must be an array of strings';
  for (const item of list as unknown[]) if (typeof item !== 'string' || item.length === 0) return '"transformations" must hold only non-empty strings';
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Signing

export interface AnnotationSignerOptions {
  /** The HMAC key shared with the verifiers, at least 32 bytes. */
  readonly key: Buffer;
  /** The name this signer signs as; verifiers pick the key by it. At most 256 characters. */
  readonly source: string;
}

export interface AnnotationLabel {
  readonly classification: ClassificationName;
  readonly transformations: readonly string[];
}

/**
 * Adds a signed security annotation to outgoing messages. Sequence numbers start at 1 for each
 * signer, so a signer that restarts should sign as a new `source` (for example with a boot id
 * in it): a verifier that remembers the old run would refuse the repeated numbers.
 *
 * @example
 * const signer = new AnnotationSigner({ key, source: 'gw-a' });
 * const out = signer.sign(message, { classification: 'INTERNAL', transformations: ['redact:email'] });
 */
export class AnnotationSigner {
  readonly #key: Buffer;
  readonly #source: string;
  #sequence = 0;

  constructor(options: AnnotationSignerOptions) {
    this.#key = checkKey(options.key, 'AnnotationSigner: key');
    const problem = sourceProblem(options.source);
    if (problem !== undefined) throw new TypeError(`AnnotationSigner: ${problem}`);
    this.#source = options.source;
  }

  /**
   * A new message with the annotation under `_meta` (the input is never changed). An error
   * response is returned as it is: it has no `_meta` to carry one. An annotation already on the
   * message (from an earlier hop) is replaced: this signer vouches for the message as it leaves.
   * Throws when the message cannot be signed (a `params`, `result` or `_meta` that is not an
   * object, a value outside JSON); no sequence number is spent then.
   */
  sign(message: JsonRpcMessage, label: AnnotationLabel): JsonRpcMessage {
    if (!isLevel(label.classification)) throw new TypeError(`AnnotationSigner: unknown classification ${JSON.stringify(label.classification)}`);
    const problem = transformationsProblem(label.transformations);
    if (problem !== undefined) throw new TypeError(`AnnotationSigner: ${problem}`);
    const name = containerName(message);
    if (name === undefined) return message;
    const container = (message as unknown as Obj)[name];
    if (container !== undefined && !isPlainObject(container)) throw new TypeError(`AnnotationSigner: "${name}" must be an object`);
    const meta = container?._meta;
    if (meta !== undefined && !isPlainObject(meta)) throw new TypeError(`AnnotationSigner: "${name}._meta" must be an object`);
    if (this.#sequence >= Number.MAX_SAFE_INTEGER) throw new RangeError('AnnotationSigner: sequence numbers exhausted; sign as a new source');

    const unsigned = {
      v: 1,
      classification: label.classification,
      source: this.#source,
      sequence: this.#sequence + 1,
      transformations: [...label.transformations],
      alg: ALG,
    } as const;
    // Build the annotated message with a placeholder first, and hash what the verifier will
    // strip from it: both sides then run the same stripAnnotation on the same shape.
    const annotated = withAnnotation(message, name, container, meta, { ...unsigned, integrity: '' });
    const integrity = mac(this.#key, macInput(stripAnnotation(annotated, name), unsigned));
    this.#sequence += 1;
    return withAnnotation(message, name, container, meta, { ...unsigned, integrity });
  }
}

function withAnnotation(message: JsonRpcMessage, name: 'params' | 'result', container: Obj | undefined, meta: Obj | undefined, annotation: SecurityAnnotation): JsonRpcMessage {
  const nextMeta = { ...meta, [ANNOTATION_KEY]: annotation };
  return { ...message, [name]: { ...container, _meta: nextMeta } } as JsonRpcMessage;
}

// ---------------------------------------------------------------------------------------------
// Verifying

export interface AnnotationVerifierOptions {
  /** One key per source, or one key shared by every source; each at least 32 bytes. */
  readonly keys: ReadonlyMap<string, Buffer> | Buffer;
  /** How many recent sequence numbers are remembered per source (RFC 4303 §3.4.3); default 1024. */
  readonly window?: number;
  /** How many sources have their window remembered; the least recently heard is forgotten. Default 10,000. */
  readonly maxSources?: number;
}

const DEFAULT_WINDOW = 1024;
const MAX_WINDOW = 65536;
const DEFAULT_MAX_SOURCES = 10_000;

/**
 * Checks the annotation of incoming messages: shape, key, HMAC, then replay. Never throws; every
 * failure is a result with a code. Replay state is kept in memory per verifier, so it protects
 * for the verifier's lifetime; a source forgotten to keep memory bounded starts afresh, as after
 * a restart.
 *
 * @example
 * const verifier = new AnnotationVerifier({ keys: new Map([['gw-a', key]]) });
 * const checked = verifier.verify(message);
 * if (!checked.ok) return reject(checked.code, checked.reason);
 * forward(checked.message); // the message without its annotation
 */
export class AnnotationVerifier {
  readonly #keys: ReadonlyMap<string, Buffer> | Buffer;
  readonly #window: number;
  readonly #maxSources: number;
  /** Map order is recency order: the first entry is the source heard from least recently. */
  readonly #windows = new Map<string, ReplayWindow>();

  constructor(options: AnnotationVerifierOptions) {
    const keys = options.keys;
    if (Buffer.isBuffer(keys)) this.#keys = checkKey(keys, 'AnnotationVerifier: keys');
    else if (keys instanceof Map) {
      const copy = new Map<string, Buffer>();
      for (const [source, key] of keys as ReadonlyMap<unknown, unknown>) {
        const problem = sourceProblem(source);
        if (problem !== undefined) throw new TypeError(`AnnotationVerifier: key names: ${problem}`);
        copy.set(source as string, checkKey(key, `AnnotationVerifier: the key of ${JSON.stringify(source)}`));
      }
      this.#keys = copy;
    } else throw new TypeError('AnnotationVerifier: keys must be a Buffer or a Map of source to Buffer');
    this.#window = options.window ?? DEFAULT_WINDOW;
    if (!Number.isInteger(this.#window) || this.#window < 1 || this.#window > MAX_WINDOW) throw new RangeError(`AnnotationVerifier: window must be an integer from 1 to ${MAX_WINDOW}`);
    this.#maxSources = options.maxSources ?? DEFAULT_MAX_SOURCES;
    if (!Number.isInteger(this.#maxSources) || this.#maxSources < 1) throw new RangeError('AnnotationVerifier: maxSources must be a positive integer');
  }

  /** The message's annotation checked; on success the message without it (exactly what was signed). */
  verify(message: JsonRpcMessage): VerifyResult {
    try {
      return this.#verify(message);
    } catch (error) {
      // Fail closed: anything unexpected (a value outside JSON, a hostile getter) is a refusal.
      return { ok: false, code: 'malformed', reason: `the message cannot be checked: ${(error as Error).message}` };
    }
  }

  #verify(message: JsonRpcMessage): VerifyResult {
    if (!isPlainObject(message)) return malformed('a message must be a JSON object');
    const name = containerName(message);
    if (name === undefined) return { ok: false, code: 'missing', reason: 'error responses carry no security annotation' };
    const container: unknown = (message as unknown as Obj)[name];
    if (container === undefined) return { ok: false, code: 'missing', reason: `the message has no ${name}, so no security annotation` };
    if (!isPlainObject(container)) return malformed(`"${name}" must be an object`);
    const meta = container._meta;
    if (meta === undefined) return { ok: false, code: 'missing', reason: 'the message carries no security annotation' };
    if (!isPlainObject(meta)) return malformed(`"${name}._meta" must be an object`);
    const raw = meta[ANNOTATION_KEY];
    if (raw === undefined) return { ok: false, code: 'missing', reason: 'the message carries no security annotation' };

    const read = readAnnotation(raw);
    if (typeof read === 'string') return malformed(read);
    const { integrity, ...unsigned } = read;

    const key = Buffer.isBuffer(this.#keys) ? this.#keys : this.#keys.get(read.source);
    if (key === undefined) return { ok: false, code: 'unknown-source', reason: `no key for source ${JSON.stringify(read.source)}` };

    const stripped = stripAnnotation(message, name);
    const expected = Buffer.from(mac(key, macInput(stripped, unsigned)), 'latin1');
    const given = Buffer.from(integrity, 'latin1');
    // Compared as text, not decoded bytes: base64url has spellings that decode alike, and a
    // second valid spelling of the same HMAC would be a change the check did not notice.
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      return { ok: false, code: 'bad-integrity', reason: 'the integrity HMAC does not match the message and annotation' };
    }

    // Only now, with the HMAC verified, may the sequence number move the window: otherwise
    // anyone could burn a source's future numbers with forged messages.
    let window = this.#windows.get(read.source);
    const verdict = window === undefined ? 'fresh' : window.check(read.sequence);
    if (verdict === 'replayed') return { ok: false, code: 'replayed', reason: `sequence ${read.sequence} of ${JSON.stringify(read.source)} was already accepted` };
    if (verdict === 'too-old') return { ok: false, code: 'too-old', reason: `sequence ${read.sequence} of ${JSON.stringify(read.source)} is older than the replay window of ${this.#window}` };
    if (window === undefined) {
      window = new ReplayWindow(this.#window);
      if (this.#windows.size >= this.#maxSources) this.#windows.delete(this.#windows.keys().next().value!);
    } else this.#windows.delete(read.source);
    this.#windows.set(read.source, window);
    window.accept(read.sequence);
    return { ok: true, annotation: read, message: stripped };
  }
}

function malformed(reason: string): VerifyResult {
  return { ok: false, code: 'malformed', reason: `malformed security annotation: ${reason}` };
}

/** The annotation as a fresh, checked object, or why it is not one. */
function readAnnotation(raw: unknown): SecurityAnnotation | string {
  if (!isPlainObject(raw)) return 'it must be an object';
  const keys = Object.keys(raw).filter((key) => raw[key] !== undefined);
  const unknown = keys.filter((key) => !ANNOTATION_FIELDS.includes(key));
  if (unknown.length > 0) return `unknown member ${JSON.stringify(unknown[0])}`;
  if (raw.v !== 1) return '"v" must be 1';
  if (raw.alg !== ALG) return `"alg" must be "${ALG}"`;
  if (typeof raw.classification !== 'string' || !isLevel(raw.classification)) return '"classification" must be PUBLIC, INTERNAL, SENSITIVE or RESTRICTED';
  const sourceIssue = sourceProblem(raw.source);
  if (sourceIssue !== undefined) return sourceIssue;
  if (typeof raw.sequence !== 'number' || !Number.isSafeInteger(raw.sequence) || raw.sequence < 1) return '"sequence" must be a positive integer';
  const listIssue = transformationsProblem(raw.transformations);
  if (listIssue !== undefined) return listIssue;
  if (typeof raw.integrity !== 'string' || !INTEGRITY_PATTERN.test(raw.integrity)) return '"integrity" must be an unpadded base64url HMAC-SHA-256';
  return {
    v: 1,
    classification: raw.classification as ClassificationName,
    source: raw.source as string,
    sequence: raw.sequence,
    transformations: [...(raw.transformations as string[])],
    alg: ALG,
    integrity: raw.integrity,
  };
}

/**
 * RFC 4303 §3.4.3 anti-replay for one source: the highest sequence number accepted and one bit
 * for each of the last `size` numbers, kept in a ring indexed by `sequence % size`.
 */
class ReplayWindow {
  readonly #size: number;
  readonly #bits: Uint32Array;
  #top = 0;

  constructor(size: number) {
    this.#size = size;
    this.#bits = new Uint32Array(Math.ceil(size / 32));
  }

  check(sequence: number): 'fresh' | 'replayed' | 'too-old' {
    if (sequence > this.#top) return 'fresh';
    if (this.#top - sequence >= this.#size) return 'too-old';
    return this.#has(sequence) ? 'replayed' : 'fresh';
  }

  /** Records a number `check` called fresh. */
  accept(sequence: number): void {
    if (sequence > this.#top) {
      if (sequence - this.#top >= this.#size) this.#bits.fill(0);
      else for (let s = this.#top + 1; s <= sequence; s++) this.#set(s, false);
      this.#top = sequence;
    }
    this.#set(sequence, true);
  }

  #has(sequence: number): boolean {
    const i = sequence % this.#size;
    return (this.#bits[i >>> 5]! & (1 << (i & 31))) !== 0;
  }

  #set(sequence: number, on: boolean): void {
    const i = sequence % this.#size;
    const word = this.#bits[i >>> 5]!;
    this.#bits[i >>> 5] = on ? word | (1 << (i & 31)) : word & ~(1 << (i & 31));
  }
}
