/**
 * MySQL and SQLite analysis for the SQL guard: the engine's lexical rules first
 * (`sql-lexer.ts`: statement boundaries, strings, comments, executable comments), then
 * node-sql-parser's grammar for the dialect on each statement. Only the dialect's own build
 * of the parser is loaded (a few hundred kilobytes), when a guard for it is created.
 *
 * Two statements the parser does not know are read here from the engine's tokens: SQLite's
 * `PRAGMA` (a short, fixed grammar) and `EXPLAIN [QUERY PLAN]` (a prefix; the statement it
 * explains goes to the parser and is never run).
 */
import { createRequire } from 'node:module';
import {
  combine, DANGEROUS_STATEMENTS, dangerousFunction, shorten,
  type Analysis, type Classified, type StatementFacts, type Tautology, type Walk,
} from './sql-facts.ts';
import {
  and, arithmetic, between, bool, COMPARISONS, compare, concat, CONST, fromTruth, inList, isNull, isTruth, like, negate,
  not, NULL, num, opaque, or, same, str, truth, VAR, xor, type Truth, type Value,
} from './sql-fold.ts';
import { lexStatements, type LexedStatement, type Token } from './sql-lexer.ts';

type Dialect = 'mysql' | 'sqlite';
type Json = Readonly<Record<string, unknown>>;

interface Parser {
  astify(sql: string, options: { readonly database: string }): unknown;
}

const require = createRequire(import.meta.url);

function loadParser(dialect: Dialect): Parser {
  const build = (dialect === 'mysql' ? require('node-sql-parser/build/mysql.js') : require('node-sql-parser/build/sqlite.js')) as { Parser: new () => Parser };
  return new build.Parser();
}

const obj = (x: unknown): Json | undefined => (typeof x === 'object' && x !== null && !Array.isArray(x) ? (x as Json) : undefined);
const arr = (x: unknown): readonly unknown[] => (Array.isArray(x) ? x : []);
const upper = (x: unknown): string => (typeof x === 'string' ? x.toUpperCase() : '');

/** A statement as parsed: the parser's tree, or a PRAGMA read from the tokens. */
type Parsed =
  | { readonly kind: 'tree'; readonly top: Json; readonly explain?: string }
  | { readonly kind: 'pragma'; readonly statement: string; readonly read: boolean };

/** Compiles an analyser for one dialect (loads its parser once). */
export function mysqlSqliteAnalyser(dialect: Dialect): (query: string) => Analysis {
  const parser = loadParser(dialect);
  return function analyse(query: string): Analysis {
    const lexed = lexStatements(query, dialect);
    if (!lexed.ok) return { kind: 'parse-error', detail: lexed.error };
    if (lexed.statements.length === 0) return { kind: 'parse-error', detail: 'no statement' };
    const parsed: Parsed[] = [];
    for (const statement of lexed.statements) {
      const one = parseStatement(statement, parser, dialect);
      if (typeof one === 'string') return { kind: 'parse-error', detail: one };
      parsed.push(one);
    }
    if (parsed.length > 1) return { kind: 'multiple', statements: parsed.map((p) => (p.kind === 'pragma' ? p.statement : p.explain ?? classify(p.top).statement)) };
    return { kind: 'single', facts: facts(parsed[0]!, dialect) };
  };
}

function parseStatement(statement: LexedStatement, parser: Parser, dialect: Dialect): Parsed | string {
  const [first, second, third] = statement.tokens.map((t) => upper(t.text));
  if (dialect === 'sqlite' && first === 'PRAGMA') return pragma(statement.tokens);
  if (dialect === 'sqlite' && first === 'EXPLAIN') {
    const queryPlan = second === 'QUERY' && third === 'PLAN';
    const start = statement.tokens[queryPlan ? 3 : 1];
    if (start === undefined) return 'EXPLAIN without a statement';
    const inner = parse(statement.text.slice(start.at), parser, dialect);
    return typeof inner === 'string' ? inner : { kind: 'tree', top: inner, explain: queryPlan ? 'EXPLAIN QUERY PLAN' : 'EXPLAIN' };
  }
  const top = parse(statement.text, parser, dialect);
  return typeof top === 'string' ? top : { kind: 'tree', top };
}

