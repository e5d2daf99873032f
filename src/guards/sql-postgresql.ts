/**
 * PostgreSQL analysis for the SQL guard, on PostgreSQL's own grammar: libpg-query is the
 * server's parser (version 18) compiled to WebAssembly, so what it calls one statement, a
 * string, a comment or a syntax error is what the server will. Its WebAssembly module loads
 * once, when this module is first imported (a top-level await of about 20 ms); after that
 * every parse is synchronous.
 *
 * The tree is walked generically (every node is `{ TypeName: { ...fields } }`, some fields
 * hold unwrapped nodes), so a function call, a data-modifying statement or a condition is
 * found wherever the grammar allows it: CTEs, subqueries, FROM, COPY (query), EXPLAIN ANALYZE.
 */
import { loadModule, parseSync } from 'libpg-query';
import {
  combine, DANGEROUS_STATEMENTS, dangerousFunction, shorten,
  type Analysis, type Classified, type StatementFacts, type Tautology, type Walk,
} from './sql-facts.ts';
import {
  and, arithmetic, between, bool, COMPARISONS, compare, concat, CONST, fromTruth, inList, isNull, isTruth, like, negate,
  not, NULL, num, numericText, opaque, or, pgBoolean, same, str, truth, VAR, type Truth, type Value,
} from './sql-fold.ts';

await loadModule();

type Json = Readonly<Record<string, unknown>>;

const PG = 'postgresql';

const obj = (x: unknown): Json | undefined => (typeof x === 'object' && x !== null && !Array.isArray(x) ? (x as Json) : undefined);
const arr = (x: unknown): readonly unknown[] => (Array.isArray(x) ? x : []);

/** `{ TypeName: body }` → [TypeName, body]. */
function unwrap(node: unknown): [string, Json] | undefined {
  const o = obj(node);
  if (!o) return undefined;
  const keys = Object.keys(o);
  if (keys.length !== 1 || !/^[A-Z]/.test(keys[0]!)) return undefined;
  const body = obj(o[keys[0]!]);
  return body ? [keys[0]!, body] : undefined;
}

/** The `sval`s of a list of String nodes: a qualified name, an operator. */
function names(list: unknown): string[] {
  return arr(list).map((n) => {
    const u = unwrap(n);
    return u?.[0] === 'String' ? String(u[1].sval ?? '') : '';
  });
}

export function analysePostgres(query: string): Analysis {
  let stmts: readonly unknown[];
  try {
    stmts = arr((parseSync(query) as unknown as Json).stmts);
  }
  catch (error) {
    return { kind: 'parse-error', detail: shorten((error as Error).message) };
  }
  const tops = stmts.map((s) => unwrap(obj(s)?.stmt));
  if (tops.length === 0) return { kind: 'parse-error', detail: 'no statement' };
  if (tops.some((t) => t === undefined)) return { kind: 'parse-error', detail: 'unexpected parse tree' };
  if (tops.length > 1) return { kind: 'multiple', statements: tops.map((t) => describe(...t!)) };
  return { kind: 'single', facts: facts(...tops[0]!) };
}

function facts(type: string, body: Json): StatementFacts {
  const top = classify(type, body);
  const walk: Walk = {};
  if (type === 'ExplainStmt') visit(body.query, walk, { noWrite: !explainAnalyze(body), place: 'inside the statement' });
  else visit(body, walk, { noWrite: false, place: 'inside the statement' });
  return combine(top, walk);
}

const READS = new Set(['SelectStmt', 'VariableShowStmt', 'DeclareCursorStmt', 'FetchStmt', 'ClosePortalStmt']);
// CALL and EXECUTE run code the guard cannot see; LOCK blocks every other session; NOTIFY
// and REFRESH change what others observe.
const WRITES = new Set(['InsertStmt', 'UpdateStmt', 'DeleteStmt', 'MergeStmt', 'CallStmt', 'LockStmt', 'ExecuteStmt', 'RefreshMatViewStmt', 'NotifyStmt']);

