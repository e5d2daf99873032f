/**
 * RFC 8785 canonical JSON, shared by the security annotations (flow/) and the audit chain
 * (audit/): one definition of the bytes that are hashed and signed.
 */

/**
 * Deeper than any message the gateway accepts (`limits.max_depth` is at most 1000), shallow
 * enough that the recursion below can never exhaust the stack.
 */
const MAX_CANONICAL_DEPTH = 2048;

/**
 * The JSON Canonicalization Scheme (RFC 8785) form of a JSON value: no whitespace, object
 * members sorted by the UTF-16 code units of their names, numbers as ECMAScript writes them
 * (so `-0` is `0`), strings escaped as `JSON.stringify` escapes them.
 *
 * Throws an Error naming the place for anything outside the JSON data model: non-finite
 * numbers, `undefined` (top level or in an array), functions, symbols, bigints, objects that
 * are not plain (Date, Map, Buffer, class instances), cycles, nesting deeper than 2048.
 * An object member whose value is `undefined` is left out, as `JSON.stringify` does, so a
 * message hashes the same before serialisation and after parsing. Deliberate deviation: a lone
 * surrogate is written as its `\udXXX` escape (as `JSON.stringify` does) instead of being
 * refused, so a tool output cut in the middle of an emoji can still be signed.
 *
 * @example
 * canonicalJson({ b: [1e21, -0], a: 'é' }) // '{"a":"é","b":[1e+21,0]}'
 */
export function canonicalJson(value: unknown): string {
  try {
    return write(value, new Set(), 0);
  } catch (error) {
    if (error instanceof CanonicalError) throw canonicalError(error.what, error.path);
    throw error;
  }
}

/**
 * One value as a string. Built by concatenation (V8 keeps the pieces as a rope): about twice as
 * fast as pushing to an array and joining. The path to a bad value is assembled only when one
 * is found, as the error unwinds.
 */
function write(value: unknown, ancestors: Set<object>, depth: number): string {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) throw new CanonicalError(`the non-finite number ${value}`);
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object':
      break;
    default:
      throw new CanonicalError(`a value of type ${typeof value}`);
  }
  if (value === null) return 'null';
  if (ancestors.has(value)) throw new CanonicalError('a cycle');
  if (depth >= MAX_CANONICAL_DEPTH) throw new CanonicalError(`nesting deeper than ${MAX_CANONICAL_DEPTH} levels`);
  ancestors.add(value);
  let out: string;
  if (Array.isArray(value)) {
    out = '[';
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out += ',';
      out += inside(value[i], i, ancestors, depth);
    }
    out += ']';
  } else {
    if (!isPlainObject(value)) throw new CanonicalError('an object that is not a plain object');
    const record = value as Record<string, unknown>;
    // The default sort compares UTF-16 code units, which is the order RFC 8785 §3.2.3 asks for.
    const keys = Object.keys(record).sort();
    out = '{';
    let first = true;
    for (const key of keys) {
      const member = record[key];
      if (member === undefined) continue;
      if (!first) out += ',';
      first = false;
      out += `${JSON.stringify(key)}:${inside(member, key, ancestors, depth)}`;
    }
    out += '}';
  }
  ancestors.delete(value);
  return out;
}

/** A member or element: a failure below it gets its name prepended to the path. */
function inside(value: unknown, at: string | number, ancestors: Set<object>, depth: number): string {
  try {
    return write(value, ancestors, depth + 1);
  } catch (error) {
    if (error instanceof CanonicalError) error.path.unshift(at);
    throw error;
  }
}

class CanonicalError extends Error {
  readonly path: Array<string | number> = [];
  readonly what: string;
  constructor(what: string) {
    super(what);
    this.what = what;
  }
}

function canonicalError(what: string, path: ReadonlyArray<string | number>): Error {
  const where = path.map((p) => (typeof p === 'number' ? `[${p}]` : /^[A-Za-z_$][\w$]*$/.test(p) ? `.${p}` : `[${JSON.stringify(p)}]`)).join('');
  return new Error(`canonicalJson: ${what} at $${where} is not JSON`);
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}
