/**
 * The SQL guard against its corpus (test/guards/corpus/sql.yaml), plus property tests: a
 * refused query re-spelled the ways its dialect allows (keyword case, whitespace and comments
 * between tokens, quoted identifiers, extra parentheses) is still refused by the same rule,
 * and an allowed query stays allowed; and no input, however broken, makes `check` throw.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GuardConfigError, type GuardFinding } from '../../src/guards/guard.ts';
import { sqlGuard, type SqlDialect, type SqlGuardOptions } from '../../src/guards/sql.ts';
import { loadCorpus, type CorpusCase } from './corpus.ts';

const corpus = loadCorpus('sql');
const call = { tool: 'query', argument: 'sql' };
const RULES = ['sql.parse-error', 'sql.multiple-statements', 'sql.ddl', 'sql.write', 'sql.dangerous-function', 'sql.tautology'];

const check = (options: SqlGuardOptions, input: unknown): GuardFinding | undefined => {
  const result = sqlGuard(options).check(input, call);
  if (result instanceof Promise) throw new Error('the sql guard must answer synchronously');
  return result;
};

function expectVerdict(c: CorpusCase, result: GuardFinding | undefined): void {
  if (c.verdict === 'allow') expect(result, `${c.name}: ${JSON.stringify(result)}`).toBeUndefined();
  else {
    expect(result, c.name).toBeDefined();
    if (c.rule !== undefined) expect(result!.rule, `${c.name}: ${result!.reason}`).toBe(c.rule);
  }
}

describe('sql guard corpus', () => {
  it.each(corpus.cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    expectVerdict(c, check(c.options as SqlGuardOptions, c.input));
  });

  it.each(corpus.disputed.map((c) => [c.name, c] as const))('still disputed: %s', (_name, c) => {
    // What is certain: never allowed. A combination of options the factory refuses is refused
    // at load, before any query could be judged under it.
    expect(c.verdict).toBe('deny');
    let guard;
    try {
      guard = sqlGuard(c.options as SqlGuardOptions);
    }
    catch (error) {
      expect(error).toBeInstanceOf(GuardConfigError);
      return;
    }
    expectVerdict(c, guard.check(c.input, call) as GuardFinding | undefined);
  });

  it('covers every rule and every dialect, allowed and refused', () => {
    const rules = new Set(corpus.cases.map((c) => c.rule ?? 'allow'));
    expect([...rules].sort()).toEqual(['allow', ...RULES].sort());
    const dialects = new Set(corpus.cases.map((c) => `${String(c.options.dialect)}:${c.verdict}`));
    expect(dialects.size).toBe(6);
  });

  it('keeps evidence and reasons short: never the whole of a long query', () => {
    for (const c of corpus.cases) {
      const query = typeof c.input === 'string' ? c.input : (c.input as { query: string }).query;
      const result = check(c.options as SqlGuardOptions, c.input);
      if (result === undefined || query.length <= 80) continue;
      expect(JSON.stringify(result.evidence ?? {}), c.name).not.toContain(JSON.stringify(query).slice(1, -1));
      expect(result.reason, c.name).not.toContain(query);
    }
  });

  it('gives one actionable sentence as the reason', () => {
    for (const c of corpus.cases.filter((k) => k.verdict === 'deny')) {
      const { reason } = check(c.options as SqlGuardOptions, c.input)!;
      expect(reason, c.name).toMatch(/^[A-Z].*[.;].*\.$/s);
    }
  });
});

describe('sql guard options', () => {
  it.each([
    ['an unknown option', { readonly: true }, /unknown sql guard option "readonly"/],
    ['a non-boolean read_only', { readOnly: 'yes' }, /read_only must be true or false/],
    ['a non-boolean allow_ddl', { allowDdl: 1 }, /allow_ddl must be true or false/],
    ['an unknown dialect', { dialect: 'oracle' }, /unknown SQL dialect "oracle"/],
    ['allow_ddl while read-only (the default)', { allowDdl: true }, /allow_ddl: true needs read_only: false/],
    ['allow_ddl with read_only true', { readOnly: true, allowDdl: true }, /allow_ddl: true needs read_only: false/],
    ['options that are not a mapping', null, /must be a mapping/],
    ['options that are a list', [], /must be a mapping/],
  ])('refuses %s', (_what, options, message) => {
    expect(() => sqlGuard(options as never)).toThrow(GuardConfigError);
    expect(() => sqlGuard(options as never)).toThrow(message);
  });

  it('accepts every valid combination, with read-only PostgreSQL as the default', () => {
    expect(sqlGuard().kind).toBe('sql');
    expect(check({}, 'DELETE FROM t')?.rule).toBe('sql.write');
    expect(check({}, "SELECT `id` FROM t")?.rule).toBe('sql.parse-error');
    for (const dialect of ['postgresql', 'mysql', 'sqlite'] as const) {
      expect(() => sqlGuard({ dialect, readOnly: false, allowDdl: true })).not.toThrow();
      expect(() => sqlGuard({ dialect, readOnly: false })).not.toThrow();
    }
  });
});

describe('sql guard input shapes', () => {
  it.each([
    ['a number', 42],
    ['null', null],
    ['undefined', undefined],
    ['a list', ['SELECT 1']],
    ['an object without query', { sql: 'SELECT 1' }],
    ['an object with an unknown key next to query', { query: 'SELECT 1', sql: 'DROP TABLE users' }],
    ['a query that is not text', { query: 7 }],
    ['params that are not values', { query: 'SELECT $1', params: 'x' }],
  ])('refuses %s as sql.parse-error (fail closed)', (_what, input) => {
    expect(check({}, input)?.rule).toBe('sql.parse-error');
  });

  it('accepts { query } without params and named params', () => {
    expect(check({}, { query: 'SELECT 1' })).toBeUndefined();
    expect(check({ dialect: 'sqlite' }, { query: 'SELECT * FROM t WHERE id = :id', params: { id: "1 OR 1=1" } })).toBeUndefined();
  });

  it('refuses NUL characters, lone surrogates and oversized queries', () => {
    expect(check({}, 'SELECT 1\u0000; DROP TABLE users')?.evidence).toEqual({ character: 'NUL' });
    expect(check({}, "SELECT '\uD800'")?.evidence).toEqual({ character: 'lone surrogate' });
    expect(check({}, `SELECT '${'x'.repeat(100_001)}'`)?.rule).toBe('sql.parse-error');
    expect(check({}, "SELECT '😀'")).toBeUndefined();
  });
});

describe('sql guard details', () => {
  const rule = (dialect: SqlDialect, query: string, options: SqlGuardOptions = {}) => check({ dialect, ...options }, query)?.rule;

  it('folds literals with each dialect’s coercions', () => {
    // SQLite compares an integer and a text without converting: 1 = '1' is false.
    expect(rule('sqlite', "SELECT * FROM t WHERE id = 5 OR 1 = '1'")).toBeUndefined();
    expect(rule('mysql', "SELECT * FROM t WHERE id = 5 OR 1 = '1'")).toBe('sql.tautology');
    // MySQL's default collation ignores case; SQLite's and PostgreSQL's do not.
    expect(rule('mysql', "SELECT * FROM t WHERE id = 5 OR 'a' = 'A'")).toBe('sql.tautology');
    expect(rule('sqlite', "SELECT * FROM t WHERE id = 5 OR 'a' = 'A'")).toBeUndefined();
    expect(rule('postgresql', "SELECT * FROM t WHERE id = 5 OR 'a' = 'A'")).toBeUndefined();
    // MySQL reads a string's numeric prefix: 'abc' = 0 is true.
    expect(rule('mysql', "SELECT * FROM t WHERE id = 5 OR 'abc' = 0")).toBe('sql.tautology');
    // Integer division, NULL never true, IN, BETWEEN, LIKE, casts, CASE, COALESCE.
    expect(rule('postgresql', 'SELECT * FROM t WHERE id = 5 OR 7 / 2 = 3')).toBe('sql.tautology');
    expect(rule('postgresql', 'SELECT * FROM t WHERE id = 5 OR NULL')).toBeUndefined();
    expect(rule('postgresql', 'SELECT * FROM t WHERE id = 5 OR 3 NOT IN (1, 2)')).toBe('sql.tautology');
    expect(rule('postgresql', "SELECT * FROM t WHERE id = 5 OR 'abc' LIKE 'a%'")).toBe('sql.tautology');
    expect(rule('postgresql', "SELECT * FROM t WHERE id = 5 OR 'abc' LIKE 'b%'")).toBeUndefined();
    expect(rule('postgresql', "SELECT * FROM t WHERE id = 5 OR '1'::int = 1")).toBe('sql.tautology');
    expect(rule('postgresql', 'SELECT * FROM t WHERE id = 5 OR CASE WHEN 1 = 1 THEN TRUE END')).toBe('sql.tautology');
    expect(rule('postgresql', 'SELECT * FROM t WHERE id = 5 OR COALESCE(NULL, TRUE)')).toBe('sql.tautology');
    expect(rule('postgresql', 'SELECT * FROM t WHERE id = 5 OR NOT EXISTS (SELECT 1)')).toBeUndefined();
    expect(rule('postgresql', 'SELECT * FROM t WHERE id = 5 OR EXISTS (SELECT 1 FROM u)')).toBeUndefined();
  });

  it('names the always-true part in the evidence', () => {
    expect(check({}, 'SELECT * FROM users WHERE id = 5 OR 1 = 1')?.evidence).toEqual({ clause: 'WHERE', condition: '1 = 1', statement: 'SELECT' });
    expect(check({}, "SELECT * FROM a JOIN b ON 'x' = 'x'")?.evidence).toMatchObject({ clause: 'ON', condition: "'x' = 'x'" });
  });

  it('reads MySQL comments as MySQL does', () => {
    // `--1` is minus minus one in MySQL, not a comment: the OR 1=1 after it is live.
    expect(rule('mysql', 'SELECT * FROM t WHERE id = 1 --1 OR 1=1')).toBe('sql.tautology');
    expect(rule('mysql', 'SELECT * FROM t WHERE id = 1 -- OR 1=1')).toBeUndefined();
    expect(rule('mysql', "SELECT * FROM t WHERE name = 'x' # OR 1=1")).toBeUndefined();
    expect(rule('mysql', 'SELECT 1 /*!50000 , SLEEP(5) */')).toBe('sql.parse-error');
    expect(rule('mysql', "SELECT '/*!50000 not a comment */' AS s")).toBeUndefined();
    expect(rule('mysql', 'SELECT * FROM t WHERE id = 1 && 1=1')).toBeUndefined();
    expect(rule('mysql', 'SELECT SLEEP/**/(5)')).toBe('sql.dangerous-function');
  });

  it('reads SQLite strings and names as SQLite does', () => {
    // No backslash escapes in SQLite: the string ends at the second quote.
    expect(rule('sqlite', "SELECT 'a\\';DROP TABLE users;--' AS s")).toBe('sql.multiple-statements');
    expect(rule('sqlite', "SELECT 'a\\' AS s")).toBeUndefined();
    expect(rule('sqlite', 'SELECT [id] FROM [my table]')).toBeUndefined();
    expect(rule('sqlite', 'SELECT 1 /* open to the end')).toBeUndefined();
    expect(rule('sqlite', 'SELECT * FROM t WHERE id = 1 # not a comment in SQLite')).toBe('sql.parse-error');
    expect(rule('sqlite', 'EXPLAIN QUERY PLAN DELETE FROM t')).toBeUndefined();
    expect(rule('sqlite', 'EXPLAIN SELECT load_extension(1)')).toBe('sql.dangerous-function');
    expect(rule('sqlite', 'PRAGMA journal_mode = DELETE')).toBe('sql.ddl');
  });

  it('judges what EXPLAIN ANALYZE, COPY and CTEs would run (PostgreSQL)', () => {
    expect(rule('postgresql', 'EXPLAIN (ANALYZE false) DELETE FROM t')).toBeUndefined();
    expect(rule('postgresql', 'EXPLAIN (ANALYZE, BUFFERS) UPDATE t SET a = 1')).toBe('sql.write');
    expect(rule('postgresql', 'COPY (DELETE FROM t RETURNING *) TO STDOUT')).toBe('sql.write');
    expect(rule('postgresql', 'COPY t FROM STDIN', { readOnly: false })).toBeUndefined();
    expect(rule('postgresql', "COPY t TO '/tmp/t.csv'", { readOnly: false })).toBe('sql.dangerous-function');
    expect(rule('postgresql', 'SELECT * FROM (WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d) s')).toBe('sql.write');
    expect(rule('postgresql', "SELECT query_to_xml('SELECT pg_sleep(9)', true, true, '')")).toBe('sql.dangerous-function');
    expect(rule('postgresql', 'SELECT U&"pg\\005fsleep"(5)')).toBe('sql.dangerous-function');
    expect(rule('postgresql', 'SET statement_timeout = 0', { readOnly: false })).toBe('sql.ddl');
    expect(rule('postgresql', "LOAD 'plugin'", { readOnly: false, allowDdl: true })).toBe('sql.dangerous-function');
  });
});

