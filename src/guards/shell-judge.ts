/**
 * The command guard's judgement: every command a line or an exec call would run, named by
 * what it is after quote removal and path stripping, through wrappers, shells' `-c` strings,
 * and the option grammars of tools that can run other programs. Each problem becomes an
 * issue; the guard reports the most severe one (order in `RULES`).
 */
import { lex } from './shell-lexer.ts';
import { argOf, assignmentName, firstShellSyntax, literal, parseScript, type Arg, type SyntaxFinding } from './shell-parser.ts';
import {
  SHELLS, SHELL_VALUED, TOOLS, WRAPPERS, type Effect, type FindTool, type GetoptTool, type GitTool, type OptionArg, type WrapperSpec,
} from './shell-tools.ts';

/** Most severe first: the guard reports the first of these that any command triggers. */
export const RULES = [
  'command.bad-input',
  'command.substitution',
  'command.shell-syntax',
  'command.blocked',
  'command.not-allowed',
  'command.option-injection',
] as const;
export type Rule = (typeof RULES)[number];

export interface Issue {
  readonly rule: Rule;
  readonly reason: string;
  readonly evidence: Record<string, unknown>;
}

export interface Policy {
  readonly allow: ReadonlySet<string>;
  readonly block: ReadonlySet<string>;
  readonly allowShell: boolean;
  readonly noOptionsAfter: number | undefined;
  /** Normalised absolute directories a command given with a `/` may come from. */
  readonly commandDirs: ReadonlySet<string>;
}

/** Wrappers inside wrappers (and `sh -c` inside those) deeper than this are refused. */
export const MAX_DEPTH = 16;

/** Variables `env NAME=…` (and a shell's `NAME=… cmd`) may set: none changes what runs. */
const SAFE_VARIABLES = new Set(['LANG', 'LANGUAGE', 'LC_ALL', 'TZ', 'TERM', 'COLUMNS', 'LINES', 'NO_COLOR']);
const isSafeVariable = (name: string): boolean => SAFE_VARIABLES.has(name) || /^LC_[A-Z]+$/.test(name);
/** Shell-only variables (`x=1; echo $x`, `for f in …`): lower case, not a proxy setting. */
const isLocalVariable = (name: string): boolean => isSafeVariable(name) || (/^[a-z_][a-z0-9_]*$/.test(name) && !/proxy$/.test(name));

/** Evidence stays short: a hostile line may be megabytes of one word. */
export function clip(text: string, max = 80): string {
  return text.length <= max ? text : `${text.slice(0, max)}…`;
}

const q = (text: string): string => JSON.stringify(clip(text));

export class Judge {
  readonly policy: Policy;
  readonly issues: Issue[] = [];

  constructor(policy: Policy) {
    this.policy = policy;
  }

  add(rule: Rule, reason: string, evidence: Record<string, unknown>): void {
    this.issues.push({ rule, reason, evidence });
  }

  /** The most severe issue found, if any. */
  worst(): Issue | undefined {
    let worst: Issue | undefined;
    for (const issue of this.issues) if (!worst || RULES.indexOf(issue.rule) < RULES.indexOf(worst.rule)) worst = issue;
    return worst;
  }

  // ------------------------------------------------------------------ string form

