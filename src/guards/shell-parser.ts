/**
 * From lexed tokens to what the command guard judges: the simple commands a line would run,
 * and for each word whether its value is known before the shell runs (an expansion, an
 * unquoted glob, brace or tilde expansion make it unknown). With the shell off the guard only
 * needs the first piece of shell syntax; with it on, `parseScript` walks lists, pipelines,
 * subshells, groups, `if`/`while`/`until`/`for` and redirections, and refuses the constructs
 * it does not model (`case`, functions, `[[`, `coproc`) instead of guessing.
 */
import { EXPANDED, EXPANDED_QUOTED, PLAIN, type Lexed, type Token, type Word } from './shell-lexer.ts';

/** A word as the judge sees it: exec-form arguments are literal; string-form ones may not be. */
export interface Arg {
  readonly text: string;
  /** The value is not known before the shell runs. */
  readonly dynamic: boolean;
  /** It may be, or split into, a word that begins with `-`. */
  readonly mayBeOption: boolean;
  /** It may become several words (unquoted expansion, glob, brace expansion). */
  readonly mayShift: boolean;
  /** The first unknown part, for evidence (`$HOME`, `*`, `{a,b}`, `~`). */
  readonly dynamicPart?: string;
}

export function literal(text: string): Arg {
  return { text, dynamic: false, mayBeOption: false, mayShift: false };
}

export const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

const RESERVED = new Set(['if', 'then', 'elif', 'else', 'fi', 'while', 'until', 'do', 'done', 'for', 'select', 'case', 'esac', 'in', 'function', 'coproc', '{', '}', '!', '[[', ']]']);
const OPENING = new Set(['if', 'then', 'elif', 'else', 'while', 'until', 'do', '!', '{']);
const CLOSING = new Set(['fi', 'done', '}']);
/** Not modelled; `select`, `function`, `coproc`, `[[` are also keywords to bash but commands to dash. */
const UNMODELLED = new Set(['case', 'esac', 'select', 'function', 'coproc', '[[', ']]']);
/** bash's `&>` is `&` then `>` to dash, which then runs the next word as a command. */
const BASH_ONLY = new Set(['&>', '&>>']);
export const REDIRECTIONS = new Set(['<', '>', '>>', '<<', '<<-', '<<<', '<&', '>&', '<>', '>|', '&>', '&>>']);
const SEPARATORS = new Set([';', '&', '&&', '||', '|', '|&', '\n']);

/** No quoting anywhere, not even an empty `''` (which marks no character). */
const unquoted = (w: Word): boolean => !w.quoted && w.marks.every((m) => m === PLAIN);

function isReserved(w: Word): boolean {
  return RESERVED.has(w.text) && unquoted(w);
}

/** `NAME=…` with the name and `=` typed bare: a shell variable assignment. */
export function assignmentName(w: Word): string | undefined {
  const eq = w.text.indexOf('=');
  if (eq <= 0) return undefined;
  const name = w.text.slice(0, eq);
  if (w.quoted && w.firstQuote <= eq) return undefined;
  for (let k = 0; k <= eq; k++) if (w.marks[k] !== PLAIN) return undefined;
  return NAME.test(name) ? name : undefined;
}

/** Index of the first unquoted glob character (`*`, `?`, or `[` with a later `]`), or -1. */
function globAt(w: Word): number {
  const { text, marks } = w;
  for (let k = 0; k < text.length; k++) {
    if (marks[k] !== PLAIN) continue;
    const c = text[k];
    if (c === '*' || c === '?') return k;
    if (c === '[' && text.indexOf(']', k + 1) > k) return k;
  }
  return -1;
}

/**
 * A brace expansion: unquoted `{` and a later unquoted `}` with an unquoted `,` or `..`
 * between them (bash's rule; `HEAD@{1}` and find's `{}` stay literal). Returns [start, end].
 */
function braceAt(w: Word): readonly [number, number] | undefined {
  const { text, marks } = w;
  for (let open = text.indexOf('{'); open >= 0; open = text.indexOf('{', open + 1)) {
    if (marks[open] !== PLAIN) continue;
    let separator = false;
    for (let k = open + 1; k < text.length; k++) {
      if (marks[k] !== PLAIN) continue;
      const c = text[k];
      if (c === ',' || (c === '.' && text[k + 1] === '.' && marks[k + 1] === PLAIN)) separator = true;
      else if (c === '}' && separator) return [open, k + 1];
    }
  }
  return undefined;
}