function classify(type: string, body: Json): Classified {
  const statement = describe(type, body);
  switch (type) {
    case 'SelectStmt':
      return { statement, category: body.intoClause === undefined ? 'read' : 'write' };
    case 'ExplainStmt': {
      const inner = unwrap(body.query);
      if (!explainAnalyze(body) || !inner) return { statement, category: 'read' };
      // EXPLAIN ANALYZE runs the statement it explains.
      const run = classify(...inner);
      return { ...run, statement: `EXPLAIN ANALYZE ${run.statement}` };
    }
    case 'PrepareStmt': {
      const inner = unwrap(body.query);
      return inner ? { ...classify(...inner), statement } : { statement, category: 'write' };
    }
    case 'CopyStmt': {
      const dangerous = body.is_program === true ? DANGEROUS_STATEMENTS.copyProgram : body.filename !== undefined ? DANGEROUS_STATEMENTS.copyFile : undefined;
      // COPY ... TO STDOUT streams rows to the client, as a SELECT would.
      const category = body.is_from === true || dangerous !== undefined ? 'write' : 'read';
      return dangerous === undefined ? { statement, category } : { statement, category, dangerous };
    }
    case 'DoStmt':
      return { statement, category: 'dangerous', dangerous: DANGEROUS_STATEMENTS.do };
    case 'LoadStmt':
      return { statement, category: 'dangerous', dangerous: DANGEROUS_STATEMENTS.load };
    default:
      if (READS.has(type)) return { statement, category: 'read' };
      if (WRITES.has(type)) return { statement, category: 'write' };
      // Schema, privileges, roles, settings, sessions, transactions, maintenance.
      return { statement, category: 'ddl' };
  }
}

/** `EXPLAIN ANALYZE`, `EXPLAIN (ANALYZE)`, `EXPLAIN (ANALYZE true)`: anything but an explicit false. */
function explainAnalyze(body: Json | undefined): boolean {
  for (const option of arr(body?.options)) {
    const u = unwrap(option);
    if (u?.[0] !== 'DefElem' || u[1].defname !== 'analyze') continue;
    const arg = unwrap(u[1].arg);
    if (!arg) return true;
    const value = arg[1].sval ?? arg[1].boolval ?? arg[1].ival;
    return !(value === false || value === 0 || (typeof value === 'string' && pgBoolean(value) === false));
  }
  return false;
}

const NESTED_WRITES: Readonly<Record<string, string>> = { InsertStmt: 'INSERT', UpdateStmt: 'UPDATE', DeleteStmt: 'DELETE', MergeStmt: 'MERGE' };
const CONDITIONS: Readonly<Record<string, Tautology['clause']>> = { whereClause: 'WHERE', havingClause: 'HAVING', quals: 'ON', joinCondition: 'ON' };

interface Context {
  /** Under EXPLAIN without ANALYZE: planned, not run. */
  readonly noWrite: boolean;
  readonly place: string;
}

function visit(value: unknown, walk: Walk, context: Context): void {
  if (Array.isArray(value)) {
    for (const item of value) visit(item, walk, context);
    return;
  }
  const o = obj(value);
  if (!o) return;
  // A FuncCall, wrapped or not (CALL's `funccall` is bare).
  if (Array.isArray(o.funcname) && walk.dangerous === undefined) {
    const name = names(o.funcname).at(-1);
    if (name !== undefined) walk.dangerous = dangerousFunction(name);
  }
  for (const [key, child] of Object.entries(o)) {
    if (key === 'ExplainStmt') {
      const body = obj(child);
      visit(body?.query, walk, { ...context, noWrite: context.noWrite || !explainAnalyze(body) });
      continue;
    }
    if (!context.noWrite && walk.writes === undefined) {
      if (NESTED_WRITES[key] !== undefined) walk.writes = `${NESTED_WRITES[key]} ${context.place}`;
      else if (key === 'intoClause') walk.writes = `SELECT INTO ${context.place}`;
    }
    const clause = CONDITIONS[key];
    // `LEFT JOIN LATERAL (...) ON TRUE` is how PostgreSQL spells a lateral join: the
    // correlation lives inside the subquery, the ON has nothing left to say.
    if (clause !== undefined && walk.tautology === undefined && !(key === 'quals' && lateral(o.rarg))) walk.tautology = tautology(child, clause);
    visit(child, walk, key === 'ctequery' ? { ...context, place: 'in a WITH clause' } : context);
  }
}

function lateral(node: unknown): boolean {
  const u = unwrap(node);
  return (u?.[0] === 'RangeSubselect' || u?.[0] === 'RangeFunction') && u[1].lateral === true;
}