  /** A command line as `sh -c` receives it. `top`: the caller's own argument (no_options_after applies). */
  line(src: string, depth: number, top: boolean): void {
    const lexed = lex(src);
    if (lexed.substitution) {
      const { text } = lexed.substitution;
      this.add('command.substitution', `Command substitution ${q(text)} is not allowed; send the value itself, not a command that computes it.`, { syntax: text });
      return;
    }
    if (!this.policy.allowShell) {
      const syntax = firstShellSyntax(lexed);
      if (syntax) {
        this.add('command.shell-syntax', shellOffReason(syntax, lexed.unjudgeable?.reason), { syntax: clip(syntax.text) });
        return;
      }
      if (lexed.tokens.length === 0) {
        this.add('command.bad-input', 'The command is empty; send the command to run.', {});
        return;
      }
      // No syntax at all: the line is plain words, one simple command.
      this.argv(lexed.tokens.map((w) => literal(w.kind === 'word' ? w.text : '')), depth, top, false);
      return;
    }
    if (lexed.unjudgeable) {
      const { text, reason } = lexed.unjudgeable;
      this.add('command.shell-syntax', `The command line cannot be judged: ${reason}; rewrite it more plainly.`, { syntax: clip(text) });
      return;
    }
    if (lexed.arithmetic) {
      const { text } = lexed.arithmetic;
      this.add('command.shell-syntax', `Expansion ${q(text)} evaluates a variable's value, which can run hidden commands; send the computed value instead.`, { syntax: text });
      return;
    }
    if (lexed.tokens.length === 0) {
      this.add('command.bad-input', 'The command is empty; send the command to run.', {});
      return;
    }
    const script = parseScript(lexed.tokens);
    if (script.error) {
      const { what, text } = script.error;
      this.add('command.shell-syntax', `Shell ${what} ${q(text)} is not supported by this guard; rewrite the line without it.`, { syntax: clip(text) });
      return;
    }
    for (const { op, target } of script.redirections) {
      if (op === '<<' || op === '<<-' || op === '<<<') continue; // a delimiter or data, not a file
      const arg = argOf(target);
      if (arg.dynamic) {
        this.add('command.shell-syntax', `The redirection target ${q(arg.text)} is built by expansion, so it cannot be judged; write the file name literally.`, { syntax: clip(arg.dynamicPart ?? arg.text) });
      } else if (/^\/dev\/(tcp|udp)\//.test(normalisePath(arg.text))) {
        this.add('command.shell-syntax', `Redirecting to ${q(arg.text)} opens a network connection; write to a file instead.`, { syntax: op, target: clip(arg.text) });
      }
    }
    for (const word of script.loopVariables) this.shellVariable(word.text);
    for (const command of script.commands) {
      for (const word of command.assignments) {
        const name = assignmentName(word)!;
        if (command.words.length > 0) this.variable(name, 'the command');
        else this.shellVariable(name);
      }
      if (command.words.length > 0) this.argv(command.words.map(argOf), depth, top, false);
    }
  }

  private variable(name: string, owner: string): void {
    if (isSafeVariable(name)) return;
    this.add('command.option-injection', `Setting ${q(name)} for ${owner} can change which program or library runs; only locale, time zone and terminal variables may be set.`, { variable: clip(name) });
  }

  private shellVariable(name: string): void {
    if (isLocalVariable(name)) return;
    this.add('command.option-injection', `Setting ${q(name)} can change what later commands run; use a lower-case variable name.`, { variable: clip(name) });
  }

  // ------------------------------------------------------------------ one command

  /** An argument vector: name first. `appended`: words from input will follow (xargs). */
  argv(argv: readonly Arg[], depth: number, top: boolean, appended: boolean): void {
    const [head, ...args] = argv;
    if (!head) return;
    if (depth > MAX_DEPTH) {
      this.add('command.bad-input', `Wrappers are nested more than ${MAX_DEPTH} deep; call the command directly.`, {});
      return;
    }
    if (head.dynamic) {
      this.add('command.shell-syntax', `The command name ${q(head.text)} is built by expansion, so it cannot be judged; name the program literally.`, { syntax: clip(head.dynamicPart ?? head.text) });
      return;
    }
    if (head.text === '') {
      this.add('command.bad-input', 'The command name is empty; name the program to run.', {});
      return;
    }
    if (top && this.policy.noOptionsAfter !== undefined) this.positional(args, this.policy.noOptionsAfter);
    const base = baseName(head.text);
    this.name(head.text, base);
    const wrapper = COMPILED_WRAPPERS.get(base);
    if (wrapper) this.wrapper(base, wrapper, args, depth, appended);
    else if (SHELLS.has(base)) this.shell(base, args, depth, appended);
    else {
      const tool = COMPILED_TOOLS.get(base);
      if (!tool) return;
      if (appended) {
        this.add('command.option-injection', `xargs appends words from its input to ${base}'s arguments, and they may be dangerous options; call ${base} directly.`, { command: base, wrapper: 'xargs' });
      }
      this.tool(base, tool, args);
    }
  }

