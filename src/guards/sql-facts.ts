/**
 * What the SQL guard's dialect analysers report about a query, before the options decide
 * (read_only, allow_ddl): the parsers differ (libpg-query for PostgreSQL, node-sql-parser
 * for MySQL and SQLite), the facts and the rules do not.
 */

/** read: changes nothing; write: changes data; ddl: schema, privileges, settings, sessions; dangerous: never allowed. */
export type StatementCategory = 'read' | 'write' | 'ddl' | 'dangerous';

export interface DangerousUse {
  /** The function (lowercase, no schema) or statement (`DO`, `ATTACH`, `COPY ... PROGRAM`). */
  readonly name: string;
  readonly kind: 'function' | 'statement';
  /** Why it is refused, as a clause: "delays the server, ...". */
  readonly why: string;
}

export interface Tautology {
  readonly clause: 'WHERE' | 'ON' | 'HAVING';
  /** The always-true part, rendered from the parse tree and shortened. */
  readonly condition: string;
}

export interface StatementFacts {
  /** `SELECT`, `DROP TABLE`, `EXPLAIN ANALYZE DELETE`, `PRAGMA writable_schema`. */
  readonly statement: string;
  readonly category: StatementCategory;
  /** For a statement that writes although its top is a read: `DELETE in a WITH clause`. */
  readonly writes?: string;
  /** The first dangerous function or statement met. */
  readonly dangerous?: DangerousUse;
  /** The first always-true condition met. */
  readonly tautology?: Tautology;
}

/** What a statement is, from its top node alone. */
export interface Classified {
  readonly statement: string;
  readonly category: StatementCategory;
  readonly dangerous?: DangerousUse;
}

/** What a walk over the whole statement found (the first of each). */
export interface Walk {
  dangerous?: DangerousUse;
  tautology?: Tautology;
  writes?: string;
}

/** The facts of a statement: its top, corrected by what its parts do (a DELETE in a WITH). */
export function combine(top: Classified, walk: Walk): StatementFacts {
  const dangerous = top.dangerous ?? walk.dangerous;
  const writes = top.category === 'read' ? walk.writes : undefined;
  return {
    statement: top.statement,
    category: writes === undefined ? top.category : 'write',
    ...(writes === undefined ? {} : { writes }),
    ...(dangerous === undefined ? {} : { dangerous }),
    ...(walk.tautology === undefined ? {} : { tautology: walk.tautology }),
  };
}

export type Analysis =
  | { readonly kind: 'parse-error'; readonly detail: string }
  | { readonly kind: 'multiple'; readonly statements: readonly string[] }
  | { readonly kind: 'single'; readonly facts: StatementFacts };

const TIME = 'delays the server, the instrument of time-based blind injection';
const FILES = "reaches the database server's file system";
const CODE = 'runs native code or operating-system commands on the database server';
const NETWORK = 'opens connections from the database server to other hosts';
const HIDDEN = 'runs SQL text that the guard cannot inspect';
const ADMIN = 'changes server settings or other sessions';

/** Functions refused wherever they are called, whatever the options (by bare name, any case). */
const DANGEROUS_FUNCTIONS: ReadonlyMap<string, string> = new Map([
  ...['pg_sleep', 'pg_sleep_for', 'pg_sleep_until', 'sleep', 'benchmark'].map((n) => [n, TIME] as const),
  ...[
    'pg_read_file', 'pg_read_binary_file', 'pg_ls_dir', 'pg_stat_file', 'pg_ls_logdir', 'pg_ls_waldir', 'pg_ls_tmpdir',
    'pg_ls_archive_statusdir', 'pg_file_write', 'pg_file_rename', 'pg_file_unlink', 'lo_import', 'lo_export', 'load_file',
    'readfile', 'writefile',
  ].map((n) => [n, FILES] as const),
  ...['load_extension', 'xp_cmdshell', 'sys_exec', 'sys_eval', 'fts3_tokenizer'].map((n) => [n, CODE] as const),
  ...['dblink', 'dblink_exec', 'dblink_connect', 'dblink_connect_u', 'dblink_send_query', 'dblink_open'].map((n) => [n, NETWORK] as const),
  ...['query_to_xml', 'query_to_xmlschema', 'query_to_xml_and_xmlschema'].map((n) => [n, HIDDEN] as const),
  ...['set_config', 'pg_terminate_backend', 'pg_cancel_backend', 'pg_reload_conf', 'pg_rotate_logfile', 'pg_promote'].map((n) => [n, ADMIN] as const),
]);

/** The dangerous use of a called function's name (its last part), if any. */
export function dangerousFunction(name: string): DangerousUse | undefined {
  const bare = name.toLowerCase();
  const why = DANGEROUS_FUNCTIONS.get(bare);
  return why === undefined ? undefined : { name: bare, kind: 'function', why };
}

export const DANGEROUS_STATEMENTS = {
  do: { name: 'DO', kind: 'statement', why: 'runs an anonymous code block that the guard cannot inspect' },
  load: { name: 'LOAD', kind: 'statement', why: 'loads a shared library into the database server' },
  attach: { name: 'ATTACH', kind: 'statement', why: 'opens or creates a database file on the server' },
  copyFile: { name: 'COPY with a server file', kind: 'statement', why: FILES },
  copyProgram: { name: 'COPY ... PROGRAM', kind: 'statement', why: CODE },
  outfile: { name: 'SELECT ... INTO OUTFILE', kind: 'statement', why: FILES },
  loadData: { name: 'LOAD DATA', kind: 'statement', why: FILES },
} as const satisfies Record<string, DangerousUse>;

const MAX_RENDERED = 80;

/** Shortens rendered SQL for evidence: never the whole query, never long. */
export function shorten(text: string): string {
  return text.length <= MAX_RENDERED ? text : `${text.slice(0, MAX_RENDERED - 1)}…`;
}
