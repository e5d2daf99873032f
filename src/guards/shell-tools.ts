/**
 * What the command guard knows about particular programs, as data: wrappers that run another
 * command (and which of their options take a value, so the inner command is found where the
 * program finds it), and tools whose options or subcommands run another program or write a
 * file of the caller's choosing (seed 002: argument validation).
 *
 * Rules for editing these tables. An option listed as taking a value must really take one in
 * every version: listing a flag as valued would make the guard skip the word after it, which
 * may be the command. Leaving a valued option out is safe (the guard then refuses the call
 * as unjudgeable, or reads its value as an option and refuses more). The same holds for the
 * `stop` letters of short-option clusters.
 */

/** `value`: the next word or the rest of the cluster; `optional`: only attached (`-d1`, `--x=1`). */
export type OptionArg = 'flag' | 'value' | 'optional';

/**
 * `no-exec`: with this option the wrapper runs nothing (`command -v`, `ionice -p`).
 * `split`: the value is split into words that take the option's place (`env -S`).
 * `danger`: the option writes a file or runs a program itself (`time -o`, `sudo -e`).
 * `shell`: without a command the wrapper starts a shell (`sudo -s`).
 * `argv`: the command is run directly, not through `sh -c` (`watch -x`).
 * `replace`: input replaces the value (default `{}`) wherever it appears (`xargs -I`).
 */
export type Effect = 'no-exec' | 'split' | 'danger' | 'shell' | 'argv' | 'replace';

export interface WrapperSpec {
  /** Every option the wrapper accepts, `-x` or `--long`. Anything else is refused as unjudgeable. */
  readonly options: Readonly<Record<string, OptionArg>>;
  readonly effects?: Readonly<Record<string, readonly Effect[]>>;
  /** getopt_long: a unique prefix names a long option. Default true. */
  readonly abbreviations?: boolean;
  /** Short options may be clustered (`-iv`). Default true. */
  readonly clusters?: boolean;
  /** `NAME=value` words between the options and the command (env, sudo). */
  readonly assignments?: boolean;
  /** `nice -5`: a number written as an option. */
  readonly numeric?: boolean;
  /** Operands between the options and the command: timeout's duration, flock's file. */
  readonly operands?: number;
  /** An optional numeric operand before the command (chrt's priority). */
  readonly numericOperand?: boolean;
  /** After the operands, these words mean "the next word is a line for `sh -c`" (flock -c). */
  readonly commandString?: readonly string[];
  /** The command and its arguments are joined and run by `sh -c` (watch). */
  readonly shellString?: boolean;
  /** Words from the wrapper's input are appended to the command (xargs). */
  readonly appends?: boolean;
  /** With no command: runs nothing, runs `echo` (xargs), or prints the environment (env). */
  readonly bare: 'nothing' | 'echo' | 'environment';
}

const HELP = { '--help': 'flag', '--version': 'flag' } as const;
const HELP_EFFECTS = { '--help': ['no-exec'], '--version': ['no-exec'] } as const;