  private name(name: string, base: string): void {
    const { allow, block, commandDirs } = this.policy;
    if (block.has(base)) {
      this.add('command.blocked', `Command ${q(base)} is blocked by policy; use a different command.`, { command: clip(base) });
    } else if (!allow.has(base)) {
      this.add('command.not-allowed', `Command ${q(base)} is not in the allow list; use an allowed command.`, { command: clip(base) });
    } else if (name.includes('/') && !commandDirs.has(directoryOf(name) ?? '')) {
      this.add('command.not-allowed', `Command ${q(name)} runs from outside the trusted directories; call it by name or from ${[...commandDirs].join(', ') || 'nowhere'}.`, { command: clip(name) });
    }
  }

  private positional(args: readonly Arg[], from: number): void {
    for (let k = 0; k < args.length; k++) {
      const arg = args[k]!;
      const risky = k < from ? arg.mayShift : arg.text.startsWith('-') || arg.mayBeOption;
      if (risky) {
        this.add('command.option-injection', `Argument ${k + 1} (${q(arg.text)}) may be read as an option where only operands are accepted; pass operands only, or write a file name as ./${clip(arg.text, 20)}.`, { position: k, argument: clip(arg.text) });
        return;
      }
    }
  }

  private dynamicWrapperArg(wrapper: string, arg: Arg): void {
    this.add('command.shell-syntax', `The ${wrapper} argument ${q(arg.text)} is built by expansion, so the command ${wrapper} runs cannot be judged; write it literally.`, { command: wrapper, syntax: clip(arg.dynamicPart ?? arg.text) });
  }

  // ------------------------------------------------------------------ wrappers