/**
 * A condition that is always true as a whole, or an OR (reached through AND and OR only)
 * with an operand that is: the dead branch an injected `OR 1=1` leaves behind.
 */
function tautology(condition: unknown, clause: Tautology['clause']): Tautology | undefined {
  const hit = alwaysTrueBranch(condition);
  if (hit !== undefined) return { clause, condition: shorten(render(hit)) };
  return maybeTrue(truth(fold(condition), PG)) ? { clause, condition: shorten(render(condition)) } : undefined;
}

function alwaysTrueBranch(node: unknown): unknown {
  const u = unwrap(node);
  if (u?.[0] !== 'BoolExpr' || (u[1].boolop !== 'AND_EXPR' && u[1].boolop !== 'OR_EXPR')) return undefined;
  for (const arg of arr(u[1].args)) {
    if (u[1].boolop === 'OR_EXPR' && maybeTrue(truth(fold(arg), PG))) return arg;
    const deeper = alwaysTrueBranch(arg);
    if (deeper !== undefined) return deeper;
  }
  return undefined;
}

const maybeTrue = (t: Truth): boolean => t === 'true' || t === 'const';

function fold(node: unknown): Value {
  const u = unwrap(node);
  if (!u) return VAR;
  const [type, b] = u;
  switch (type) {
    case 'A_Const': return constant(b);
    case 'A_Expr': return expression(b);
    case 'BoolExpr': {
      const args = arr(b.args).map((a) => truth(fold(a), PG));
      if (b.boolop === 'AND_EXPR') return fromTruth(and(args));
      if (b.boolop === 'OR_EXPR') return fromTruth(or(args));
      return fromTruth(not(args[0] ?? 'var'));
    }
    case 'NullTest': {
      const tested = isNull(fold(b.arg));
      return b.nulltesttype === 'IS_NOT_NULL' ? fromTruth(not(truth(tested, PG))) : tested;
    }
    case 'BooleanTest': {
      const arg = fold(b.arg);
      const [wanted, negated] = ({
        IS_TRUE: ['true', false], IS_NOT_TRUE: ['true', true], IS_FALSE: ['false', false],
        IS_NOT_FALSE: ['false', true], IS_UNKNOWN: ['null', false], IS_NOT_UNKNOWN: ['null', true],
      } as const)[String(b.booltesttype) as 'IS_TRUE'] ?? ['true', false];
      const tested = isTruth(arg, wanted, PG);
      return negated ? fromTruth(not(truth(tested, PG))) : tested;
    }
    case 'TypeCast': return cast(fold(b.arg), names(obj(b.typeName)?.names).at(-1) ?? '');
    case 'CaseExpr': return caseExpression(b);
    case 'CoalesceExpr': {
      for (const arg of arr(b.args)) {
        const v = fold(arg);
        if (v.k !== 'null') return v;
      }
      return NULL;
    }
    case 'SubLink': return subquery(b);
    default: return VAR;
  }
}

function constant(b: Json): Value {
  if (b.isnull === true) return NULL;
  // Protobuf leaves defaults out: `ival: {}` is 0, `boolval: {}` is false.
  if (b.ival !== undefined) return num(Number(obj(b.ival)?.ival ?? 0), true);
  if (b.fval !== undefined) {
    const text = String(obj(b.fval)?.fval ?? '0');
    return num(Number(text), /^[-+]?\d+$/.test(text));
  }
  if (b.sval !== undefined) return str(String(obj(b.sval)?.sval ?? ''));
  if (b.boolval !== undefined) return bool(obj(b.boolval)?.boolval === true);
  return CONST; // bit strings
}

const LIKE_OPS: Readonly<Record<string, [negated: boolean, caseInsensitive: boolean]>> = {
  '~~': [false, false], '!~~': [true, false], '~~*': [false, true], '!~~*': [true, true],
};

