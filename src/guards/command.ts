/**
 * The command guard (seed 002 "Process Policy": command allow/block lists, argument
 * validation, shell execution controls): judges one tool argument that a server will
 * execute, either a command line it passes to `sh -c` (a string) or an exec-style call
 * (`{ command, args }`, no shell).
 *
 * The string form is split the way POSIX sh splits it (`shell-lexer.ts`), so `'r''m'`, `\rm`
 * and `/usr/bin/../bin/rm` are all `rm`. With `allowShell` off, any unquoted shell syntax is
 * refused; with it on, every command in the line is judged. Command names are judged by
 * basename against `block` (always wins) and `allow`; wrappers (env, xargs, nice, timeout,
 * busybox, command, …) are seen through; options that make git, find, tar or rsync run a
 * program or write a chosen file are refused (`shell-tools.ts` holds that knowledge as data).
 *
 * What it cannot judge is what an allowed program does with its operands: that is the path
 * and URL guards' question, and in the end the sandbox's (docs/guards/command.md).
 *
 * @example
 *   const guard = commandGuard({ allow: ['ls', 'git', 'grep'], block: ['rm', 'sh'] });
 *   guard.check('git log -n 3', call);           // undefined: allowed
 *   guard.check("'r''m' -rf /", call)?.rule;     // 'command.blocked'
 *   guard.check('ls; ls', call)?.rule;           // 'command.shell-syntax'
 */
import { finding, GuardConfigError, type ArgumentGuard, type GuardCall, type GuardFinding } from './guard.ts';
import { literal } from './shell-parser.ts';
import { Judge, normalisePath, type Policy } from './shell-judge.ts';

export interface CommandGuardOptions {
  /** Command names (basenames) that may run. Required; `[]` refuses every command. */
  readonly allow: readonly string[];
  /** Command names that never run, even when also allowed. */
  readonly block?: readonly string[];
  /** Accept shell syntax in string commands and judge every command in the line. Default false. */
  readonly allowShell?: boolean;
  /** Exec form (and each string-form command): `args[N]` and later may not begin with `-`. */
  readonly noOptionsAfter?: number;
  /** Directories a command given with a `/` may come from. Default: the system bin directories. */
  readonly commandDirs?: readonly string[];
}

export const DEFAULT_COMMAND_DIRS: readonly string[] = ['/bin', '/sbin', '/usr/bin', '/usr/sbin', '/usr/local/bin', '/usr/local/sbin'];

/** Linux refuses a single argument longer than this (MAX_ARG_STRLEN), so no server can run one. */
export const MAX_COMMAND_LENGTH = 128 * 1024;

const KNOWN_OPTIONS = new Set(['allow', 'block', 'allowShell', 'noOptionsAfter', 'commandDirs']);

function names(value: unknown, key: string, required: boolean): string[] {
  if (value === undefined && !required) return [];
  if (!Array.isArray(value)) {
    throw new GuardConfigError(`command guard: \`${key}\` must be a list of command names${required ? ' (use [] to refuse every command)' : ''}.`);
  }
  for (const name of value) {
    if (typeof name !== 'string' || name === '') throw new GuardConfigError(`command guard: \`${key}\` entries must be non-empty strings.`);
    if (/[\s/\0]/.test(name) || name === '..') {
      throw new GuardConfigError(`command guard: \`${key}\` lists command names, not command lines or paths: ${JSON.stringify(name)}.`);
    }
  }
  return value as string[];
}

function compile(options: unknown): Policy {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new GuardConfigError('command guard: options must be an object with at least `allow`.');
  }
  const o = options as Record<string, unknown>;
  const unknown = Object.keys(o).filter((k) => !KNOWN_OPTIONS.has(k));
  if (unknown.length > 0) {
    throw new GuardConfigError(`command guard: unknown option ${unknown.map((k) => `\`${k}\``).join(', ')}; expected allow, block, allow_shell, no_options_after, command_dirs.`);
  }
  const allow = names(o.allow, 'allow', true);
  const block = names(o.block, 'block', false);
  if (o.allowShell !== undefined && typeof o.allowShell !== 'boolean') throw new GuardConfigError('command guard: `allow_shell` must be true or false.');
  const n = o.noOptionsAfter;
  if (n !== undefined && (typeof n !== 'number' || !Number.isInteger(n) || n < 0)) {
    throw new GuardConfigError('command guard: `no_options_after` must be a whole number of arguments (0 or more).');
  }
  let dirs = DEFAULT_COMMAND_DIRS;
  if (o.commandDirs !== undefined) {
    if (!Array.isArray(o.commandDirs) || o.commandDirs.some((d) => typeof d !== 'string' || !d.startsWith('/') || d.includes('\0'))) {
      throw new GuardConfigError('command guard: `command_dirs` must be a list of absolute directory paths.');
    }
    dirs = o.commandDirs as string[];
  }
  return {
    allow: new Set(allow),
    block: new Set(block),
    allowShell: o.allowShell === true,
    noOptionsAfter: n as number | undefined,
    commandDirs: new Set(dirs.map(normalisePath)),
  };
}

const BAD_SHAPE = 'The command must be a string or { command, args } with string arguments; send one of those.';

export function commandGuard(options: CommandGuardOptions): ArgumentGuard {
  const policy = compile(options);

  function judge(value: unknown): GuardFinding | undefined {
    const bad = (reason: string, evidence?: Record<string, unknown>): GuardFinding => finding('command.bad-input', reason, evidence);
    const judge = new Judge(policy);
    if (typeof value === 'string') {
      if (value.includes('\0')) return bad('The command contains a NUL byte, which no program can receive; remove it.', { at: value.indexOf('\0') });
      if (value.length > MAX_COMMAND_LENGTH) return bad(`The command is longer than ${MAX_COMMAND_LENGTH} characters; send a shorter one.`, { length: value.length });
      judge.line(value, 0, true);
    } else {
      if (value === null || typeof value !== 'object' || Array.isArray(value)) return bad(BAD_SHAPE, { type: value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value });
      const { command, args = [], ...rest } = value as Record<string, unknown>;
      const extra = Object.keys(rest);
      if (extra.length > 0) return bad(`${BAD_SHAPE.slice(0, -1)} only; ${JSON.stringify(extra[0])} cannot be judged.`, { key: extra[0] });
      if (typeof command !== 'string' || !Array.isArray(args) || !args.every((a) => typeof a === 'string')) return bad(BAD_SHAPE);
      const argv = [command, ...(args as string[])];
      if (argv.some((a) => a.includes('\0'))) return bad('The command or an argument contains a NUL byte, which no program can receive; remove it.');
      if (argv.reduce((sum, a) => sum + a.length, 0) > MAX_COMMAND_LENGTH) return bad(`The command is longer than ${MAX_COMMAND_LENGTH} characters; send a shorter one.`);
      if (command === '') return bad('The command name is empty; name the program to run.');
      judge.argv(argv.map(literal), 0, true, false);
    }
    const worst = judge.worst();
    return worst === undefined ? undefined : finding(worst.rule, worst.reason, worst.evidence);
  }

  return {
    kind: 'command',
    check: function commandGuardCheck(value: unknown, _call: GuardCall): GuardFinding | undefined {
      try {
        return judge(value);
      } catch {
        // Never throw from check; an input the judge cannot handle is refused.
        return finding('command.bad-input', 'The command could not be judged, so it was refused; simplify it.');
      }
    },
  };
}