  private wrapper(name: string, w: CompiledWrapper, args: readonly Arg[], depth: number, appended: boolean): void {
    let i = 0;
    let argvMode = false;
    let shellIfBare = false;
    let replace: string | undefined;
    while (i < args.length) {
      const arg = args[i]!;
      if (arg.dynamic) return this.dynamicWrapperArg(name, arg);
      const t = arg.text;
      if (t === '--') {
        i++;
        break;
      }
      if (t === '-' && w.options.has('-')) {
        i++; // GNU env: a lone `-` is `-i` and ends the options
        break;
      }
      if (!t.startsWith('-') || t === '-') break;
      if (w.spec.numeric && /^--?[+-]?\d+$/.test(t)) {
        i++;
        continue;
      }
      const parsed = parseOption(w, args, i);
      if (parsed === 'missing') return this.missing(name, appended); // the wrapper fails, unless xargs supplies it
      if ('unknown' in parsed) {
        this.add('command.not-allowed', `Option ${q(parsed.unknown)} of ${name} is not known to this guard, so the command ${name} runs cannot be judged; drop the option.`, { command: name, option: clip(parsed.unknown) });
        return;
      }
      let noExec = false;
      for (const { key, value, valueArg } of parsed.found) {
        if (valueArg?.dynamic) return this.dynamicWrapperArg(name, valueArg);
        for (const effect of w.effects.get(key) ?? []) {
          if (effect === 'no-exec') noExec = true;
          else if (effect === 'shell') shellIfBare = true;
          else if (effect === 'argv') argvMode = true;
          else if (effect === 'replace') replace = value ?? '{}';
          else if (effect === 'danger') {
            this.add('command.option-injection', `Option ${q(key)} makes ${name} write a file or run a program; remove it.`, { command: name, option: key });
          } else if (effect === 'split') {
            const words = splitEnvString(value ?? '');
            if (words === undefined) {
              this.add('command.shell-syntax', `The ${name} ${key} string expands variables, so the command it runs cannot be judged; write the command out.`, { command: name, option: key });
              return;
            }
            // The words take the option's place and are read again, options first.
            return this.wrapper(name, w, [...words.map(literal), ...args.slice(parsed.next)], depth + 1, appended);
          }
        }
      }
      if (noExec) return;
      i = parsed.next;
    }
    if (w.spec.assignments) {
      for (; i < args.length && /^[^=]+=/.test(args[i]!.text); i++) {
        if (args[i]!.dynamic) return this.dynamicWrapperArg(name, args[i]!);
        this.variable(args[i]!.text.slice(0, args[i]!.text.indexOf('=')), name);
      }
    }
    for (let k = 0; k < (w.spec.operands ?? 0); k++, i++) {
      const operand = args[i];
      if (!operand) return this.missing(name, appended);
      if (operand.dynamic) return this.dynamicWrapperArg(name, operand);
    }
    if (w.spec.numericOperand && /^\d+$/.test(args[i]?.text ?? '')) i++;
    if (w.spec.commandString?.includes(args[i]?.text ?? '\0')) {
      const line = args[i + 1];
      if (!line) return this.missing(name, appended);
      if (line.dynamic) return this.dynamicWrapperArg(name, line);
      return this.line(line.text, depth + 1, false);
    }
    const inner = args.slice(i);
    if (inner.length === 0) {
      if (appended) {
        this.add('command.not-allowed', `xargs would take the command ${name} runs from its input; name the command explicitly.`, { command: name, wrapper: 'xargs' });
      } else if (shellIfBare) {
        this.argv([literal('sh')], depth + 1, false, false);
      } else if (w.spec.bare === 'echo') {
        this.argv([literal('echo')], depth + 1, false, true);
      } else if (w.spec.bare === 'environment') {
        this.add('command.not-allowed', `${name} without a command prints the server's environment, which may hold secrets; name the command ${name} should run.`, { command: name });
      }
      return;
    }
    if (replace !== undefined) this.replaced(name, replace, inner);
    if (w.spec.shellString && !argvMode) {
      const dynamic = inner.find((a) => a.dynamic);
      if (dynamic) return this.dynamicWrapperArg(name, dynamic);
      return this.line(inner.map((a) => a.text).join(' '), depth + 1, false);
    }
    this.argv(inner, depth + 1, false, appended || w.spec.appends === true);
  }

  /** A wrapper short of a value or operand fails and runs nothing, unless xargs appends the rest. */
  private missing(name: string, appended: boolean): void {
    if (!appended) return;
    this.add('command.not-allowed', `xargs would complete the ${name} command from its input, which decides what runs; name the command explicitly.`, { command: name, wrapper: 'xargs' });
  }

  /** `xargs -I R cmd …`: input replaces R; in the command name or a wrapper's words it picks what runs. */
  private replaced(name: string, replace: string, inner: readonly Arg[]): void {
    const base = baseName(inner[0]!.text);
    const steering = COMPILED_WRAPPERS.has(base) || SHELLS.has(base) ? inner : inner.slice(0, 1);
    const hit = steering.find((a) => a.text.includes(replace));
    if (hit) {
      this.add('command.not-allowed', `${name} would put its input into ${q(hit.text)}, which decides the command that runs; name the command explicitly.`, { command: name, argument: clip(hit.text) });
    }
  }

