/**
 * The MySQL and SQLite lexical rules, as the engines apply them, for the SQL guard.
 *
 * node-sql-parser is a grammar, not the engine, and it disagrees with the engines exactly
 * where injection lives: it reads MySQL's executable comments (`/*! ... *\/`, which MySQL
 * runs) as nothing, `--1` as a comment (MySQL needs a space after `--`), `||` as
 * concatenation (MySQL's default OR), and SQLite's `'a\'` as an unfinished string (SQLite
 * has no backslash escapes). So this scanner reads strings, quoted names and comments with
 * the engine's rules first: it splits the statements where the engine would, refuses what
 * no parser here can judge, and hands the parser a text with comments removed and those
 * spellings made unambiguous.
 */

export type LexDialect = 'mysql' | 'sqlite';

export interface Token {
  readonly kind: 'word' | 'string' | 'name' | 'param' | 'punct';
  readonly text: string;
  /** Offset in the statement's rewritten text. */
  readonly at: number;
}

export interface LexedStatement {
  /** The statement as the parser gets it: comments replaced by a space, spellings made unambiguous. */
  readonly text: string;
  readonly tokens: readonly Token[];
}

export type LexResult =
  | { readonly ok: true; readonly statements: readonly LexedStatement[] }
  | { readonly ok: false; readonly error: string };

const WORD = /[A-Za-z0-9_$\u0080-\uffff]/;
const SPACE = /[ \t\n\r\f\v]/;

export function lexStatements(sql: string, dialect: LexDialect): LexResult {
  const mysql = dialect === 'mysql';
  const statements: LexedStatement[] = [];
  let text = '';
  let tokens: Token[] = [];
  const token = (kind: Token['kind'], emitted: string): void => {
    tokens.push({ kind, text: emitted, at: text.length });
    text += emitted;
  };
  const flush = (): void => {
    if (tokens.length > 0) statements.push({ text, tokens });
    text = '';
    tokens = [];
  };

  let i = 0;
  while (i < sql.length) {
    const c = sql[i]!;
    const next = sql[i + 1];
    if (SPACE.test(c)) {
      text += c;
      i++;
    }
    else if (c === ';') {
      flush();
      i++;
    }
    else if (c === "'" || (c === '"' && mysql)) {
      const end = quoted(sql, i, c, mysql);
      if (end < 0) return { ok: false, error: 'unterminated string' };
      // SQLite takes a backslash literally; the parser would read it as an escape.
      token('string', mysql ? sql.slice(i, end) : sql.slice(i, end).replace(/\\/g, '\\\\'));
      i = end;
    }
    else if (c === '"' || c === '`' || (c === '[' && !mysql)) {
      const end = c === '[' ? sql.indexOf(']', i + 1) + 1 : quoted(sql, i, c, false);
      if (end <= 0) return { ok: false, error: 'unterminated quoted name' };
      const name = sql.slice(i, end);
      if (!mysql && name.includes('\\')) return { ok: false, error: 'a backslash in a quoted name' };
      // SQLite's [name] is unknown to the parser; "name" means the same.
      token('name', c === '[' ? `"${name.slice(1, -1).replace(/"/g, '""')}"` : name);
      i = end;
    }
    else if (c === '#') {
      // MySQL: a comment to the end of the line. SQLite: a `#name` parameter the parser would
      // take for a comment, so it is refused rather than misread.
      if (!mysql) return { ok: false, error: "'#' (SQLite reads a parameter where the parser sees a comment)" };
      i = lineEnd(sql, i);
      text += ' ';
    }
    else if (c === '-' && next === '-') {
      const after = sql.charCodeAt(i + 2);
      // MySQL: `--` opens a comment only before a space, a control character or the end.
      if (!mysql || Number.isNaN(after) || after <= 0x20 || after === 0x7f) {
        i = lineEnd(sql, i);
        text += ' ';
      }
      else {
        token('punct', '- ');
        i++;
      }
    }
    else if (c === '/' && next === '*') {
      if (mysql && (sql[i + 2] === '!' || (sql[i + 2] === 'M' && sql[i + 3] === '!'))) {
        return { ok: false, error: 'an executable comment /*! ... */ (MySQL runs its content)' };
      }
      const close = sql.indexOf('*/', i + 2);
      if (close < 0 && mysql) return { ok: false, error: 'unterminated comment' };
      i = close < 0 ? sql.length : close + 2;
      text += ' ';
    }
    else if (c === ':' && next === ':') {
      return { ok: false, error: "'::' is not an operator in this dialect" };
    }
    else if (mysql && (c === '|' || c === '&') && next === c) {
      // MySQL's default SQL mode: `||` is OR and `&&` is AND, with their precedence.
      token('word', c === '|' ? ' OR ' : ' AND ');
      i += 2;
    }
    else if (c === '?') {
      // SQLite's numbered `?NNN` is a plain `?` to the parser (it knows only the bare one).
      let end = i + 1;
      if (!mysql) while (end < sql.length && /[0-9]/.test(sql[end]!)) end++;
      token('param', '?');
      i = end;
    }
    else if (WORD.test(c)) {
      let end = i + 1;
      while (end < sql.length && WORD.test(sql[end]!)) end++;
      token('word', sql.slice(i, end));
      i = end;
    }
    else {
      token('punct', c);
      i++;
    }
  }
  flush();
  return { ok: true, statements };
}

/** The offset after a quoted run starting at `start`, or -1: doubled quotes, and backslash escapes where they apply. */
function quoted(sql: string, start: number, quote: string, backslash: boolean): number {
  let i = start + 1;
  while (i < sql.length) {
    const c = sql[i]!;
    if (backslash && c === '\\') i += 2;
    else if (c === quote) {
      if (sql[i + 1] === quote) i += 2;
      else return i + 1;
    }
    else i++;
  }
  return -1;
}

function lineEnd(sql: string, from: number): number {
  const end = sql.indexOf('\n', from);
  return end < 0 ? sql.length : end;
}