export const WRAPPERS: Readonly<Record<string, WrapperSpec>> = {
  env: {
    options: {
      '-': 'flag', '-i': 'flag', '--ignore-environment': 'flag', '-0': 'flag', '--null': 'flag', '-v': 'flag', '--debug': 'flag',
      '-u': 'value', '--unset': 'value', '-C': 'value', '--chdir': 'value', '-S': 'value', '--split-string': 'value',
      '-a': 'value', '--argv0': 'value', '--block-signal': 'optional', '--default-signal': 'optional',
      '--ignore-signal': 'optional', '--list-signal-handling': 'flag', ...HELP,
    },
    effects: { '-S': ['split'], '--split-string': ['split'], ...HELP_EFFECTS },
    assignments: true,
    bare: 'environment',
  },
  xargs: {
    options: {
      '-0': 'flag', '--null': 'flag', '-a': 'value', '--arg-file': 'value', '-d': 'value', '--delimiter': 'value',
      '-E': 'value', '--eof': 'optional', '-e': 'optional', '-I': 'value', '--replace': 'optional', '-i': 'optional',
      '-L': 'value', '--max-lines': 'optional', '-l': 'optional', '-n': 'value', '--max-args': 'value',
      '-P': 'value', '--max-procs': 'value', '-o': 'flag', '--open-tty': 'flag', '-p': 'flag', '--interactive': 'flag',
      '--process-slot-var': 'value', '-r': 'flag', '--no-run-if-empty': 'flag', '-s': 'value', '--max-chars': 'value',
      '--show-limits': 'flag', '-t': 'flag', '--verbose': 'flag', '-x': 'flag', '--exit': 'flag', ...HELP,
    },
    effects: { '-I': ['replace'], '-i': ['replace'], '--replace': ['replace'], ...HELP_EFFECTS },
    appends: true,
    bare: 'echo',
  },
  nice: { options: { '-n': 'value', '--adjustment': 'value', ...HELP }, effects: HELP_EFFECTS, numeric: true, bare: 'nothing' },
  timeout: {
    options: {
      '-s': 'value', '--signal': 'value', '-k': 'value', '--kill-after': 'value', '-f': 'flag', '--foreground': 'flag',
      '-p': 'flag', '--preserve-status': 'flag', '-v': 'flag', '--verbose': 'flag', ...HELP,
    },
    effects: HELP_EFFECTS,
    operands: 1,
    bare: 'nothing',
  },
  busybox: {
    options: { '--list': 'flag', '--list-full': 'flag', '--help': 'flag', '--install': 'flag', '--show': 'value' },
    effects: { '--list': ['no-exec'], '--list-full': ['no-exec'], '--help': ['no-exec'], '--show': ['no-exec'], '--install': ['danger', 'no-exec'] },
    abbreviations: false,
    clusters: false,
    bare: 'nothing',
  },
  command: {
    options: { '-p': 'flag', '-v': 'flag', '-V': 'flag' },
    effects: { '-v': ['no-exec'], '-V': ['no-exec'] },
    abbreviations: false,
    bare: 'nothing',
  },
  exec: { options: { '-c': 'flag', '-l': 'flag', '-a': 'value' }, abbreviations: false, bare: 'nothing' },
  builtin: { options: {}, abbreviations: false, bare: 'nothing' },
  nohup: { options: HELP, effects: HELP_EFFECTS, bare: 'nothing' },
  stdbuf: {
    options: { '-i': 'value', '--input': 'value', '-o': 'value', '--output': 'value', '-e': 'value', '--error': 'value', ...HELP },
    effects: HELP_EFFECTS,
    bare: 'nothing',
  },
  setsid: {
    options: { '-c': 'flag', '--ctty': 'flag', '-f': 'flag', '--fork': 'flag', '-w': 'flag', '--wait': 'flag', '-h': 'flag', '-V': 'flag', ...HELP },
    effects: { '-h': ['no-exec'], '-V': ['no-exec'], ...HELP_EFFECTS },
    bare: 'nothing',
  },
  ionice: {
    options: {
      '-c': 'value', '--class': 'value', '-n': 'value', '--classdata': 'value', '-p': 'flag', '--pid': 'flag',
      '-P': 'flag', '--pgid': 'flag', '-u': 'flag', '--uid': 'flag', '-t': 'flag', '--ignore': 'flag', '-h': 'flag', '-V': 'flag', ...HELP,
    },
    effects: {
      '-p': ['no-exec'], '--pid': ['no-exec'], '-P': ['no-exec'], '--pgid': ['no-exec'], '-u': ['no-exec'], '--uid': ['no-exec'],
      '-h': ['no-exec'], '-V': ['no-exec'], ...HELP_EFFECTS,
    },
    bare: 'nothing',
  },
  chrt: {
    options: {
      '-a': 'flag', '--all-tasks': 'flag', '-b': 'flag', '--batch': 'flag', '-d': 'flag', '--deadline': 'flag', '-e': 'flag',
      '--ext': 'flag', '-f': 'flag', '--fifo': 'flag', '-i': 'flag', '--idle': 'flag', '-o': 'flag', '--other': 'flag',
      '-r': 'flag', '--rr': 'flag', '-R': 'flag', '--reset-on-fork': 'flag', '-v': 'flag', '--verbose': 'flag',
      '-m': 'flag', '--max': 'flag', '-p': 'flag', '--pid': 'flag', '-h': 'flag', '-V': 'flag',
      '-T': 'value', '--sched-runtime': 'value', '-P': 'value', '--sched-period': 'value', '-D': 'value', '--sched-deadline': 'value', ...HELP,
    },
    effects: { '-m': ['no-exec'], '--max': ['no-exec'], '-p': ['no-exec'], '--pid': ['no-exec'], '-h': ['no-exec'], '-V': ['no-exec'], ...HELP_EFFECTS },
    numericOperand: true,
    bare: 'nothing',
  },
  taskset: {
    options: { '-a': 'flag', '--all-tasks': 'flag', '-c': 'flag', '--cpu-list': 'flag', '-p': 'flag', '--pid': 'flag', '-h': 'flag', '-V': 'flag', ...HELP },
    effects: { '-p': ['no-exec'], '--pid': ['no-exec'], '-h': ['no-exec'], '-V': ['no-exec'], ...HELP_EFFECTS },
    operands: 1,
    bare: 'nothing',
  },
  time: {
    options: {
      '-p': 'flag', '--portability': 'flag', '-a': 'flag', '--append': 'flag', '-v': 'flag', '--verbose': 'flag', '-q': 'flag',
      '--quiet': 'flag', '-o': 'value', '--output': 'value', '-f': 'value', '--format': 'value', '-V': 'flag', ...HELP,
    },
    effects: { '-o': ['danger'], '--output': ['danger'], '-V': ['no-exec'], ...HELP_EFFECTS },
    bare: 'nothing',
  },
  watch: {
    options: {
      '-n': 'value', '--interval': 'value', '-d': 'optional', '--differences': 'optional', '-t': 'flag', '--no-title': 'flag',
      '-b': 'flag', '--beep': 'flag', '-e': 'flag', '--errexit': 'flag', '-g': 'flag', '--chgexit': 'flag', '-c': 'flag',
      '--color': 'flag', '-p': 'flag', '--precise': 'flag', '-x': 'flag', '--exec': 'flag', '-h': 'flag', '-v': 'flag', ...HELP,
    },
    effects: { '-x': ['argv'], '--exec': ['argv'], '-h': ['no-exec'], '-v': ['no-exec'], ...HELP_EFFECTS },
    shellString: true,
    bare: 'nothing',
  },
  flock: {
    options: {
      '-s': 'flag', '--shared': 'flag', '-x': 'flag', '-e': 'flag', '--exclusive': 'flag', '-u': 'flag', '--unlock': 'flag',
      '-n': 'flag', '--nb': 'flag', '--nonblock': 'flag', '-o': 'flag', '--close': 'flag', '-F': 'flag', '--no-fork': 'flag',
      '--verbose': 'flag', '-w': 'value', '--wait': 'value', '--timeout': 'value', '-E': 'value', '--conflict-exit-code': 'value',
      '-h': 'flag', '-V': 'flag', ...HELP,
    },
    effects: { '-h': ['no-exec'], '-V': ['no-exec'], ...HELP_EFFECTS },
    operands: 1,
    commandString: ['-c', '--command'],
    bare: 'nothing',
  },
  doas: {
    options: { '-L': 'flag', '-n': 'flag', '-s': 'flag', '-a': 'value', '-C': 'value', '-u': 'value' },
    effects: { '-L': ['no-exec'], '-C': ['no-exec'], '-s': ['shell'] },
    abbreviations: false,
    bare: 'nothing',
  },
  sudo: {
    options: {
      '-A': 'flag', '--askpass': 'flag', '-B': 'flag', '--bell': 'flag', '-b': 'flag', '--background': 'flag', '-E': 'flag',
      '--preserve-env': 'optional', '-e': 'flag', '--edit': 'flag', '-H': 'flag', '--set-home': 'flag', '-i': 'flag',
      '--login': 'flag', '-K': 'flag', '--remove-timestamp': 'flag', '-k': 'flag', '--reset-timestamp': 'flag', '-l': 'flag',
      '--list': 'flag', '-N': 'flag', '--no-update': 'flag', '-n': 'flag', '--non-interactive': 'flag', '-P': 'flag',
      '--preserve-groups': 'flag', '-S': 'flag', '--stdin': 'flag', '-s': 'flag', '--shell': 'flag', '-V': 'flag',
      '-v': 'flag', '--validate': 'flag', '-C': 'value', '--close-from': 'value', '-D': 'value', '--chdir': 'value',
      '-g': 'value', '--group': 'value', '-p': 'value', '--prompt': 'value', '-R': 'value', '--chroot': 'value',
      '-r': 'value', '--role': 'value', '-T': 'value', '--command-timeout': 'value', '-t': 'value', '--type': 'value',
      '-U': 'value', '--other-user': 'value', '-u': 'value', '--user': 'value', ...HELP,
    },
    effects: {
      '-e': ['danger'], '--edit': ['danger'], '-i': ['shell'], '--login': ['shell'], '-s': ['shell'], '--shell': ['shell'],
      '-K': ['no-exec'], '--remove-timestamp': ['no-exec'], '-l': ['no-exec'], '--list': ['no-exec'], '-V': ['no-exec'],
      '-v': ['no-exec'], '--validate': ['no-exec'], ...HELP_EFFECTS,
    },
    assignments: true,
    bare: 'nothing',
  },
};