function parse(text: string, parser: Parser, dialect: Dialect): Json | string {
  let ast: unknown;
  try {
    ast = parser.astify(text, { database: dialect });
  }
  catch (error) {
    const found = (error as { found?: unknown }).found;
    if (found === null) return 'unexpected end of input';
    if (typeof found === 'string') return `unexpected ${JSON.stringify(shorten(found))}`;
    return error instanceof RangeError ? 'nested too deeply' : 'syntax error';
  }
  // The lexer already split the statements; a parser that sees more or fewer disagrees with it.
  const list = Array.isArray(ast) ? ast : [ast];
  const top = obj(list[0]);
  if (list.length !== 1 || !top || typeof top.type !== 'string') return 'the parser and the lexer disagree on the statements';
  return top;
}

// SQLite pragmas that only report: schema, lists, checks. Every other pragma configures the
// connection or the database file (writable_schema, journal_mode, ...).
const READ_PRAGMAS = new Set([
  'table_info', 'table_xinfo', 'table_list', 'index_list', 'index_info', 'index_xinfo', 'foreign_key_list', 'foreign_key_check',
  'database_list', 'collation_list', 'function_list', 'module_list', 'pragma_list', 'compile_options', 'integrity_check', 'quick_check',
]);

/** `PRAGMA [schema.]name [= value | (value)]`. */
function pragma(tokens: readonly Token[]): Parsed | string {
  const name = (t: Token | undefined): string | undefined => (t?.kind === 'word' ? t.text : t?.kind === 'name' ? t.text.slice(1, -1) : undefined);
  let i = 1;
  let pragmaName = name(tokens[i++]);
  if (tokens[i]?.text === '.') {
    i++;
    pragmaName = name(tokens[i++]);
  }
  if (pragmaName === undefined) return 'PRAGMA without a name';
  const value = (): boolean => {
    if (tokens[i]?.text === '-' || tokens[i]?.text === '+') i++;
    const t = tokens[i++];
    return t !== undefined && t.kind !== 'punct' && t.kind !== 'param';
  };
  if (tokens[i]?.text === '=') {
    i++;
    if (!value()) return 'PRAGMA without a value';
  }
  else if (tokens[i]?.text === '(') {
    i++;
    if (!value() || tokens[i++]?.text !== ')') return 'PRAGMA with a malformed argument';
  }
  if (i !== tokens.length) return 'unexpected text after PRAGMA';
  return { kind: 'pragma', statement: `PRAGMA ${pragmaName.toLowerCase()}`, read: READ_PRAGMAS.has(pragmaName.toLowerCase()) };
}

function classify(top: Json): Classified {
  const type = String(top.type);
  switch (type) {
    case 'select': {
      const into = upper(obj(top.into)?.keyword);
      if (into === 'OUTFILE' || into === 'DUMPFILE') return { statement: `SELECT ... INTO ${into}`, category: 'write', dangerous: DANGEROUS_STATEMENTS.outfile };
      // INTO @variable keeps the result in the session; any other INTO target would be a table.
      if (into !== '' && into !== 'VAR') return { statement: 'SELECT INTO', category: 'write' };
      return { statement: 'SELECT', category: 'read' };
    }
    case 'show': return { statement: `SHOW ${upper(top.keyword)}`.trim(), category: 'read' };
    case 'desc': return { statement: 'DESCRIBE', category: 'read' };
    case 'explain': return { statement: 'EXPLAIN', category: 'read' };
    case 'insert': case 'replace': case 'update': case 'delete':
      return { statement: type.toUpperCase(), category: 'write' };
    case 'call': case 'lock':
      // A procedure may write; LOCK TABLES blocks every other session.
      return { statement: type.toUpperCase(), category: 'write' };
    case 'load_data': return { statement: 'LOAD DATA', category: 'write', dangerous: DANGEROUS_STATEMENTS.loadData };
    case 'attach': return { statement: 'ATTACH', category: 'dangerous', dangerous: DANGEROUS_STATEMENTS.attach };
    case 'alter': return { statement: 'ALTER TABLE', category: 'ddl' };
    case 'rename': return { statement: 'RENAME TABLE', category: 'ddl' };
    case 'transaction': {
      const expr = obj(top.expr);
      return { statement: `${upper(obj(expr?.action)?.value)} ${upper(expr?.keyword)}`.trim() || 'TRANSACTION', category: 'ddl' };
    }
    default:
      // Schema, privileges, settings, sessions: CREATE, DROP, TRUNCATE, GRANT, SET, USE, ...
      return { statement: `${type.toUpperCase()} ${typeof top.keyword === 'string' ? top.keyword.toUpperCase() : ''}`.trim(), category: 'ddl' };
  }
}

