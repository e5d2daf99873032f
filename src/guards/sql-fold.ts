/**
 * Constant folding for the SQL guard's tautology rule: the value of an expression built from
 * literals alone, computed the way the dialect's engine would (its coercions, its collation
 * defaults, its three-valued logic). Anything that depends on a row, a parameter or a
 * function call is `var`; literal-only expressions the folder cannot compute exactly (a
 * collation-dependent ordering, a cast to a type it does not model) are `const`, which the
 * guard treats like "may be true".
 */

export type SqlDialect = 'postgresql' | 'mysql' | 'sqlite';

export type Value =
  | { readonly k: 'bool'; readonly v: boolean }
  | { readonly k: 'num'; readonly v: number; readonly int: boolean }
  | { readonly k: 'str'; readonly v: string }
  | { readonly k: 'null' }
  | { readonly k: 'const' }
  | { readonly k: 'var' };

/** A condition's fate: decided by literals (`true`, `false`, `null`, `const`) or by data (`var`). */
export type Truth = 'true' | 'false' | 'null' | 'const' | 'var';

export const VAR: Value = { k: 'var' };
export const CONST: Value = { k: 'const' };
export const NULL: Value = { k: 'null' };
export const bool = (v: boolean): Value => ({ k: 'bool', v });
export const num = (v: number, int = Number.isInteger(v)): Value => (Number.isFinite(v) ? { k: 'num', v, int } : CONST);
export const str = (v: string): Value => ({ k: 'str', v });

/** `var` if any part depends on data, else `const`: for operators the folder does not compute. */
export function opaque(...parts: readonly Value[]): Value {
  return parts.some((p) => p.k === 'var') ? VAR : CONST;
}

export function fromTruth(t: Truth): Value {
  switch (t) {
    case 'true': return bool(true);
    case 'false': return bool(false);
    case 'null': return NULL;
    case 'const': return CONST;
    case 'var': return VAR;
  }
}

const NUMERIC = /^\s*[-+]?(\d+(\.\d*)?|\.\d+)(e[-+]?\d+)?\s*$/i;
const NUMERIC_PREFIX = /^\s*[-+]?(\d+(\.\d*)?|\.\d+)(e[-+]?\d+)?/i;
const PG_TRUE = /^\s*(t|tr|tru|true|y|ye|yes|on|1)\s*$/i;
const PG_FALSE = /^\s*(f|fa|fal|fals|false|n|no|of|off|0)\s*$/i;
// A code unit from U+D800 up: past it, code-unit order is no longer UTF-8 byte order.
const HIGH = /[\ud800-\uffff]/;
const ASCII = /^\p{ASCII}*$/u;
const LOWER_ALNUM = /^[a-z0-9]*$/;

/** PostgreSQL's reading of a quoted literal as a boolean ('t', 'yes', 'on', '1', ...), if it is one. */
export function pgBoolean(text: string): boolean | undefined {
  return PG_TRUE.test(text) ? true : PG_FALSE.test(text) ? false : undefined;
}

/** A quoted literal that is a number as a whole ('42', ' 1.5e3 '), if it is one. */
export function numericText(text: string): number | undefined {
  return NUMERIC.test(text) ? Number(text) : undefined;
}

/** MySQL and SQLite read the longest numeric prefix of a string ('1abc' is 1, 'abc' is 0). */
function prefixNumber(s: string): number {
  const m = NUMERIC_PREFIX.exec(s);
  return m ? Number(m[0]) : 0;
}

/** A value in a boolean context (WHERE, AND, OR, NOT). */
export function truth(value: Value, dialect: SqlDialect): Truth {
  switch (value.k) {
    case 'bool': return value.v ? 'true' : 'false';
    case 'null': return 'null';
    case 'const': return 'const';
    case 'var': return 'var';
    case 'num':
      // PostgreSQL refuses a number as a condition; MySQL and SQLite take non-zero as true.
      if (dialect === 'postgresql') return 'const';
      return value.v !== 0 ? 'true' : 'false';
    case 'str':
      if (dialect === 'postgresql') return PG_TRUE.test(value.v) ? 'true' : PG_FALSE.test(value.v) ? 'false' : 'const';
      return prefixNumber(value.v) !== 0 ? 'true' : 'false';
  }
}