// ---------------------------------------------------------------------------- re-spellings

/**
 * A query as tokens, each boundary a place where the dialect accepts whitespace or a comment:
 * `{name}` is an identifier (may be quoted), `⟨ … ⟩` a span that may be parenthesised,
 * `'…'` a string (never touched), anything else a keyword, operator or literal.
 */
type Piece = { readonly t: 'word' | 'ident' | 'string' | 'open' | 'close'; readonly text: string };

function pieces(query: string): Piece[] {
  return (query.match(/'(?:[^']|'')*'|\{[^}]+\}|\S+/g) ?? []).map((text): Piece => {
    if (text.startsWith("'")) return { t: 'string', text };
    if (text.startsWith('{')) return { t: 'ident', text: text.slice(1, -1) };
    if (text === '⟨') return { t: 'open', text };
    if (text === '⟩') return { t: 'close', text };
    return { t: 'word', text };
  });
}

const SEPARATORS: Readonly<Record<SqlDialect, readonly string[]>> = {
  postgresql: [' ', '  ', '\n', '\t', ' /* c */ ', '/**/', '-- c\n', ' /* a /* nested */ b */ '],
  mysql: [' ', '  ', '\n', '\t', ' /* c */ ', '/**/', '-- c\n', '# c\n'],
  sqlite: [' ', '  ', '\n', '\t', ' /* c */ ', '/**/', '-- c\n'],
};
const CASES = ['as-is', 'lower', 'upper', 'alternate'] as const;

