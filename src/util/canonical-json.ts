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
  const out: string[] = [];
  writeCanonical(value, out, new Set(), []);
  return out.join('');
}

function writeCanonical(value: unknown, out: string[], ancestors: Set<object>, path: Array<string | number>): void {
  switch (typeof value) {
    case 'string':
      out.push(JSON.stringify(value));
      return;
    case 'number':
      if (!Number.isFinite(value)) throw canonicalError(`the non-finite number ${value}`, path);
      out.push(JSON.stringify(value));
      return;
    case 'boolean':
      out.push(value ? 'true' : 'false');
      return;
    case 'object':
      break;
    default:
      throw canonicalError(`a value of type ${typeof value}`, path);
  }
  if (value === null) {
    out.push('null');
    return;
  }
  if (ancestors.has(value)) throw canonicalError('a cycle', path);
  if (ancestors.size >= MAX_CANONICAL_DEPTH) throw canonicalError(`nesting deeper than ${MAX_CANONICAL_DEPTH} levels`, path);
  ancestors.add(value);
  if (Array.isArray(value)) {
    out.push('[');
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out.push(',');
      path.push(i);
      writeCanonical(value[i], out, ancestors, path);
      path.pop();
    }
    out.push(']');
  } else {
    if (!isPlainObject(value)) throw canonicalError('an object that is not a plain object', path);
    const record = value as Record<string, unknown>;
    // The default sort compares UTF-16 code units, which is the order RFC 8785 §3.2.3 asks for.
    const keys = Object.keys(record).filter((key) => record[key] !== undefined).sort();
    out.push('{');
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!;
      if (i > 0) out.push(',');
      out.push(JSON.stringify(key), ':');
      path.push(key);
      writeCanonical(record[key], out, ancestors, path);
      path.pop();
    }
    out.push('}');
  }
  ancestors.delete(value);
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