  /** sh/bash/…: with `-c`, the next operand is a command line, judged like the string form. */
  private shell(name: string, args: readonly Arg[], depth: number, appended: boolean): void {
    let commandMode = false;
    let i = 0;
    while (i < args.length) {
      const arg = args[i]!;
      if (arg.dynamic) return this.dynamicWrapperArg(name, arg);
      const t = arg.text;
      if (t === '--' || t === '-') {
        i++;
        break;
      }
      if (!/^[-+]./.test(t)) break;
      if (SHELL_VALUED.has(t) || (!t.startsWith('--') && /^[-+][A-Za-z]*[oO]$/.test(t))) {
        if (t.startsWith('-') && !t.startsWith('--') && t.includes('c')) commandMode = true;
        i += 2;
        continue;
      }
      if (t.startsWith('-') && !t.startsWith('--') && t.includes('c')) commandMode = true;
      i++;
    }
    const script = args[i];
    // Without -c the shell runs a script file or its input: the operator allowed this shell.
    // Under xargs, though, the input would name the script or be the -c line.
    if (!commandMode || !script) return this.missing(name, appended);
    if (script.dynamic) return this.dynamicWrapperArg(name, script);
    this.line(script.text, depth + 1, false);
  }

  // ------------------------------------------------------------------ tools

  private tool(name: string, tool: CompiledTool, args: readonly Arg[]): void {
    const opaque = args.find((a) => a.mayBeOption);
    if (opaque) {
      this.add('command.option-injection', `The argument ${q(opaque.text)} is built by expansion, so it could spell a dangerous ${name} option; write it literally.`, { command: name, argument: clip(opaque.dynamicPart ?? opaque.text) });
      return;
    }
    if (tool.style === 'find') this.find(name, tool, args);
    else if (tool.style === 'git') this.git(tool, args);
    else this.getopt(name, tool, args);
  }

  private dangerousOption(command: string, option: string): void {
    this.add('command.option-injection', `Option ${q(option)} lets ${command} run another program or write a file; remove it.`, { command, option: clip(option) });
  }

  private getopt(name: string, spec: CompiledGetopt, args: readonly Arg[]): void {
    let i = 0;
    let valuesAhead = 0;
    if (spec.oldStyle && args[0] && !args[0].text.startsWith('-')) {
      // tar's traditional `tar cvf FILE`: a cluster of letters; its valued letters take the next words.
      for (const letter of args[0].text) {
        if (spec.short.includes(letter)) this.dangerousOption(name, `-${letter}`);
        if (spec.stop.includes(letter)) valuesAhead++;
      }
      i = 1;
    }
    for (let start = i; i < args.length; i++) {
      const t = args[i]!.text;
      if (t === '--') {
        // The end of options, unless it is the value of the option before it.
        if (i - start >= valuesAhead && !expectsValue(args[i - 1]?.text)) break;
        continue;
      }
      if (t.startsWith('--')) {
        const option = t.slice(2).split('=', 1)[0]!;
        if (isDangerousLong(spec, option)) this.dangerousOption(name, `--${option}`);
      } else if (t.startsWith('-') && t.length > 1) {
        for (const letter of t.slice(1)) {
          if (spec.short.includes(letter)) {
            this.dangerousOption(name, `-${letter}`);
            break;
          }
          if (spec.stop.includes(letter)) break;
        }
      }
    }
  }

  private find(name: string, spec: CompiledFind, args: readonly Arg[]): void {
    let i = 0;
    // Leading options (-H -L -P -D debug -Olevel), then starting points, then the expression.
    for (; i < args.length; i++) {
      const t = args[i]!.text;
      if (t === '-D') i++;
      else if (!(t === '-H' || t === '-L' || t === '-P' || /^-O\d*$/.test(t))) break;
    }
    while (i < args.length && !/^[-(!),]/.test(args[i]!.text)) i++;
    for (; i < args.length; i++) {
      const t = args[i]!.text;
      if (spec.danger.has(t)) this.dangerousOption(name, t);
      else if (spec.valued.has(t) || /^-newer[aBcmt][aBcmt]$/.test(t)) i++; // its value is not a predicate
    }
  }