/** Shells: `-c STRING` makes STRING a command line, judged like the string form. */
export const SHELLS: ReadonlySet<string> = new Set(['sh', 'bash', 'dash', 'ash', 'ksh', 'mksh', 'zsh']);
/** Shell options that take the next word (`-o errexit`, `--rcfile FILE`). */
export const SHELL_VALUED: ReadonlySet<string> = new Set(['-o', '+o', '-O', '+O', '--rcfile', '--init-file']);

/** getopt-style tool: dangerous long names (prefix-abbreviable), short letters. */
export interface GetoptTool {
  readonly style: 'getopt';
  /** Long options (without `--`) that run a program or write a chosen file. */
  readonly long: readonly string[];
  /** Real options that are a prefix of a dangerous one (`--checkpoint` of `--checkpoint-action`). */
  readonly exact?: readonly string[];
  /** Dangerous short letters. */
  readonly short: string;
  /** Short letters that certainly take a value: the rest of a cluster is that value. */
  readonly stop: string;
  /** tar's traditional form: a first word without `-` is a cluster of option letters. */
  readonly oldStyle?: boolean;
}

export interface FindTool {
  readonly style: 'find';
  readonly danger: readonly string[];
  /** Predicates that certainly take exactly one argument (which is then not a predicate). */
  readonly valued: readonly string[];
}