/** Tilde expansion: a bare `~` at the start, or after `=`/`:` in an assignment-like word. */
function tildeAt(w: Word): number {
  const { text, marks } = w;
  if (text[0] === '~' && marks[0] === PLAIN) return 0;
  const eq = text.indexOf('=');
  if (eq > 0 && NAME.test(text.slice(0, eq))) {
    for (let k = eq; k < text.length - 1; k++) {
      if ((text[k] === '=' || text[k] === ':') && text[k + 1] === '~' && marks[k + 1] === PLAIN) return k + 1;
    }
  }
  return -1;
}

function expansionAt(w: Word): readonly [number, number] | undefined {
  const { marks } = w;
  const start = marks.findIndex((m) => m === EXPANDED || m === EXPANDED_QUOTED);
  if (start < 0) return undefined;
  let end = start;
  while (end < marks.length && (marks[end] === EXPANDED || marks[end] === EXPANDED_QUOTED)) end++;
  return [start, end];
}

export interface WordSyntax {
  readonly what: 'expansion' | 'glob' | 'brace expansion' | 'tilde expansion';
  readonly text: string;
  readonly at: number;
}

/** The first construct in a word whose value the shell, not the text, decides. */
export function wordSyntax(w: Word): WordSyntax | undefined {
  const found: WordSyntax[] = [];
  const expansion = expansionAt(w);
  if (expansion) found.push({ what: 'expansion', text: w.text.slice(...expansion), at: expansion[0] });
  const glob = globAt(w);
  if (glob >= 0) found.push({ what: 'glob', text: w.text[glob]!, at: glob });
  const brace = braceAt(w);
  if (brace) found.push({ what: 'brace expansion', text: w.text.slice(...brace), at: brace[0] });
  const tilde = tildeAt(w);
  if (tilde >= 0) found.push({ what: 'tilde expansion', text: '~', at: tilde });
  return found.sort((a, b) => a.at - b.at)[0];
}

/** The judge's view of a string-form word. */
export function argOf(w: Word): Arg {
  const syntax = wordSyntax(w);
  if (!syntax) return literal(w.text);
  const unquotedExpansion = w.marks.includes(EXPANDED);
  const glob = globAt(w) >= 0;
  const brace = braceAt(w) !== undefined;
  // Where an unknown part that could spell `-…` begins (tilde always yields a path).
  const risky = [expansionAt(w)?.[0] ?? -1, globAt(w), braceAt(w)?.[0] ?? -1].filter((k) => k >= 0);
  const firstRisky = risky.length === 0 ? -1 : Math.min(...risky);
  const eq = w.text.indexOf('=');
  const mayBeOption =
    unquotedExpansion || firstRisky === 0 || (w.text.startsWith('-') && firstRisky > 0 && (eq < 0 || firstRisky < eq));
  return { text: w.text, dynamic: true, mayBeOption, mayShift: unquotedExpansion || glob || brace, dynamicPart: syntax.text };
}

export interface SyntaxFinding {
  /** What to name in the reason: `operator`, `expansion`, `comment`, … */
  readonly what: string;
  /** The metacharacter or construct, short. */
  readonly text: string;
}

/**
 * Shell off: the first piece of shell syntax in the line, in source order, or undefined when
 * the line is words only (one simple command).
 */
export function firstShellSyntax(lexed: Lexed): SyntaxFinding | undefined {
  const found: Array<SyntaxFinding & { at: number }> = [];
  if (lexed.unjudgeable) found.push({ what: 'unfinished', text: lexed.unjudgeable.text, at: lexed.unjudgeable.at });
  const comment = lexed.comments[0];
  if (comment !== undefined) found.push({ what: 'comment', text: '#', at: comment });
  const tokenSyntax = (tok: Token, first: boolean): SyntaxFinding | undefined => {
    if (tok.kind === 'op') return { what: 'operator', text: tok.op === '\n' ? '\\n' : tok.op };
    if (first && isReserved(tok)) return { what: 'reserved word', text: tok.text };
    const name = first ? assignmentName(tok) : undefined;
    if (name !== undefined) return { what: 'assignment', text: `${name}=` };
    return wordSyntax(tok);
  };
  for (let t = 0; t < lexed.tokens.length; t++) {
    const tok = lexed.tokens[t]!;
    const syntax = tokenSyntax(tok, t === 0);
    if (syntax) {
      found.push({ what: syntax.what, text: syntax.text, at: tok.start });
      break; // tokens are in source order: nothing later can come first
    }
  }
  return found.sort((a, b) => a.at - b.at)[0];
}