function expression(b: Json): Value {
  const op = names(b.name).at(-1) ?? '';
  const left = (): Value => fold(b.lexpr);
  const right = (): Value => fold(b.rexpr);
  switch (b.kind) {
    case 'AEXPR_OP': {
      if (b.lexpr === undefined) {
        const r = right();
        return op === '-' ? negate(r, PG) : op === '+' ? arithmetic('+', num(0), r, PG) : opaque(r);
      }
      const l = left();
      const r = right();
      if (COMPARISONS.has(op)) return compare(op, l, r, PG);
      if (['+', '-', '*', '/', '%'].includes(op)) return arithmetic(op, l, r, PG);
      if (op === '||') return concat(l, r, PG);
      const likeOp = LIKE_OPS[op];
      if (likeOp) return likeResult(l, r, likeOp);
      return opaque(l, r);
    }
    case 'AEXPR_LIKE':
    case 'AEXPR_ILIKE':
      return likeResult(left(), right(), LIKE_OPS[op] ?? [false, b.kind === 'AEXPR_ILIKE']);
    case 'AEXPR_IN': {
      const list = unwrap(b.rexpr);
      if (list?.[0] !== 'List') return VAR;
      const found = inList(left(), arr(list[1].items).map(fold), PG);
      return op === '<>' ? fromTruth(not(truth(found, PG))) : found;
    }
    case 'AEXPR_BETWEEN':
    case 'AEXPR_NOT_BETWEEN': {
      const list = unwrap(b.rexpr);
      const [low, high] = list?.[0] === 'List' ? arr(list[1].items).map(fold) : [];
      if (!low || !high) return VAR;
      const inside = between(left(), low, high, PG);
      return b.kind === 'AEXPR_NOT_BETWEEN' ? fromTruth(not(truth(inside, PG))) : inside;
    }
    case 'AEXPR_NOT_DISTINCT': return same(left(), right(), PG);
    case 'AEXPR_DISTINCT': return fromTruth(not(truth(same(left(), right(), PG), PG)));
    default: return opaque(left(), right());
  }
}

function likeResult(l: Value, r: Value, [negated, caseInsensitive]: [boolean, boolean]): Value {
  const matched = like(l, r, undefined, caseInsensitive, PG);
  return negated ? fromTruth(not(truth(matched, PG))) : matched;
}

const INTEGER_TYPES = new Set(['int2', 'int4', 'int8', 'smallint', 'integer', 'bigint']);
const NUMBER_TYPES = new Set(['numeric', 'decimal', 'float4', 'float8', 'real']);
const TEXT_TYPES = new Set(['text', 'varchar', 'bpchar', 'name']);

/** `x::type` for the types whose conversions are plain; anything else is literal but opaque. */
function cast(v: Value, type: string): Value {
  if (v.k === 'var' || v.k === 'const' || v.k === 'null') return v;
  if (INTEGER_TYPES.has(type)) {
    if (v.k === 'num') return num(Math.round(v.v), true);
    if (v.k === 'bool') return num(Number(v.v), true);
    const n = numericText(v.v);
    return n !== undefined && Number.isInteger(n) && !/[.e]/i.test(v.v) ? num(n, true) : CONST;
  }
  if (NUMBER_TYPES.has(type)) {
    if (v.k === 'num') return num(v.v, false);
    const n = v.k === 'str' ? numericText(v.v) : undefined;
    return n === undefined ? CONST : num(n, false);
  }
  if (TEXT_TYPES.has(type)) {
    if (v.k === 'str') return v;
    if (v.k === 'bool') return str(String(v.v));
    return v.int ? str(String(v.v)) : CONST;
  }
  if (type === 'bool') {
    if (v.k === 'bool') return v;
    if (v.k === 'num') return v.int ? bool(v.v !== 0) : CONST;
    const parsed = pgBoolean(v.v);
    return parsed === undefined ? CONST : bool(parsed);
  }
  return CONST;
}

function caseExpression(b: Json): Value {
  const subject = b.arg === undefined ? undefined : fold(b.arg);
  const pending: Value[] = [];
  for (const when of arr(b.args)) {
    const w = unwrap(when)?.[1];
    if (!w) return VAR;
    const condition = subject === undefined ? fold(w.expr) : compare('=', subject, fold(w.expr), PG);
    const t = truth(condition, PG);
    if (t === 'false' || t === 'null') continue;
    if (t === 'true') return pending.length === 0 ? fold(w.result) : opaque(...pending, fold(w.result));
    pending.push(fromTruth(t), fold(w.result));
  }
  const otherwise = b.defresult === undefined ? NULL : fold(b.defresult);
  return pending.length === 0 ? otherwise : opaque(...pending, otherwise);
}