export function not(t: Truth): Truth {
  return t === 'true' ? 'false' : t === 'false' ? 'true' : t;
}

/** SQL three-valued AND: one FALSE decides, whatever the rest depends on. */
export function and(parts: readonly Truth[]): Truth {
  if (parts.includes('false')) return 'false';
  if (parts.includes('var')) return 'var';
  if (parts.includes('const')) return 'const';
  if (parts.includes('null')) return 'null';
  return 'true';
}

/** SQL three-valued OR: one TRUE decides, whatever the rest depends on. */
export function or(parts: readonly Truth[]): Truth {
  if (parts.includes('true')) return 'true';
  if (parts.includes('var')) return 'var';
  if (parts.includes('const')) return 'const';
  if (parts.includes('null')) return 'null';
  return 'false';
}

export function xor(a: Truth, b: Truth): Truth {
  if (a === 'var' || b === 'var') return 'var';
  if (a === 'const' || b === 'const') return 'const';
  if (a === 'null' || b === 'null') return 'null';
  return a !== b ? 'true' : 'false';
}

type Operand = { readonly n: number } | { readonly s: string };

/**
 * Brings two non-null literals to a comparable pair as the engine would, or says the result
 * is not computable here (`const`): an error at run time, a collation question.
 */
function coerce(a: Value, b: Value, dialect: SqlDialect): [Operand, Operand] | 'const' | 'text-vs-number' {
  if (a.k === 'null' || a.k === 'const' || a.k === 'var' || b.k === 'null' || b.k === 'const' || b.k === 'var') return 'const';
  if (dialect === 'postgresql') {
    if (a.k === b.k) {
      if (a.k === 'str') return [{ s: a.v }, { s: (b as { v: string }).v }];
      return [{ n: Number(a.v) }, { n: Number((b as { v: number | boolean }).v) }];
    }
    // A quoted literal is of unknown type and takes the other side's type.
    if (a.k === 'str' || b.k === 'str') {
      const [text, other] = a.k === 'str' ? [a.v, b] : [(b as { v: string }).v, a];
      if (other.k === 'num') return NUMERIC.test(text) ? order(a.k === 'str', { n: Number(text) }, { n: other.v }) : 'const';
      if (other.k === 'bool') {
        const parsed = PG_TRUE.test(text) ? 1 : PG_FALSE.test(text) ? 0 : undefined;
        return parsed === undefined ? 'const' : order(a.k === 'str', { n: parsed }, { n: Number(other.v) });
      }
    }
    return 'const'; // boolean = integer: no such operator
  }
  const asNumber = (v: Value): number => (v.k === 'bool' ? Number(v.v) : v.k === 'num' ? v.v : prefixNumber((v as { v: string }).v));
  if (a.k === 'str' && b.k === 'str') return [{ s: a.v }, { s: b.v }];
  if (dialect === 'sqlite' && (a.k === 'str' || b.k === 'str')) return 'text-vs-number';
  return [{ n: asNumber(a) }, { n: asNumber(b) }];
}

function order(swapped: boolean, text: Operand, other: Operand): [Operand, Operand] {
  return swapped ? [text, other] : [other, text];
}

function cmpResult(op: string, c: number): Value {
  switch (op) {
    case '=': case '==': return bool(c === 0);
    case '<>': case '!=': return bool(c !== 0);
    case '<': return bool(c < 0);
    case '>': return bool(c > 0);
    case '<=': return bool(c <= 0);
    case '>=': return bool(c >= 0);
    default: return CONST;
  }
}