  private git(spec: CompiledGit, args: readonly Arg[]): void {
    const ext = args.find((a) => /^ext::/i.test(a.text));
    if (ext) this.add('command.option-injection', 'The "ext::" transport makes git run a command; use an ssh or https URL.', { command: 'git', argument: 'ext::' });
    let i = 0;
    for (; i < args.length; ) {
      const t = args[i]!.text;
      if (!t.startsWith('-')) break;
      const option = t.startsWith('--') ? t.split('=', 1)[0]! : t.slice(0, 2);
      if (spec.globalDanger.has(option)) this.dangerousOption('git', option);
      i += spec.globalValued.has(t) ? 2 : 1;
    }
    const sub = args[i]?.text;
    if (sub === undefined) return;
    const rest = args.slice(i + 1);
    const runs = spec.runs.get(sub);
    if (runs && (runs.length === 0 || rest.some((a) => runs.includes(a.text)))) {
      this.add('command.option-injection', `git ${clip(sub)} runs other programs by design; it is not allowed through this guard.`, { command: 'git', subcommand: clip(sub) });
    }
    if (sub === 'config' && gitConfigWrites(rest)) {
      this.add('command.option-injection', 'git config can write settings that make later git commands run programs; only reading settings is allowed.', { command: 'git', subcommand: 'config' });
    }
    this.getopt('git', spec.subcommands.get(sub) ?? spec.common, rest);
  }
}

// -------------------------------------------------------------------- helpers

function shellOffReason(syntax: SyntaxFinding, unfinished: string | undefined): string {
  const text = q(syntax.text);
  switch (syntax.what) {
    case 'operator':
      return `Shell operator ${text} is not allowed; send a single command (shell syntax is off for this tool).`;
    case 'comment':
      return 'A shell comment ("#") is not allowed; quote the "#" or remove the comment (shell syntax is off for this tool).';
    case 'reserved word':
      return `Shell keyword ${text} is not allowed; send a single command (shell syntax is off for this tool).`;
    case 'assignment':
      return `Variable assignment ${text} is not allowed; send the command alone (shell syntax is off for this tool).`;
    case 'unfinished':
      return `The command line cannot be judged: ${unfinished ?? 'it is unfinished'}; rewrite it more plainly.`;
    case 'glob':
      return `Unquoted glob ${text} is not allowed; quote it or name the files (shell syntax is off for this tool).`;
    default:
      return `Shell ${syntax.what} ${text} is not allowed; send the literal value (shell syntax is off for this tool).`;
  }
}

/** The name as execve would find it: the last path segment (`/usr/bin/../bin/rm` → `rm`). */
export function baseName(name: string): string {
  const trimmed = name.replace(/\/+$/, '');
  return trimmed.slice(trimmed.lastIndexOf('/') + 1);
}

/** `/a/./b//../c` → `/a/c`; relative paths are returned as they are. */
export function normalisePath(path: string): string {
  if (!path.startsWith('/')) return path;
  const out: string[] = [];
  for (const segment of path.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') out.pop();
    else out.push(segment);
  }
  return `/${out.join('/')}`;
}

/** The normalised absolute directory of a command path, or undefined when it is relative. */
function directoryOf(name: string): string | undefined {
  const trimmed = name.replace(/\/+$/, '');
  const slash = trimmed.lastIndexOf('/');
  if (slash < 0) return undefined;
  const dir = trimmed.slice(0, slash) || '/';
  return dir.startsWith('/') ? normalisePath(dir) : undefined;
}

/** An option word that may take the next word as its value (`-C`, `--file`; not `--file=x`). */
function expectsValue(text: string | undefined): boolean {
  return text !== undefined && text.startsWith('-') && text.length > 1 && !text.includes('=');
}

/** GNU getopt_long reads a unique prefix as the whole name, so `--checkpoint-act` is caught. */
function isDangerousLong(spec: CompiledGetopt, name: string): boolean {
  if (name === '' || spec.exact.has(name)) return false;
  return spec.long.some((d) => d.startsWith(name));
}

