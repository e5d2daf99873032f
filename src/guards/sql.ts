/**
 * The SQL argument guard (seed 002 "Security Policies"): judges a query a tool will hand to a
 * database, parsed by a real parser for the dialect, never by keyword matching on the text.
 * A read-only tool (the default) runs one statement that changes nothing; a filename or a
 * sentence that merely contains "select" or "drop" is a string, not a statement.
 *
 * Rules, in the order they are checked (the first that applies is reported):
 * - `sql.parse-error`: not one or more complete statements in the dialect (fail closed), or
 *   not a query at all. Executable comments (MySQL `/*! ... *\/`) are refused here.
 * - `sql.multiple-statements`: more than one statement (a trailing `;` is still one).
 * - `sql.ddl`: schema, privileges, settings, sessions (CREATE, ALTER, DROP, TRUNCATE, GRANT,
 *   SET, VACUUM, ...), unless `allowDdl`.
 * - `sql.write`: with `readOnly`, anything that changes data: INSERT, UPDATE, DELETE, MERGE,
 *   REPLACE, SELECT INTO, COPY FROM or to a file, a data-modifying CTE, EXPLAIN ANALYZE of a
 *   write, CALL, LOCK.
 * - `sql.dangerous-function`: time-based, file, network, code or admin functions (pg_sleep,
 *   load_file, dblink, ...) anywhere in the statement, and statements of that kind (DO,
 *   LOAD, ATTACH, COPY ... PROGRAM), whatever the options say.
 * - `sql.tautology`: a WHERE, ON or HAVING condition that literals alone make always true,
 *   or an OR in it with such a branch (`id = 5 OR 1=1`).
 *
 * Bound parameters (`{ query, params }`) are values: they are never parsed as SQL.
 *
 * @example
 * const guard = sqlGuard({ dialect: 'postgresql' });
 * guard.check('SELECT * FROM users WHERE id = $1', call);        // undefined: allowed
 * guard.check('SELECT 1; DROP TABLE users', call)?.rule;        // 'sql.multiple-statements'
 */
import { finding, GuardConfigError, type ArgumentGuard, type GuardCall, type GuardResult } from './guard.ts';
import type { Analysis, StatementFacts } from './sql-facts.ts';
import type { SqlDialect } from './sql-fold.ts';
import { mysqlSqliteAnalyser } from './sql-mysql-sqlite.ts';
import { analysePostgres } from './sql-postgresql.ts';

export type { SqlDialect } from './sql-fold.ts';

export interface SqlGuardOptions {
  /** Refuse statements that change data (default true). */
  readonly readOnly?: boolean;
  /** Accept schema, privilege and administration statements; needs `readOnly: false` (default false). */
  readonly allowDdl?: boolean;
  /** The database's SQL dialect (default `postgresql`). */
  readonly dialect?: SqlDialect;
}

const DIALECTS: readonly SqlDialect[] = ['postgresql', 'mysql', 'sqlite'];
const OPTION_KEYS = new Set(['readOnly', 'allowDdl', 'dialect']);
const DIALECT_NAMES: Readonly<Record<SqlDialect, string>> = { postgresql: 'PostgreSQL', mysql: 'MySQL', sqlite: 'SQLite' };
/** Longer queries are refused rather than parsed: bounds the time one call can take. */
const MAX_QUERY_LENGTH = 100_000;
// A NUL ends the text for some drivers and not for others; a lone surrogate has no UTF-8.
const LONE_SURROGATE = /\p{Cs}/u;