/** `EXISTS (SELECT 1)` is true and `(SELECT 1)` is 1: a SELECT of literals with no FROM. */
function subquery(b: Json): Value {
  const select = unwrap(b.subselect);
  if (select?.[0] !== 'SelectStmt') return VAR;
  const s = select[1];
  const bare = s.op === 'SETOP_NONE' && ['fromClause', 'whereClause', 'havingClause', 'groupClause', 'limitCount', 'limitOffset', 'intoClause', 'withClause', 'valuesLists'].every((k) => s[k] === undefined);
  const targets = arr(s.targetList).map((t) => fold(unwrap(t)?.[1].val));
  if (!bare || targets.length === 0 || targets.some((t) => t.k === 'var')) return VAR;
  if (b.subLinkType === 'EXISTS_SUBLINK') return bool(true);
  if (b.subLinkType === 'EXPR_SUBLINK' && targets.length === 1) return targets[0]!;
  return VAR;
}

// ------------------------------------------------------------------ names and renderings

const OBJECT_TYPE = (t: unknown): string => String(t ?? '').replace(/^OBJECT_/, '').replace('MATVIEW', 'MATERIALIZED VIEW').replace(/_/g, ' ');

const STATEMENT_NAMES: Readonly<Record<string, string>> = {
  InsertStmt: 'INSERT', UpdateStmt: 'UPDATE', DeleteStmt: 'DELETE', MergeStmt: 'MERGE', VariableShowStmt: 'SHOW',
  CreateStmt: 'CREATE TABLE', ViewStmt: 'CREATE VIEW', IndexStmt: 'CREATE INDEX', CreatedbStmt: 'CREATE DATABASE',
  DropdbStmt: 'DROP DATABASE', CommentStmt: 'COMMENT ON', ExplainStmt: 'EXPLAIN', DoStmt: 'DO', LoadStmt: 'LOAD',
  CallStmt: 'CALL', LockStmt: 'LOCK', CheckPointStmt: 'CHECKPOINT', DiscardStmt: 'DISCARD', ListenStmt: 'LISTEN',
  UnlistenStmt: 'UNLISTEN', NotifyStmt: 'NOTIFY', PrepareStmt: 'PREPARE', ExecuteStmt: 'EXECUTE', DeallocateStmt: 'DEALLOCATE',
  DeclareCursorStmt: 'DECLARE CURSOR', ClosePortalStmt: 'CLOSE', ClusterStmt: 'CLUSTER', ReindexStmt: 'REINDEX',
  RefreshMatViewStmt: 'REFRESH MATERIALIZED VIEW', AlterSystemStmt: 'ALTER SYSTEM', ConstraintsSetStmt: 'SET CONSTRAINTS',
  TruncateStmt: 'TRUNCATE', CreateTrigStmt: 'CREATE TRIGGER', CreateEventTrigStmt: 'CREATE EVENT TRIGGER', RuleStmt: 'CREATE RULE',
  CreateSeqStmt: 'CREATE SEQUENCE', AlterSeqStmt: 'ALTER SEQUENCE', CreatePLangStmt: 'CREATE LANGUAGE',
};

/** The statement as a user would name it: `SELECT`, `DROP TABLE`, `CREATE ROLE`, `SET`. */
function describe(type: string, body: Json): string {
  switch (type) {
    case 'SelectStmt': return body.intoClause !== undefined ? 'SELECT INTO' : body.valuesLists !== undefined ? 'VALUES' : 'SELECT';
    case 'DropStmt': return `DROP ${OBJECT_TYPE(body.removeType)}`;
    case 'RenameStmt': return `ALTER ${OBJECT_TYPE(body.renameType)} RENAME`;
    case 'GrantStmt': case 'GrantRoleStmt': return body.is_grant === true ? 'GRANT' : 'REVOKE';
    case 'TransactionStmt': return String(body.kind ?? '').replace(/^TRANS_STMT_/, '').replace(/_/g, ' ') || 'TRANSACTION';
    case 'VariableSetStmt': return String(body.kind ?? '').startsWith('VAR_RESET') ? 'RESET' : 'SET';
    case 'CreateTableAsStmt': return body.objtype === 'OBJECT_MATVIEW' ? 'CREATE MATERIALIZED VIEW' : 'CREATE TABLE AS';
    case 'VacuumStmt': return body.is_vacuumcmd === true ? 'VACUUM' : 'ANALYZE';
    case 'FetchStmt': return body.ismove === true ? 'MOVE' : 'FETCH';
    case 'CopyStmt': return body.is_from === true ? 'COPY FROM' : 'COPY TO';
    default:
      return STATEMENT_NAMES[type] ?? type.replace(/Stmt$/, '').replace(/([a-z])([A-Z])/g, '$1 $2').toUpperCase();
  }
}