export interface SimpleCommand {
  /** `NAME=value` words before the command name. */
  readonly assignments: readonly Word[];
  readonly words: readonly Word[];
}

export interface Redirection {
  readonly op: string;
  readonly target: Word;
}

export interface Script {
  readonly commands: readonly SimpleCommand[];
  readonly redirections: readonly Redirection[];
  /** `for NAME in …` names: assignments too. */
  readonly loopVariables: readonly Word[];
  /** Syntax the guard does not model or that the shell would reject. */
  readonly error?: SyntaxFinding;
}

/**
 * `2>`: a digit glued to a redirection operator names a file descriptor. dash takes one digit
 * only, and bash's `{fd}>` is a word to dash: those stay words, and are judged.
 */
function isFdPrefix(w: Word, next: Token | undefined): boolean {
  return w.touchesOperator && next?.kind === 'op' && REDIRECTIONS.has(next.op) && /^\d$/.test(w.text) && unquoted(w);
}

type State = 'start' | 'args' | 'for-name' | 'for-in' | 'for-list' | 'closed';

/** Shell on: every simple command in the line, wherever it sits. */
export function parseScript(tokens: readonly Token[]): Script {
  const commands: SimpleCommand[] = [];
  const redirections: Redirection[] = [];
  const loopVariables: Word[] = [];
  let assignments: Word[] = [];
  let words: Word[] = [];
  let started = false;
  let state: State = 'start';
  const end = (): void => {
    if (assignments.length > 0 || words.length > 0) commands.push({ assignments, words });
    assignments = [];
    words = [];
    started = false;
  };
  const fail = (what: string, text: string): Script => ({ commands, redirections, loopVariables, error: { what, text } });

  for (let t = 0; t < tokens.length; t++) {
    const tok = tokens[t]!;
    if (tok.kind === 'op') {
      if (state === 'for-name') return fail('syntax error', tok.op);
      if (BASH_ONLY.has(tok.op)) return fail('bash-only redirection', tok.op);
      if (REDIRECTIONS.has(tok.op)) {
        const target = tokens[t + 1];
        if (target?.kind !== 'word') return fail('syntax error', tok.op);
        redirections.push({ op: tok.op, target });
        started = true;
        t++;
      } else if (SEPARATORS.has(tok.op)) {
        end();
        state = 'start';
      } else if (tok.op === '(') {
        if (started || state === 'closed') return fail('function definition', '(');
        // `((…))` is arithmetic to bash (it evaluates variables' values) but subshells to dash.
        const next = tokens[t + 1];
        if (next?.kind === 'op' && next.op === '(' && next.start === tok.start + 1) return fail('arithmetic command', '((');
        state = 'start';
      } else if (tok.op === ')') {
        end();
        state = 'closed';
      } else {
        return fail('case statement', tok.op);
      }
      continue;
    }
    if (state === 'for-name') {
      loopVariables.push(tok);
      state = 'for-in';
      continue;
    }
    if (state === 'for-in') {
      if (isReserved(tok) && tok.text === 'in') state = 'for-list';
      else if (isReserved(tok) && tok.text === 'do') state = 'start';
      else return fail('syntax error', tok.text);
      continue;
    }
    if (state === 'for-list') continue; // the loop's values are data, not commands
    if (isFdPrefix(tok, tokens[t + 1])) continue;
    if (state === 'closed') return fail('syntax error', tok.text);
    if (!started && isReserved(tok)) {
      if (tok.text === 'for') state = 'for-name';
      else if (CLOSING.has(tok.text)) state = 'closed';
      else if (UNMODELLED.has(tok.text)) return fail('unsupported construct', tok.text);
      else if (OPENING.has(tok.text)) state = 'start';
      else return fail('syntax error', tok.text);
      continue;
    }
    if (words.length === 0 && assignmentName(tok) !== undefined) assignments.push(tok);
    else words.push(tok);
    started = true;
    state = 'args';
  }
  end();
  return { commands, redirections, loopVariables };
}