function facts(parsed: Parsed, dialect: Dialect): StatementFacts {
  if (parsed.kind === 'pragma') return { statement: parsed.statement, category: parsed.read ? 'read' : 'ddl' };
  const walk: Walk = {};
  // EXPLAIN (SQLite's prefix, MySQL's statement) plans without running.
  const explained = parsed.explain !== undefined || parsed.top.type === 'explain';
  visit(parsed.top, walk, dialect, explained, true);
  return combine(parsed.explain !== undefined ? { statement: parsed.explain, category: 'read' } : classify(parsed.top), walk);
}

const CONDITIONS: Readonly<Record<string, Tautology['clause']>> = { where: 'WHERE', having: 'HAVING', on: 'ON' };
const WRITE_TYPES = new Set(['insert', 'replace', 'update', 'delete']);
const CALLS = new Set(['function', 'aggr_func', 'window_func']);

function visit(value: unknown, walk: Walk, dialect: Dialect, noWrite: boolean, root = false): void {
  if (Array.isArray(value)) {
    for (const item of value) visit(item, walk, dialect, noWrite);
    return;
  }
  const o = obj(value);
  if (!o) return;
  if (CALLS.has(String(o.type)) && walk.dangerous === undefined) walk.dangerous = dangerousFunction(functionName(o));
  if (!root && !noWrite && walk.writes === undefined && WRITE_TYPES.has(String(o.type)) && o.table !== undefined) walk.writes = `${String(o.type).toUpperCase()} inside the statement`;
  for (const [key, child] of Object.entries(o)) {
    const clause = CONDITIONS[key];
    if (clause !== undefined && child !== null && walk.tautology === undefined) walk.tautology = tautology(child, clause, dialect);
    visit(child, walk, dialect, noWrite);
  }
}

function functionName(o: Json): string {
  if (typeof o.name === 'string') return o.name;
  const parts = arr(obj(o.name)?.name);
  return String(obj(parts.at(-1))?.value ?? '');
}

function tautology(condition: unknown, clause: Tautology['clause'], dialect: Dialect): Tautology | undefined {
  const hit = alwaysTrueBranch(condition, dialect);
  if (hit !== undefined) return { clause, condition: shorten(render(hit, dialect)) };
  return maybeTrue(truth(fold(condition, dialect), dialect)) ? { clause, condition: shorten(render(condition, dialect)) } : undefined;
}

const maybeTrue = (t: Truth): boolean => t === 'true' || t === 'const';

/** An OR operand, reached through AND and OR only, that is always true. */
function alwaysTrueBranch(node: unknown, dialect: Dialect): unknown {
  const o = obj(node);
  const op = upper(o?.operator);
  if (o?.type !== 'binary_expr' || (op !== 'AND' && op !== 'OR')) return undefined;
  for (const side of [o.left, o.right]) {
    if (op === 'OR' && maybeTrue(truth(fold(side, dialect), dialect))) return side;
    const deeper = alwaysTrueBranch(side, dialect);
    if (deeper !== undefined) return deeper;
  }
  return undefined;
}

/** The engine's reading of a quoted literal as the parser reports it (raw, between the quotes). */
function decode(raw: string, quote: string, dialect: Dialect): string {
  if (dialect === 'sqlite') return raw.replace(/\\\\/g, '\\').replace(/''/g, "'");
  const escapes: Readonly<Record<string, string>> = { 0: '\0', b: '\b', n: '\n', r: '\r', t: '\t', Z: '\x1a', '%': '\\%', _: '\\_' };
  return raw.replace(quote === '"' ? /\\([\s\S])|""/g : /\\([\s\S])|''/g, (_m, c: string | undefined) => (c === undefined ? quote : escapes[c] ?? c));
}