export function sqlGuard(options: SqlGuardOptions = {}): ArgumentGuard {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) throw new GuardConfigError('the sql guard options must be a mapping');
  for (const key of Object.keys(options)) {
    if (!OPTION_KEYS.has(key)) throw new GuardConfigError(`unknown sql guard option "${key}" (expected read_only, allow_ddl, dialect)`);
  }
  const readOnly = options.readOnly ?? true;
  const allowDdl = options.allowDdl ?? false;
  const dialect = options.dialect ?? 'postgresql';
  if (typeof readOnly !== 'boolean') throw new GuardConfigError('read_only must be true or false');
  if (typeof allowDdl !== 'boolean') throw new GuardConfigError('allow_ddl must be true or false');
  if (!DIALECTS.includes(dialect)) throw new GuardConfigError(`unknown SQL dialect "${String(dialect)}" (expected ${DIALECTS.join(', ')})`);
  // DDL changes the database as much as a write does (DROP TABLE deletes every row).
  if (allowDdl && readOnly) throw new GuardConfigError('allow_ddl: true needs read_only: false (DDL changes the database)');

  const analyse = dialect === 'postgresql' ? analysePostgres : mysqlSqliteAnalyser(dialect);
  const name = DIALECT_NAMES[dialect];

  function judge(facts: StatementFacts): GuardResult {
    const { statement } = facts;
    if (facts.category === 'ddl' && !allowDdl) {
      return finding('sql.ddl', `${statement} is a schema, privilege or administration statement, which this tool does not allow; ask a database administrator to run it.`, { statement });
    }
    if (facts.category === 'write' && readOnly) {
      const what = facts.writes === undefined ? statement : `${statement} with ${facts.writes}`;
      return finding('sql.write', `${what} changes data, but this tool is read-only; send a query that only reads.`, { statement, ...(facts.writes === undefined ? {} : { writes: facts.writes }) });
    }
    if (facts.dangerous !== undefined) {
      const { name: fn, kind, why } = facts.dangerous;
      const label = kind === 'function' ? `${fn}()` : fn;
      return finding('sql.dangerous-function', `The query uses ${label}, which ${why}; it is never allowed through this tool.`, kind === 'function' ? { function: fn, statement } : { statement: fn });
    }
    if (facts.tautology !== undefined) {
      const { clause, condition } = facts.tautology;
      return finding('sql.tautology', `The ${clause} condition ${condition} is decided by literals alone and lets every row through (the shape of an injected OR 1=1); pass user input as a bound parameter.`, { clause, condition, statement });
    }
    return undefined;
  }

  function verdict(analysis: Analysis): GuardResult {
    switch (analysis.kind) {
      case 'parse-error':
        return finding('sql.parse-error', `The guard cannot parse the query as ${name} (${analysis.detail}), so it refuses it; send one complete ${name} statement.`, { dialect, error: analysis.detail });
      case 'multiple':
        return finding('sql.multiple-statements', `The query holds ${analysis.statements.length} statements (${analysis.statements.join('; ')}); send one statement per call.`, { statements: analysis.statements });
      case 'single':
        return judge(analysis.facts);
    }
  }

  return {
    kind: 'sql',
    check: function sqlCheck(value: unknown, _call: GuardCall): GuardResult {
      const query = queryText(value);
      if (typeof query !== 'string') return query;
      try {
        return verdict(analyse(query));
      }
      catch (error) {
        // A parser that throws where it should have reported: refuse, never pass.
        return finding('sql.parse-error', `The ${name} parser failed on the query, so it cannot be judged; simplify the query.`, { dialect, error: String((error as Error)?.message ?? error).slice(0, 120) });
      }
    },
  };
}

/** The SQL text of a query argument: a string, or `{ query, params }` whose params are bound values. */
function queryText(value: unknown): string | GuardResult {
  let query = value;
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const keys = Object.keys(value);
    const params = (value as { params?: unknown }).params;
    if (!keys.includes('query') || keys.some((k) => k !== 'query' && k !== 'params') || (params !== undefined && (typeof params !== 'object' || params === null))) {
      return finding('sql.parse-error', 'The argument is neither a query string nor { query, params }; send the SQL text as the query.', { received: `object with ${keys.map((k) => `"${k}"`).join(', ') || 'no keys'}` });
    }
    query = (value as { query: unknown }).query;
  }
  if (typeof query !== 'string') {
    return finding('sql.parse-error', 'The argument is not SQL text; send the query as a string.', { received: query === null ? 'null' : Array.isArray(query) ? 'array' : typeof query });
  }
  if (query.length > MAX_QUERY_LENGTH) {
    return finding('sql.parse-error', `The query is longer than ${MAX_QUERY_LENGTH} characters, more than the guard parses; send a shorter query.`, { length: query.length });
  }
  const nul = query.includes('\0');
  if (nul || LONE_SURROGATE.test(query)) {
    return finding('sql.parse-error', 'The query contains a NUL character or invalid Unicode, which drivers send inconsistently; remove it.', { character: nul ? 'NUL' : 'lone surrogate' });
  }
  return query;
}