const CONFIG_READS = new Set(['--get', '--get-all', '--get-regexp', '--get-urlmatch', '--get-color', '--get-colorbool', '--list', '-l']);
const CONFIG_WRITES = new Set(['--add', '--replace-all', '--unset', '--unset-all', '--rename-section', '--remove-section', '--edit', '-e']);
const CONFIG_WRITE_VERBS = new Set(['set', 'unset', 'rename-section', 'remove-section', 'edit']);

/** `git config` that sets, unsets or edits (opening an editor runs a program). */
function gitConfigWrites(args: readonly Arg[]): boolean {
  const texts = args.map((a) => a.text);
  if (texts.some((t) => CONFIG_WRITES.has(t.split('=', 1)[0]!) || /^-[a-zA-Z]*e/.test(t))) return true;
  const positional = texts.filter((t) => !t.startsWith('-'));
  if (CONFIG_WRITE_VERBS.has(positional[0] ?? '')) return true;
  if (texts.some((t) => CONFIG_READS.has(t.split('=', 1)[0]!)) || positional[0] === 'get' || positional[0] === 'list') return false;
  return positional.length !== 1; // `git config KEY` reads; `git config KEY VALUE` writes
}

/**
 * GNU `env -S` splitting: blanks separate, quotes group, backslash escapes (`\_` is a blank
 * outside double quotes, `\c` ends the string), `#` at a word's start begins a comment.
 * `${VAR}` would be expanded by env: undefined (not judgeable).
 */