export const COMPARISONS: ReadonlySet<string> = new Set(['=', '==', '<>', '!=', '<', '>', '<=', '>=']);

/** `a op b` for the six comparison operators. */
export function compare(op: string, a: Value, b: Value, dialect: SqlDialect): Value {
  if (a.k === 'var' || b.k === 'var') return VAR;
  if (a.k === 'const' || b.k === 'const') return CONST;
  if (a.k === 'null' || b.k === 'null') return NULL;
  const pair = coerce(a, b, dialect);
  if (pair === 'const') return CONST;
  // SQLite: with no column affinity, every number sorts before every text.
  if (pair === 'text-vs-number') return cmpResult(op, a.k === 'str' ? 1 : -1);
  const [x, y] = pair;
  if ('n' in x && 'n' in y) return cmpResult(op, x.n === y.n ? 0 : x.n < y.n ? -1 : 1);
  if (!('s' in x) || !('s' in y)) return CONST;
  return compareText(op, x.s, y.s, dialect);
}

function compareText(op: string, x: string, y: string, dialect: SqlDialect): Value {
  const equality = op === '=' || op === '==' || op === '<>' || op === '!=';
  if (dialect === 'mysql') {
    // The default collation ignores case (and accents, which the folder does not model).
    const [lx, ly] = [x.toLowerCase(), y.toLowerCase()];
    if (lx === ly) return cmpResult(op, 0);
    if (equality) return ASCII.test(x) && ASCII.test(y) ? cmpResult(op, 1) : CONST;
    return LOWER_ALNUM.test(lx) && LOWER_ALNUM.test(ly) ? cmpResult(op, lx < ly ? -1 : 1) : CONST;
  }
  if (x === y) return cmpResult(op, 0);
  if (equality) return cmpResult(op, 1);
  // Ordering: SQLite's BINARY collation is byte order. PostgreSQL's depends on the database's
  // collation, which agrees with byte order on lowercase letters and digits only.
  if ((dialect === 'sqlite' && !HIGH.test(x) && !HIGH.test(y)) || (LOWER_ALNUM.test(x) && LOWER_ALNUM.test(y))) return cmpResult(op, x < y ? -1 : 1);
  return CONST;
}

/** Null-safe equality: `IS NOT DISTINCT FROM`, SQLite's `IS`. */
export function same(a: Value, b: Value, dialect: SqlDialect): Value {
  if (a.k === 'var' || b.k === 'var') return VAR;
  if (a.k === 'const' || b.k === 'const') return CONST;
  if (a.k === 'null' || b.k === 'null') return bool(a.k === b.k);
  return compare('=', a, b, dialect);
}

export function isNull(a: Value): Value {
  if (a.k === 'var' || a.k === 'const') return a;
  return bool(a.k === 'null');
}

/** `IS TRUE`, `IS FALSE`, `IS UNKNOWN` (never null themselves). */
export function isTruth(a: Value, wanted: 'true' | 'false' | 'null', dialect: SqlDialect): Value {
  const t = truth(a, dialect);
  if (t === 'var' || t === 'const') return fromTruth(t);
  return bool(t === wanted);
}

export function inList(a: Value, items: readonly Value[], dialect: SqlDialect): Value {
  return fromTruth(or(items.map((item) => truth(compare('=', a, item, dialect), dialect))));
}

export function between(a: Value, low: Value, high: Value, dialect: SqlDialect): Value {
  return fromTruth(and([truth(compare('>=', a, low, dialect), dialect), truth(compare('<=', a, high, dialect), dialect)]));
}