const RENDER_OPS: Readonly<Record<string, string>> = { '~~': 'LIKE', '!~~': 'NOT LIKE', '~~*': 'ILIKE', '!~~*': 'NOT ILIKE' };

/** SQL text for the evidence of a condition; literal parts in full, the rest elided. */
function render(node: unknown, depth = 0): string {
  const u = unwrap(node);
  if (!u || depth > 8) return '…';
  const [type, b] = u;
  const sub = (n: unknown): string => {
    const t = unwrap(n)?.[0];
    const text = render(n, depth + 1);
    return t === 'A_Expr' || t === 'BoolExpr' ? `(${text})` : text;
  };
  switch (type) {
    case 'A_Const': {
      if (b.isnull === true) return 'NULL';
      const v = constant(b);
      if (v.k === 'str') return `'${v.v.replace(/'/g, "''")}'`;
      if (v.k === 'bool') return v.v ? 'TRUE' : 'FALSE';
      if (v.k === 'num') return b.fval !== undefined ? String(obj(b.fval)?.fval) : String(v.v);
      return '…';
    }
    case 'ColumnRef': return arr(b.fields).map((f) => (unwrap(f)?.[0] === 'A_Star' ? '*' : names([f])[0])).join('.');
    case 'ParamRef': return `$${String(b.number ?? '?')}`;
    case 'A_Expr': {
      const op = names(b.name).at(-1) ?? '?';
      switch (b.kind) {
        case 'AEXPR_IN': {
          const list = unwrap(b.rexpr);
          const items = list?.[0] === 'List' ? arr(list[1].items).map((i) => render(i, depth + 1)).join(', ') : '…';
          return `${sub(b.lexpr)} ${op === '<>' ? 'NOT IN' : 'IN'} (${items})`;
        }
        case 'AEXPR_BETWEEN': case 'AEXPR_NOT_BETWEEN': {
          const list = unwrap(b.rexpr);
          const [low, high] = list?.[0] === 'List' ? arr(list[1].items) : [];
          return `${sub(b.lexpr)} ${b.kind === 'AEXPR_BETWEEN' ? 'BETWEEN' : 'NOT BETWEEN'} ${sub(low)} AND ${sub(high)}`;
        }
        case 'AEXPR_OP_ANY': case 'AEXPR_OP_ALL': return `${sub(b.lexpr)} ${op} ${b.kind === 'AEXPR_OP_ANY' ? 'ANY' : 'ALL'}(${render(b.rexpr, depth + 1)})`;
        case 'AEXPR_DISTINCT': return `${sub(b.lexpr)} IS DISTINCT FROM ${sub(b.rexpr)}`;
        case 'AEXPR_NOT_DISTINCT': return `${sub(b.lexpr)} IS NOT DISTINCT FROM ${sub(b.rexpr)}`;
        default:
          return b.lexpr === undefined ? `${op}${sub(b.rexpr)}` : `${sub(b.lexpr)} ${RENDER_OPS[op] ?? op} ${sub(b.rexpr)}`;
      }
    }
    case 'BoolExpr': {
      if (b.boolop === 'NOT_EXPR') return `NOT ${sub(arr(b.args)[0])}`;
      return arr(b.args).map(sub).join(b.boolop === 'AND_EXPR' ? ' AND ' : ' OR ');
    }
    case 'NullTest': return `${sub(b.arg)} ${b.nulltesttype === 'IS_NOT_NULL' ? 'IS NOT NULL' : 'IS NULL'}`;
    case 'BooleanTest': return `${sub(b.arg)} ${String(b.booltesttype ?? '').replace(/_/g, ' ')}`;
    case 'TypeCast': return `${sub(b.arg)}::${names(obj(b.typeName)?.names).at(-1) ?? '…'}`;
    case 'SubLink': return b.subLinkType === 'EXISTS_SUBLINK' ? 'EXISTS (SELECT …)' : '(SELECT …)';
    case 'CaseExpr': return 'CASE … END';
    case 'CoalesceExpr': return 'COALESCE(…)';
    case 'FuncCall': return `${names(b.funcname).join('.')}(…)`;
    default: return '…';
  }
}