export function splitEnvString(s: string): string[] | undefined {
  const words: string[] = [];
  let word: string | undefined;
  const escapes: Record<string, string> = { f: '\f', n: '\n', r: '\r', t: '\t', v: '\v' };
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === '$') return undefined;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\v' || c === '\f' || c === '\r') {
      if (word !== undefined) words.push(word);
      word = undefined;
    } else if (c === '#' && word === undefined) {
      break;
    } else if (c === "'") {
      const end = s.indexOf("'", i + 1);
      if (end < 0) return undefined;
      word = (word ?? '') + s.slice(i + 1, end).replace(/\\([\\'])/g, '$1');
      i = end;
    } else if (c === '"' || c === '\\') {
      if (c === '\\') {
        const d = s[++i];
        if (d === undefined || d === 'c') break;
        if (d === '_') {
          if (word !== undefined) words.push(word);
          word = undefined;
        } else word = (word ?? '') + (escapes[d] ?? d);
        continue;
      }
      let j = i + 1;
      let text = '';
      for (; j < s.length && s[j] !== '"'; j++) {
        if (s[j] === '$') return undefined;
        if (s[j] === '\\' && j + 1 < s.length) {
          const d = s[++j]!;
          if (d === 'c') return undefined;
          text += d === '_' ? ' ' : (escapes[d] ?? d);
        } else text += s[j];
      }
      if (j >= s.length) return undefined;
      word = (word ?? '') + text;
      i = j;
    } else {
      word = (word ?? '') + c;
    }
  }
  if (word !== undefined) words.push(word);
  return words;
}

// -------------------------------------------------------------------- option parsing for wrappers

interface CompiledWrapper {
  readonly spec: WrapperSpec;
  readonly options: ReadonlyMap<string, OptionArg>;
  readonly longs: readonly string[];
  readonly effects: ReadonlyMap<string, readonly Effect[]>;
}

interface FoundOption {
  readonly key: string;
  readonly value?: string;
  readonly valueArg?: Arg;
}

type Parsed = { readonly found: readonly FoundOption[]; readonly next: number } | { readonly unknown: string } | 'missing';

/** One option word (a long option, or a cluster of short ones) the way getopt_long reads it. */
function parseOption(w: CompiledWrapper, args: readonly Arg[], i: number): Parsed {
  const t = args[i]!.text;
  const valued = (key: string, next: Arg | undefined): Parsed =>
    next ? { found: [{ key, value: next.text, valueArg: next }], next: i + 2 } : 'missing';
  if (t.startsWith('--') || w.spec.clusters === false) {
    const eq = t.startsWith('--') ? t.indexOf('=') : -1;
    const given = eq < 0 ? t : t.slice(0, eq);
    let key = w.options.has(given) ? given : undefined;
    if (key === undefined && w.spec.abbreviations !== false && given.startsWith('--')) {
      const candidates = w.longs.filter((l) => l.startsWith(given));
      if (candidates.length === 1) key = candidates[0];
    }
    const kind = key === undefined ? undefined : w.options.get(key);
    if (key === undefined || kind === undefined || (kind === 'flag' && eq >= 0)) return { unknown: given };
    if (eq >= 0) return { found: [{ key, value: t.slice(eq + 1) }], next: i + 1 };
    if (kind === 'value') return valued(key, args[i + 1]);
    return { found: [{ key }], next: i + 1 };
  }
  const found: FoundOption[] = [];
  for (let k = 1; k < t.length; k++) {
    const key = `-${t[k]}`;
    const kind = w.options.get(key);
    if (kind === undefined) return { unknown: key };
    if (kind === 'flag') {
      found.push({ key });
      continue;
    }
    const rest = t.slice(k + 1);
    if (rest !== '' || kind === 'optional') {
      found.push(rest === '' ? { key } : { key, value: rest });
      return { found, next: i + 1 };
    }
    const next = valued(key, args[i + 1]);
    if (next === 'missing' || 'unknown' in next) return next;
    return { found: [...found, ...next.found], next: next.next };
  }
  return { found, next: i + 1 };
}

// -------------------------------------------------------------------- the tables, compiled once

const COMPILED_WRAPPERS: ReadonlyMap<string, CompiledWrapper> = new Map(
  Object.entries(WRAPPERS).map(([name, spec]) => {
    const effects = new Map(Object.entries(spec.effects ?? {}));
    const options = new Map(Object.entries(spec.options));
    return [name, { spec, options, longs: [...options.keys()].filter((k) => k.startsWith('--')), effects }];
  }),
);

interface CompiledGetopt {
  readonly style: 'getopt';
  readonly long: readonly string[];
  readonly exact: ReadonlySet<string>;
  readonly short: string;
  readonly stop: string;
  readonly oldStyle: boolean;
}

interface CompiledFind {
  readonly style: 'find';
  readonly danger: ReadonlySet<string>;
  readonly valued: ReadonlySet<string>;
}

interface CompiledGit {
  readonly style: 'git';
  readonly globalValued: ReadonlySet<string>;
  readonly globalDanger: ReadonlySet<string>;
  readonly common: CompiledGetopt;
  readonly subcommands: ReadonlyMap<string, CompiledGetopt>;
  readonly runs: ReadonlyMap<string, readonly string[]>;
}

type CompiledTool = CompiledGetopt | CompiledFind | CompiledGit;

function compileGetopt(spec: Omit<GetoptTool, 'style'>): CompiledGetopt {
  return { style: 'getopt', long: spec.long, exact: new Set(spec.exact ?? []), short: spec.short, stop: spec.stop, oldStyle: spec.oldStyle === true };
}

function compileTool(spec: GetoptTool | FindTool | GitTool): CompiledTool {
  if (spec.style === 'getopt') return compileGetopt(spec);
  if (spec.style === 'find') return { style: 'find', danger: new Set(spec.danger), valued: new Set(spec.valued) };
  return {
    style: 'git',
    globalValued: new Set(spec.globalValued),
    globalDanger: new Set(spec.globalDanger),
    common: compileGetopt({ long: spec.long, short: '', stop: '' }),
    subcommands: new Map(
      Object.entries(spec.subcommands).map(([sub, s]) => [sub, compileGetopt({ long: [...spec.long, ...(s.long ?? [])], short: s.short ?? '', stop: s.stop ?? '' })]),
    ),
    runs: new Map(Object.entries(spec.runs)),
  };
}

const COMPILED_TOOLS: ReadonlyMap<string, CompiledTool> = new Map(Object.entries(TOOLS).map(([name, spec]) => [name, compileTool(spec)]));
