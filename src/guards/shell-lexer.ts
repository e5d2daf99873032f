/**
 * A POSIX sh lexer for judging a command line, never for running one (seed 002 "Process
 * Policy": shell execution controls). It splits a line into words and operators the way
 * `sh -c` would (bash extensions included where they change the split: `$'…'`, `<(…)`,
 * `|&`, `&>`), removes quotes, and marks every character of a word with how it came to be:
 * typed bare, protected by quoting, or produced by an expansion the guard cannot evaluate.
 *
 * Two results stop the lexer early because they decide the verdict on their own: a command
 * substitution (`$(…)`, backticks, `<(…)`, `>(…)`, also inside double quotes and unquoted
 * here-documents). Where bash's own reading is subtle (quotes inside `${…}`, `$((` that may
 * be a subshell), the lexer takes the reading that finds more, or reports the line as
 * unjudgeable: it may refuse a line a shell would treat as harmless, never the reverse.
 */

/** Typed bare (metacharacters count). */
export const PLAIN = 0;
/** Protected by quotes or a backslash: a literal character. */
export const QUOTED = 1;
/** Produced by an unquoted expansion: unknown, and subject to field splitting and globbing. */
export const EXPANDED = 2;
/** Produced by an expansion inside double quotes: unknown, but stays one word. */
export const EXPANDED_QUOTED = 3;

export interface Word {
  readonly kind: 'word';
  /** After quote removal; an expansion keeps its source text (`$HOME`, `${IFS}`). */
  readonly text: string;
  /** One mark per UTF-16 unit of `text`: PLAIN, QUOTED, EXPANDED or EXPANDED_QUOTED. */
  readonly marks: Uint8Array;
  /** Any quoting in the source (so `''` is a word and `<<'EOF'` a literal here-document). */
  readonly quoted: boolean;
  /**
   * Index in `text` where quoting first occurs, -1 if none. An empty `''` marks no character
   * yet still makes `''if` a plain word and `""x=1` a command name, not an assignment.
   */
  readonly firstQuote: number;
  readonly start: number;
  /** An operator follows with no blank in between (`2>`): the word may be a redirection's fd. */
  readonly touchesOperator: boolean;
}

export interface Operator {
  readonly kind: 'op';
  readonly op: string;
  readonly start: number;
}

export type Token = Word | Operator;

export interface LexIssue {
  readonly at: number;
  /** The offending characters, short (`$(`, `` ` ``, `'`). */
  readonly text: string;
}

export interface Lexed {
  readonly tokens: readonly Token[];
  /** The first command or process substitution; when set, lexing stopped there. */
  readonly substitution?: LexIssue;
  /** Where unquoted `#` comments begin. */
  readonly comments: readonly number[];
  /** An unterminated quote or expansion, or a construct the lexer will not guess about. */
  readonly unjudgeable?: LexIssue & { readonly reason: string };
  /**
   * The first arithmetic that reads a variable (`$((x))`, `$[x]`, `${s:x}`, `${a[i]}`). bash
   * evaluates a variable's value as an expression, and `a[$(cmd)]` in that value runs cmd.
   */
  readonly arithmetic?: LexIssue;
}