export interface GitSubcommand {
  readonly long?: readonly string[];
  readonly short?: string;
  readonly stop?: string;
}

export interface GitTool {
  readonly style: 'git';
  /** Options before the subcommand that take the next word. */
  readonly globalValued: readonly string[];
  /** Options before the subcommand that run programs (`-c core.pager=…`). */
  readonly globalDanger: readonly string[];
  /** Dangerous long options of any subcommand. */
  readonly long: readonly string[];
  readonly subcommands: Readonly<Record<string, GitSubcommand>>;
  /** Subcommands that run programs by design; a list means only with one of those words. */
  readonly runs: Readonly<Record<string, readonly string[]>>;
}

export type ToolSpec = GetoptTool | FindTool | GitTool;

export const TOOLS: Readonly<Record<string, ToolSpec>> = {
  git: {
    style: 'git',
    globalValued: ['-C', '-c', '--git-dir', '--work-tree', '--namespace', '--super-prefix', '--config-env', '--attr-source', '--shallow-file'],
    globalDanger: ['-c', '--config-env', '--exec-path'],
    long: ['output', 'upload-pack', 'receive-pack', 'exec'],
    subcommands: {
      clone: { short: 'uc', stop: 'bjo', long: ['template', 'config'] },
      init: { long: ['template'] },
      'format-patch': { short: 'o', stop: 'v', long: ['output-directory'] },
      archive: { short: 'o' },
      grep: { short: 'O', stop: 'efABCm', long: ['open-files-in-pager'] },
      rebase: { short: 'x', stop: 'XsC' },
      difftool: { short: 'x', stop: 't', long: ['extcmd'] },
    },
    runs: {
      'filter-branch': [], instaweb: [], 'send-email': [], daemon: [], credential: [],
      hook: ['run'], submodule: ['foreach'], bisect: ['run'],
    },
  },
  find: {
    style: 'find',
    danger: ['-exec', '-execdir', '-ok', '-okdir', '-fprint', '-fprint0', '-fprintf', '-fls', '-delete'],
    valued: [
      '-name', '-iname', '-path', '-ipath', '-wholename', '-iwholename', '-regex', '-iregex', '-lname', '-ilname', '-type',
      '-xtype', '-user', '-group', '-uid', '-gid', '-perm', '-size', '-newer', '-anewer', '-cnewer', '-mtime', '-atime',
      '-ctime', '-mmin', '-amin', '-cmin', '-maxdepth', '-mindepth', '-inum', '-links', '-samefile', '-used', '-fstype',
      '-context', '-regextype', '-printf', '-files0-from',
    ],
  },
  tar: {
    style: 'getopt',
    long: ['checkpoint-action', 'to-command', 'use-compress-program', 'info-script', 'new-volume-script', 'rsh-command', 'rmt-command', 'index-file', 'volno-file'],
    exact: ['checkpoint'],
    short: 'IF',
    stop: 'bCfgHKLNTVX',
    oldStyle: true,
  },
  rsync: {
    style: 'getopt',
    long: ['rsh', 'rsync-path', 'remote-option', 'log-file', 'write-batch', 'only-write-batch'],
    short: 'eM',
    stop: 'BefMT',
  },
};