function fold(node: unknown, dialect: Dialect): Value {
  if (typeof node === 'number') return num(node);
  const o = obj(node);
  if (!o || o.ast !== undefined) return VAR;
  const f = (n: unknown): Value => fold(n, dialect);
  let value: Value;
  switch (o.type) {
    case 'number': case 'bigint': {
      const text = String(o.value);
      value = num(Number(text), /^[-+]?\d+$/.test(text));
      break;
    }
    case 'single_quote_string': case 'string':
      value = str(decode(String(o.value ?? ''), "'", dialect));
      break;
    // MySQL: a string. SQLite: a column name, unless no column has that name.
    case 'double_quote_string':
      value = dialect === 'mysql' ? str(decode(String(o.value ?? ''), '"', dialect)) : VAR;
      break;
    case 'natural_string': case 'hex_string': case 'full_hex_string': case 'bit_string':
      value = CONST;
      break;
    case 'bool': value = bool(o.value === true || upper(o.value) === 'TRUE'); break;
    case 'null': value = NULL; break;
    case 'binary_expr': value = binary(o, dialect); break;
    case 'unary_expr': {
      const operand = f(o.expr);
      const op = upper(o.operator);
      value = op === 'NOT' || op === '!' ? fromTruth(not(truth(operand, dialect))) : op === '-' ? negate(operand, dialect) : op === '+' ? operand : opaque(operand);
      break;
    }
    case 'case': value = caseExpression(o, dialect); break;
    case 'cast': {
      const inner = f(o.expr);
      value = inner.k === 'var' || inner.k === 'null' ? inner : CONST;
      break;
    }
    case 'function': value = upper(functionName(o)) === 'EXISTS' && bareSelect(arr(obj(o.args)?.value)[0], dialect) ? bool(true) : VAR; break;
    case 'expr_list': {
      const items = arr(o.value);
      value = items.length === 1 ? f(items[0]) : VAR;
      break;
    }
    default: value = VAR;
  }
  // A COLLATE clause changes how the literal compares.
  return obj(o.suffix)?.collate !== undefined && value.k !== 'var' ? CONST : value;
}

function binary(o: Json, dialect: Dialect): Value {
  const op = upper(o.operator);
  const left = (): Value => fold(o.left, dialect);
  const right = (): Value => fold(o.right, dialect);
  const t = (v: Value): Truth => truth(v, dialect);
  switch (op) {
    case 'AND': return fromTruth(and([t(left()), t(right())]));
    case 'OR': return fromTruth(or([t(left()), t(right())]));
    case 'XOR': return fromTruth(xor(t(left()), t(right())));
    case 'IS': case 'IS NOT': {
      const r = obj(o.right);
      let result: Value;
      if (r?.type === 'null') result = isNull(left());
      else if (r?.type === 'bool') result = isTruth(left(), right().k === 'bool' && (right() as { v: boolean }).v ? 'true' : 'false', dialect);
      else result = dialect === 'sqlite' ? same(left(), right(), dialect) : opaque(left(), right());
      return op === 'IS NOT' ? fromTruth(not(t(result))) : result;
    }
    case 'IN': case 'NOT IN': {
      const items = arr(obj(o.right)?.value);
      if (obj(o.right)?.type !== 'expr_list' || items.some((i) => obj(i)?.ast !== undefined)) return VAR;
      const found = inList(left(), items.map((i) => fold(i, dialect)), dialect);
      return op === 'NOT IN' ? fromTruth(not(t(found))) : found;
    }
    case 'BETWEEN': case 'NOT BETWEEN': {
      const [low, high] = arr(obj(o.right)?.value);
      if (low === undefined || high === undefined) return VAR;
      const inside = between(left(), fold(low, dialect), fold(high, dialect), dialect);
      return op === 'NOT BETWEEN' ? fromTruth(not(t(inside))) : inside;
    }
    case 'LIKE': case 'NOT LIKE': {
      const escape = obj(obj(o.right)?.escape)?.value;
      // Both engines compare LIKE without case by default (MySQL by collation, SQLite for ASCII).
      const matched = like(left(), right(), escape === undefined ? undefined : fold(escape, dialect), true, dialect);
      return op === 'NOT LIKE' ? fromTruth(not(t(matched))) : matched;
    }
    case '||': return concat(left(), right(), dialect);
    case '+': case '-': case '*': case '/': case '%': case 'DIV': case 'MOD':
      return arithmetic(op, left(), right(), dialect);
    default:
      return COMPARISONS.has(op) ? compare(op, left(), right(), dialect) : opaque(left(), right());
  }
}