function recase(text: string, how: (typeof CASES)[number]): string {
  if (how === 'lower') return text.toLowerCase();
  if (how === 'upper') return text.toUpperCase();
  if (how === 'alternate') return [...text].map((c, i) => (i % 2 === 0 ? c.toUpperCase() : c.toLowerCase())).join('');
  return text;
}

function quote(name: string, dialect: SqlDialect, style: number): string {
  const parts = name.split('.');
  if (dialect === 'mysql') return parts.map((p) => `\`${p}\``).join('.');
  if (dialect === 'sqlite') return parts.map((p) => [`"${p}"`, `\`${p}\``, `[${p}]`][style % 3]!).join('.');
  return parts.map((p) => `"${p}"`).join('.');
}

/** Every re-spelling of a query the dialect reads the same. */
function respellings(query: string, dialect: SqlDialect): fc.Arbitrary<string> {
  const ps = pieces(query);
  const n = ps.length;
  return fc
    .record({
      seps: fc.array(fc.constantFrom(...SEPARATORS[dialect]), { minLength: n, maxLength: n }),
      cases: fc.array(fc.constantFrom(...CASES), { minLength: n, maxLength: n }),
      quoted: fc.array(fc.nat(5), { minLength: n, maxLength: n }),
      parens: fc.array(fc.nat(2), { minLength: n, maxLength: n }),
    })
    .map(({ seps, cases, quoted, parens }) => {
      const opened: number[] = [];
      let out = '';
      ps.forEach((p, i) => {
        let text: string;
        if (p.t === 'string') text = p.text;
        else if (p.t === 'open') {
          opened.push(parens[i]!);
          text = '('.repeat(parens[i]!);
        }
        else if (p.t === 'close') text = ')'.repeat(opened.pop() ?? 0);
        else if (p.t === 'ident' && quoted[i]! % 2 === 1) text = quote(p.text, dialect, quoted[i]!);
        else text = recase(p.text, cases[i]!);
        // `-` then `-- c` would make `--- c`: a comment opener needs its own boundary.
        const sep = i === 0 ? '' : /[-/*]$/.test(out) && /^[-/#]/.test(seps[i]!) ? ` ${seps[i]!}` : seps[i]!;
        out += sep + text;
      });
      return out;
    });
}

const BAD: ReadonlyArray<readonly [SqlDialect, string, string]> = [
  ['postgresql', 'SELECT * FROM {users} WHERE ⟨ {id} = 5 ⟩ OR ⟨ 1 = 1 ⟩', 'sql.tautology'],
  ['postgresql', "SELECT * FROM {users} WHERE {name} = 'x' OR ⟨ 'a' = 'a' ⟩", 'sql.tautology'],
  ['postgresql', 'SELECT * FROM {users} WHERE {id} = 5 OR ⟨ 3 - 2 = 1 ⟩', 'sql.tautology'],
  ['postgresql', 'SELECT * FROM {users} WHERE {id} IN ( SELECT {user_id} FROM {orders} WHERE ⟨ 1 = 1 ⟩ )', 'sql.tautology'],
  ['postgresql', 'SELECT * FROM {users} {u} JOIN {orders} {o} ON ⟨ TRUE ⟩', 'sql.tautology'],
  ['postgresql', 'SELECT 1 ; DROP TABLE {users}', 'sql.multiple-statements'],
  ['postgresql', 'DROP TABLE IF EXISTS {users} CASCADE', 'sql.ddl'],
  ['postgresql', 'DELETE FROM {users} WHERE ⟨ {id} = 1 ⟩', 'sql.write'],
  ['postgresql', 'WITH {d} AS ( DELETE FROM {users} RETURNING * ) SELECT * FROM {d}', 'sql.write'],
  ['postgresql', 'EXPLAIN ANALYZE DELETE FROM {users}', 'sql.write'],
  ['postgresql', 'SELECT pg_sleep ( 10 )', 'sql.dangerous-function'],
  ['postgresql', 'SELECT * FROM {users} WHERE {id} = 1 AND ⟨ ( SELECT pg_sleep ( 5 ) ) IS NULL ⟩', 'sql.dangerous-function'],
  ['mysql', 'SELECT * FROM {users} WHERE {id} = 5 OR ⟨ 1 ⟩', 'sql.tautology'],
  ['mysql', 'SELECT * FROM {users} WHERE {id} = 5 || ⟨ 1 = 1 ⟩', 'sql.tautology'],
  ['mysql', "SELECT IF ( SUBSTRING ( user ( ) , 1 , 1 ) = 'r' , SLEEP ( 5 ) , 0 )", 'sql.dangerous-function'],
  ['mysql', "REPLACE INTO {users} VALUES ( 1 , 'x' )", 'sql.write'],
  ['mysql', 'SELECT 1 ; SELECT 2', 'sql.multiple-statements'],
  ['mysql', 'CREATE TABLE {t} ( {id} INT )', 'sql.ddl'],
  ['sqlite', "SELECT load_extension ( '/tmp/x.so' )", 'sql.dangerous-function'],
  ['sqlite', 'SELECT * FROM {users} WHERE {id} = 5 OR ⟨ 1 ⟩', 'sql.tautology'],
  ['sqlite', "INSERT OR REPLACE INTO {users} VALUES ( 1 , 'x' )", 'sql.write'],
  ['sqlite', 'CREATE TABLE {t} ( {id} INTEGER PRIMARY KEY )', 'sql.ddl'],
];

const GOOD: ReadonlyArray<readonly [SqlDialect, string]> = [
  ['postgresql', 'SELECT {id} , {name} FROM {users} WHERE ⟨ {id} = 42 ⟩'],
  ['postgresql', 'SELECT * FROM {users} WHERE ⟨ {id} = 1 ⟩ OR ⟨ 1 = 2 ⟩'],
  ['postgresql', "SELECT * FROM {notes} WHERE {body} = 'drop table users; select 1'"],
  ['postgresql', 'SELECT {u.name} , {o.total} FROM {users} {u} JOIN {orders} {o} ON ⟨ {o.user_id} = {u.id} ⟩'],
  ['postgresql', 'SELECT {dept} , count ( * ) FROM {employees} GROUP BY {dept} HAVING ⟨ count ( * ) > 5 ⟩'],
  ['postgresql', 'SELECT * FROM {users} WHERE ⟨ 1 = 1 ⟩ AND ⟨ {id} = $1 ⟩'],
  ['postgresql', 'SELECT {name} FROM {customers} UNION SELECT {name} FROM {suppliers}'],
  ['postgresql', 'EXPLAIN SELECT * FROM {users} WHERE ⟨ {id} = 1 ⟩'],
  ['mysql', 'SELECT {id} FROM {users} WHERE ⟨ {id} = 1 ⟩ LIMIT 5 , 10'],
  ['mysql', "SELECT * FROM {users} WHERE {name} = ? AND ⟨ {note} LIKE '%x%' ⟩"],
  ['mysql', 'SHOW TABLES'],
  ['sqlite', 'SELECT * FROM {users} WHERE ⟨ {id} = ? ⟩ LIMIT 10'],
  ['sqlite', 'PRAGMA table_info ( {users} )'],
  ['sqlite', "SELECT * FROM {users} WHERE {id} = 5 OR ⟨ 1 = '1' ⟩"],
];

describe('sql guard re-spellings', () => {
  it.each(BAD.map(([dialect, query, expected]) => [`${dialect}: ${query}`, dialect, query, expected] as const))(
    'never allows a re-spelled %s',
    (_label, dialect, query, expected) => {
      const guard = sqlGuard({ dialect });
      fc.assert(fc.property(respellings(query, dialect), (spelled) => {
        const result = guard.check(spelled, call) as GuardFinding | undefined;
        expect(result?.rule, spelled).toBe(expected);
      }), { numRuns: 150 });
    },
  );

  it.each(GOOD.map(([dialect, query]) => [`${dialect}: ${query}`, dialect, query] as const))(
    'keeps allowing a re-spelled %s',
    (_label, dialect, query) => {
      const guard = sqlGuard({ dialect });
      fc.assert(fc.property(respellings(query, dialect), (spelled) => {
        expect(guard.check(spelled, call), spelled).toBeUndefined();
      }), { numRuns: 150 });
    },
  );
});

describe('sql guard robustness', () => {
  const fragments = [
    'SELECT', '*', 'FROM', 't', 'WHERE', 'id', '=', '1', "'", '"', '`', '[', ']', '--', '/*', '*/', '/*!', '#', ';', '(', ')',
    'OR', 'AND', 'NOT', 'pg_sleep', 'sleep', '$$', '$1', '?', '?1', ':x', '::', '\\', "E'", 'UNION', 'WITH', 'DELETE', 'PRAGMA', 'EXPLAIN', '||', '&&', 'IN', 'LIKE', '%',
  ];

  it.each(['postgresql', 'mysql', 'sqlite'] as const)('never throws and only reports known rules (%s)', (dialect) => {
    const guard = sqlGuard({ dialect });
    const junk = fc.oneof(
      fc.string({ unit: 'grapheme', maxLength: 60 }),
      fc.array(fc.constantFrom(...fragments), { maxLength: 25 }).chain((words) => fc.array(fc.constantFrom(' ', '', '\n'), { minLength: words.length, maxLength: words.length }).map((seps) => words.map((w, i) => seps[i] + w).join(''))),
    );
    fc.assert(fc.property(junk, (query) => {
      const result = guard.check(query, call) as GuardFinding | undefined;
      if (result !== undefined) expect(RULES).toContain(result.rule);
    }), { numRuns: 400 });
  });
});