/** Arithmetic on literals: `+ - * / %` and MySQL's `DIV`. */
export function arithmetic(op: string, a: Value, b: Value, dialect: SqlDialect): Value {
  if (a.k === 'var' || b.k === 'var') return VAR;
  if (a.k === 'const' || b.k === 'const') return CONST;
  if (a.k === 'null' || b.k === 'null') return NULL;
  const operand = (v: Value): { n: number; int: boolean } | undefined => {
    if (v.k === 'num') return { n: v.v, int: v.int };
    if (dialect === 'postgresql') return v.k === 'str' && NUMERIC.test(v.v) ? { n: Number(v.v), int: !/[.e]/i.test(v.v) } : undefined;
    if (v.k === 'bool') return { n: Number(v.v), int: true };
    if (v.k === 'str') {
      const n = prefixNumber(v.v);
      return { n, int: Number.isInteger(n) };
    }
    return undefined;
  };
  const x = operand(a);
  const y = operand(b);
  if (!x || !y) return CONST;
  const int = x.int && y.int;
  switch (op) {
    case '+': return num(x.n + y.n, int);
    case '-': return num(x.n - y.n, int);
    case '*': return num(x.n * y.n, int);
    case '/': case 'DIV':
      // Division by zero: an error in PostgreSQL, NULL in MySQL and SQLite.
      if (y.n === 0) return dialect === 'postgresql' ? CONST : NULL;
      if (op === 'DIV' || (int && dialect !== 'mysql')) return num(Math.trunc(x.n / y.n), true);
      return num(x.n / y.n, false);
    case '%': case 'MOD':
      if (y.n === 0) return dialect === 'postgresql' ? CONST : NULL;
      return int ? num(x.n % y.n, true) : CONST;
    default: return CONST;
  }
}

export function negate(a: Value, dialect: SqlDialect): Value {
  return arithmetic('-', num(0), a, dialect);
}

/** `||` as string concatenation (PostgreSQL, SQLite). */
export function concat(a: Value, b: Value, dialect: SqlDialect): Value {
  if (a.k === 'var' || b.k === 'var') return VAR;
  if (a.k === 'const' || b.k === 'const') return CONST;
  if (a.k === 'null' || b.k === 'null') return NULL;
  const text = (v: Value): string | undefined => (v.k === 'str' ? v.v : v.k === 'num' && v.int ? String(v.v) : undefined);
  const x = text(a);
  const y = text(b);
  // PostgreSQL has no integer || integer; renderings of reals and booleans differ by engine.
  if (x === undefined || y === undefined || (dialect === 'postgresql' && a.k !== 'str' && b.k !== 'str')) return CONST;
  return str(x + y);
}

/**
 * `a LIKE pattern`: `%` and `_`, an escape character (PostgreSQL and MySQL default to a
 * backslash, SQLite has none), case folded where the engine folds it.
 */
export function like(a: Value, pattern: Value, escape: Value | undefined, caseInsensitive: boolean, dialect: SqlDialect): Value {
  const parts = escape ? [a, pattern, escape] : [a, pattern];
  if (parts.some((p) => p.k === 'var')) return VAR;
  if (parts.some((p) => p.k === 'const')) return CONST;
  if (parts.some((p) => p.k === 'null')) return NULL;
  if (a.k !== 'str' || pattern.k !== 'str' || (escape && escape.k !== 'str')) return CONST;
  const esc = escape ? (escape as { v: string }).v : dialect === 'sqlite' ? '' : '\\';
  if (esc.length > 1) return CONST;
  // Case folding beyond ASCII follows collations the folder does not model.
  if (caseInsensitive && (!ASCII.test(a.v) || !ASCII.test(pattern.v))) return CONST;
  let source = '';
  const chars = [...pattern.v];
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i]!;
    if (esc !== '' && c === esc) {
      const next = chars[++i];
      if (next === undefined) return CONST;
      source += next.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');
    }
    else if (c === '%') source += '[\\s\\S]*';
    else if (c === '_') source += '[\\s\\S]';
    else source += c.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');
  }
  return bool(new RegExp(`^${source}$`, caseInsensitive ? 'iu' : 'u').test(a.v));
}