function caseExpression(o: Json, dialect: Dialect): Value {
  const subject = o.expr === null || o.expr === undefined ? undefined : fold(o.expr, dialect);
  const pending: Value[] = [];
  for (const arm of arr(o.args)) {
    const a = obj(arm);
    if (!a) return VAR;
    if (a.type === 'else') return pending.length === 0 ? fold(a.result, dialect) : opaque(...pending, fold(a.result, dialect));
    const condition = subject === undefined ? fold(a.cond, dialect) : compare('=', subject, fold(a.cond, dialect), dialect);
    const t = truth(condition, dialect);
    if (t === 'false' || t === 'null') continue;
    if (t === 'true') return pending.length === 0 ? fold(a.result, dialect) : opaque(...pending, fold(a.result, dialect));
    pending.push(fromTruth(t), fold(a.result, dialect));
  }
  return pending.length === 0 ? NULL : opaque(...pending, NULL);
}

/** `EXISTS (SELECT 1)`: a SELECT of literals with no FROM always has its one row. */
function bareSelect(node: unknown, dialect: Dialect): boolean {
  const s = obj(obj(node)?.ast);
  if (s?.type !== 'select' || s._next !== undefined) return false;
  const empty = (x: unknown): boolean => x === null || x === undefined || (Array.isArray(x) && x.length === 0);
  if (!['from', 'where', 'having', 'groupby', 'with'].every((k) => empty(s[k]) || (k === 'groupby' && empty(obj(s[k])?.columns)))) return false;
  if (!empty(s.limit) && !empty(obj(s.limit)?.value)) return false;
  const columns = arr(s.columns);
  return columns.length > 0 && columns.every((c) => fold(obj(c)?.expr, dialect).k !== 'var');
}

/** SQL text for the evidence of a condition; literal parts in full, the rest elided. */
function render(node: unknown, dialect: Dialect, depth = 0): string {
  const o = obj(node);
  if (typeof node === 'number') return String(node);
  if (!o || depth > 8) return '…';
  const sub = (n: unknown): string => {
    const text = render(n, dialect, depth + 1);
    return obj(n)?.type === 'binary_expr' ? `(${text})` : text;
  };
  switch (o.type) {
    case 'number': case 'bigint': return String(o.value);
    case 'single_quote_string': case 'string': return `'${decode(String(o.value ?? ''), "'", dialect).replace(/'/g, "''")}'`;
    case 'double_quote_string': return `"${String(o.value ?? '')}"`;
    case 'bool': return upper(String(o.value));
    case 'null': return 'NULL';
    case 'column_ref': {
      const column = typeof o.column === 'string' ? o.column : String(obj(obj(o.column)?.expr)?.value ?? '…');
      return typeof o.table === 'string' ? `${o.table}.${column}` : column;
    }
    case 'origin': case 'param': return typeof o.value === 'string' ? (o.type === 'param' ? `:${o.value}` : o.value) : '?';
    case 'unary_expr': return `${upper(o.operator)} ${sub(o.expr)}`;
    case 'binary_expr': {
      const op = upper(o.operator);
      const r = obj(o.right);
      if (r?.type === 'expr_list' && (op === 'BETWEEN' || op === 'NOT BETWEEN')) {
        const [low, high] = arr(r.value);
        return `${sub(o.left)} ${op} ${sub(low)} AND ${sub(high)}`;
      }
      const right = r?.type === 'expr_list' ? `(${arr(r.value).map((v) => render(v, dialect, depth + 1)).join(', ')})` : sub(o.right);
      return `${sub(o.left)} ${op} ${right}`;
    }
    case 'function': return upper(functionName(o)) === 'EXISTS' ? 'EXISTS (SELECT …)' : `${functionName(o)}(…)`;
    case 'case': return 'CASE … END';
    case 'cast': return `CAST(${sub(o.expr)} AS …)`;
    default: return '…';
  }
}