/** Longest first, so `<<-` wins over `<<` and `<`. */
const OPERATORS = [';;&', '<<<', '<<-', '&>>', ';;', ';&', '&&', '||', '|&', '<<', '>>', '<&', '>&', '<>', '>|', '&>', ';', '&', '|', '<', '>', '(', ')', '\n'];
const OPERATOR_START = new Set([';', '&', '|', '<', '>', '(', ')', '\n']);
const NAME_START = /[A-Za-z_]/;
const NAME_CHAR = /\w/;
const SPECIAL_PARAMETER = /[0-9@*#?$!-]/;

/** Thrown inside the lexer only, to stop at the first substitution. */
class Found {
  readonly issue: LexIssue;
  constructor(issue: LexIssue) {
    this.issue = issue;
  }
}

interface PendingHeredoc {
  readonly delimiter: string;
  readonly quoted: boolean;
  readonly strip: boolean;
}

class Lexer {
  readonly src: string;
  readonly tokens: Token[] = [];
  readonly comments: number[] = [];
  unjudgeable: (LexIssue & { reason: string }) | undefined;
  arithmetic: LexIssue | undefined;
  private chars: string[] = [];
  private marks: number[] = [];
  private start = -1;
  private hasWord = false;
  private quoted = false;
  private firstQuote = -1;
  /** After `<<` / `<<-`: the next word is a here-document delimiter (value: strip tabs). */
  private delimiterNext: boolean | undefined;
  private readonly pending: PendingHeredoc[] = [];

  constructor(src: string) {
    this.src = src;
  }

  run(): void {
    const src = this.src;
    let i = 0;
    while (i < src.length) {
      const c = src[i]!;
      if (c === ' ' || c === '\t') {
        this.finish(false);
        i++;
      } else if (c === '#' && !this.hasWord) {
        // A comment runs to the end of the line (the newline itself still separates commands).
        this.comments.push(i);
        const nl = src.indexOf('\n', i);
        i = nl < 0 ? src.length : nl;
      } else if (OPERATOR_START.has(c)) {
        i = this.operator(i);
      } else {
        if (this.start < 0) this.start = i;
        i = this.wordPart(i);
      }
    }
    this.finish(false);
    if (this.delimiterNext !== undefined) this.fail(src.length, '<<', 'a here-document needs a delimiter');
  }

  private fail(at: number, text: string, reason: string): void {
    this.unjudgeable ??= { at, text, reason };
  }

  /**
   * A backslash before a newline is removed before sh even splits the line, so it can glue
   * `$` to `{x}` or `(` anywhere; and one at the very end is read differently by different
   * shells. Neither is needed in a tool argument: the line is not judged.
   */
  private continuation(at: number): void {
    this.fail(at, '\\', at + 1 >= this.src.length ? 'it ends with a backslash' : 'a backslash-newline (line continuation) joins text before the shell reads it');
  }

  private push(c: string, mark: number): void {
    this.chars.push(c);
    this.marks.push(mark);
    this.hasWord = true;
  }

  private pushAll(text: string, mark: number): void {
    for (let k = 0; k < text.length; k++) this.push(text[k]!, mark);
  }

  private markQuoted(): void {
    if (!this.quoted) this.firstQuote = this.chars.length;
    this.quoted = true;
    this.hasWord = true;
  }

  private finish(touchesOperator: boolean): void {
    if (this.hasWord) {
      const word: Word = {
        kind: 'word',
        text: this.chars.join(''),
        marks: Uint8Array.from(this.marks),
        quoted: this.quoted,
        firstQuote: this.firstQuote,
        start: this.start,
        touchesOperator,
      };
      this.tokens.push(word);
      if (this.delimiterNext !== undefined) {
        this.pending.push({ delimiter: word.text, quoted: word.quoted, strip: this.delimiterNext });
        this.delimiterNext = undefined;
      }
    }
    this.chars = [];
    this.marks = [];
    this.start = -1;
    this.hasWord = false;
    this.quoted = false;
    this.firstQuote = -1;
  }

  private operator(i: number): number {
    const src = this.src;
    this.finish(this.hasWord);
    const op = OPERATORS.find((o) => src.startsWith(o, i))!;
    const after = i + op.length;
    // `<(…)` and `>(…)` are process substitutions (bash); `>>(` and `<<(` are read the same way
    // here, which can only turn a syntax error into a refusal.
    if ((op.endsWith('<') || op.endsWith('>')) && src[after] === '(') throw new Found({ at: after - 1, text: `${op.at(-1)}(` });
    if (this.delimiterNext !== undefined) this.fail(i, op === '\n' ? '\\n' : op, 'a here-document needs a delimiter');
    this.tokens.push({ kind: 'op', op, start: i });
    if (op === '<<' || op === '<<-') this.delimiterNext = op === '<<-';
    if (op === '\n' && this.pending.length > 0) return this.heredocBodies(after);
    return after;
  }

  /** One quoting unit of a word; returns the index after it. */
  private wordPart(i: number): number {
    const src = this.src;
    const c = src[i]!;
    if (c === '\\') {
      if (i + 1 >= src.length || src[i + 1] === '\n') {
        this.continuation(i);
        return i + 2;
      }
      this.markQuoted();
      this.push(src[i + 1]!, QUOTED);
      return i + 2;
    }
    if (c === "'") {
      this.markQuoted();
      const end = src.indexOf("'", i + 1);
      if (end < 0) {
        this.fail(i, "'", 'a single quote is never closed');
        this.pushAll(src.slice(i + 1), QUOTED);
        return src.length;
      }
      this.pushAll(src.slice(i + 1, end), QUOTED);
      return end + 1;
    }
    if (c === '"') return this.doubleQuoted(i);
    if (c === '`') throw new Found({ at: i, text: '`' });
    if (c === '$') return this.dollar(i, false);
    this.push(c, PLAIN);
    return i + 1;
  }

  /** Inside double quotes only `$`, backtick and backslash (before `$ \` " \\` and newline) act. */
  private doubleQuoted(i: number): number {
    const src = this.src;
    this.markQuoted();
    let j = i + 1;
    while (j < src.length) {
      const c = src[j]!;
      if (c === '"') return j + 1;
      if (c === '\\') {
        const d = src[j + 1];
        if (d === '\n') {
          this.continuation(j);
          j += 2;
        } else if (d !== undefined && '$`"\\'.includes(d)) {
          this.push(d, QUOTED);
          j += 2;
        } else {
          this.push('\\', QUOTED);
          j++;
        }
      } else if (c === '`') {
        throw new Found({ at: j, text: '`' });
      } else if (c === '$') {
        j = this.dollar(j, true);
      } else {
        this.push(c, QUOTED);
        j++;
      }
    }
    this.fail(i, '"', 'a double quote is never closed');
    return src.length;
  }

  /** A `$` at `j`: an expansion (pushed as its source text, marked) or a literal dollar. */
  private dollar(j: number, inDouble: boolean): number {
    const src = this.src;
    const mark = inDouble ? EXPANDED_QUOTED : EXPANDED;
    const d = src[j + 1];
    let end: number;
    if (d === '(') {
      if (src[j + 2] !== '(') throw new Found({ at: j, text: '$(' });
      end = this.arithmeticEnd(j);
      this.readsVariable(j, end, src.slice(j + 3, end - 2));
    } else if (d === '{') {
      end = this.bracketed(j, '}');
      this.readsVariable(j, end, arithmeticPart(src.slice(j + 2, end - 1)));
    } else if (d === '[') {
      // `$[…]` is arithmetic to bash but `$` and a glob to dash, which then sees any `;` inside
      // as a separator: the two shells split the line differently, so it is not judged.
      this.fail(j, '$[', '`$[` means different things to bash and dash');
      this.push('$', mark);
      return j + 1;
    } else if (d !== undefined && NAME_START.test(d)) {
      end = j + 2;
      while (end < src.length && NAME_CHAR.test(src[end]!)) end++;
    } else if (d !== undefined && SPECIAL_PARAMETER.test(d)) {
      end = j + 2;
    } else if (d === "'" && !inDouble) {
      end = this.ansiC(j);
    } else if (d === '"' && !inDouble) {
      // $"…" (bash locale translation): the dollar marks the word; the quotes are read next.
      this.push('$', mark);
      return j + 1;
    } else {
      this.push('$', inDouble ? QUOTED : PLAIN);
      return j + 1;
    }
    this.pushAll(src.slice(j, end), mark);
    return end;
  }

  /**
   * `$((…))` is arithmetic only when the inner parenthesis closes right before the outer one
   * (bash's own test); anything else, or anything arithmetic does not need (quotes,
   * backslashes, `;`, newlines, a nested `$(`), is taken as command substitution.
   */
  private arithmeticEnd(j: number): number {
    const src = this.src;
    let depth = 2;
    let innerClose = -1;
    for (let k = j + 3; k < src.length; k++) {
      const c = src[k]!;
      if (c === '(') depth++;
      else if (c === ')') {
        depth--;
        if (depth === 1) innerClose = k;
        if (depth === 0) {
          if (innerClose !== k - 1) break;
          return k + 1;
        }
      } else if (c === '`' || c === "'" || c === '"' || c === '\\' || c === '\n' || c === ';' || (c === '$' && src[k + 1] === '(')) {
        break;
      }
    }
    throw new Found({ at: j, text: '$(' });
  }

  /**
   * `${…}`, ending at the first closer. Quotes, backslashes or a nested `${` inside
   * make bash's end differ from that; the lexer does not guess and reports the line.
   */
  private bracketed(j: number, closer: string): number {
    const src = this.src;
    for (let k = j + 2; k < src.length; k++) {
      const c = src[k]!;
      if (c === closer) return k + 1;
      if (c === '`') throw new Found({ at: k, text: '`' });
      if (c === '$' && src[k + 1] === '(') throw new Found({ at: k, text: '$(' });
      if (c === "'" || c === '"' || c === '\\' || (c === '$' && src[k + 1] === '{')) {
        this.fail(j, src.slice(j, j + 2), 'quotes or nesting inside a parameter expansion cannot be judged');
      }
    }
    this.fail(j, src.slice(j, j + 2), 'a parameter expansion is never closed');
    return src.length;
  }

  private readsVariable(j: number, end: number, expression: string): void {
    if (/[A-Za-z_]/.test(expression)) {
      const text = this.src.slice(j, end);
      this.arithmetic ??= { at: j, text: text.length > 40 ? `${text.slice(0, 40)}…` : text };
    }
  }

  /**
   * `$'…'` (bash ANSI-C quoting) ends at the first `'` not escaped by a backslash. dash reads
   * `$` and a single-quoted string that ends at the first `'`; an escaped `\'` is where the
   * two split differently, so that is not judged.
   */
  private ansiC(j: number): number {
    const src = this.src;
    for (let k = j + 2; k < src.length; k++) {
      if (src[k] === '\\') {
        if (src[k + 1] === "'") this.fail(j, "$'", "an escaped quote inside $'…' ends the string differently in bash and dash");
        if (src[k + 1] === '\n') this.continuation(k);
        k++;
      } else if (src[k] === "'") return k + 1;
    }
    this.fail(j, "$'", 'an ANSI-C quote is never closed');
    return src.length;
  }

  /** Here-document bodies begin after the newline that ends their command line. */
  private heredocBodies(i: number): number {
    const src = this.src;
    let k = i;
    for (const doc of this.pending.splice(0)) {
      while (k < src.length) {
        const nl = src.indexOf('\n', k);
        const lineEnd = nl < 0 ? src.length : nl;
        const line = src.slice(k, lineEnd);
        const next = nl < 0 ? src.length : nl + 1;
        if ((doc.strip ? line.replace(/^\t+/, '') : line) === doc.delimiter) {
          k = next;
          break;
        }
        // An unquoted delimiter leaves `$` and backticks active in the body; quotes are literal.
        if (!doc.quoted) this.scanBody(k, lineEnd);
        k = next;
      }
    }
    return k;
  }

  private scanBody(from: number, to: number): void {
    const src = this.src;
    for (let k = from; k < to; k++) {
      const c = src[k]!;
      if (c === '\\' && k + 1 === to) this.continuation(k);
      if (c === '\\') k++;
      else if (c === '`') throw new Found({ at: k, text: '`' });
      else if (c === '$' && src[k + 1] === '(') {
        if (src[k + 2] !== '(') throw new Found({ at: k, text: '$(' });
        const end = this.arithmeticEnd(k);
        this.readsVariable(k, end, src.slice(k + 3, end - 2));
        k = end - 1;
      } else if (c === '$' && src[k + 1] === '{') {
        const end = this.bracketed(k, '}');
        this.readsVariable(k, end, arithmeticPart(src.slice(k + 2, end - 1)));
        k = end - 1;
      } else if (c === '$' && src[k + 1] === '[') {
        this.fail(k, '$[', '`$[` means different things to bash and dash');
      }
    }
  }
}

/**
 * What inside `${…}` bash evaluates beyond a plain read: a subscript (`a[i]`), a substring
 * offset (`s:i:n`), indirection (`${!x}`) or a transformation (`${x@P}` expands prompts),
 * each of which can run commands hidden in a variable's value; '' when there is none.
 */
function arithmeticPart(body: string): string {
  if (body.startsWith('!')) return body;
  const name = /^#?([A-Za-z_]\w*|\d+|[@*#?$!-])/.exec(body);
  const rest = name ? body.slice(name[0].length) : body;
  if (rest.startsWith('@')) return rest;
  if (rest.startsWith('[')) return rest.slice(1, rest.indexOf(']') < 0 ? undefined : rest.indexOf(']'));
  if (rest.startsWith(':') && !/^:[-=?+]/.test(rest)) return rest.slice(1);
  return '';
}

/** Split a command line into words and operators as `sh -c` would, without running anything. */
export function lex(src: string): Lexed {
  const lexer = new Lexer(src);
  try {
    lexer.run();
  } catch (error) {
    if (!(error instanceof Found)) throw error;
    return { tokens: lexer.tokens, substitution: error.issue, comments: lexer.comments };
  }
  return {
    tokens: lexer.tokens,
    comments: lexer.comments,
    ...(lexer.unjudgeable === undefined ? {} : { unjudgeable: lexer.unjudgeable }),
    ...(lexer.arithmetic === undefined ? {} : { arithmetic: lexer.arithmetic }),
  };
}
