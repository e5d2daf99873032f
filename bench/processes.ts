/**
 * Child processes for the benchmark: every process is started through `launch`, its stderr (and
 * stdout when the protocol does not use it) is drained into a bounded buffer, and `stopAll` ends
 * the whole tree by pid: SIGTERM to our children, then SIGKILL to whatever of the tree (as it was
 * seen in /proc just before) is still alive.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

const HEAD = 64 * 1024;
const TAIL = 16 * 1024;
const DECISION = 'guardrail.decision';

export interface Launched {
  readonly name: string;
  readonly child: ChildProcess;
  readonly pid: number;
  /** The first 64 KiB and last 16 KiB written to stderr (and stdout when drained). */
  output(): string;
  /** Decision records (`guardrail.decision`) seen on stderr so far. */
  readonly decisions: number;
  readonly exited: boolean;
  /** Resolves with the first match of `pattern` in the output. */
  waitFor(pattern: RegExp, timeoutMs: number): Promise<RegExpExecArray>;
}

export interface LaunchOptions {
  /** The protocol runs over stdin/stdout (the caller owns both); otherwise stdin is ignored and stdout drained. */
  readonly stdio: boolean;
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
}

const launched: Launched[] = [];

/** Every process launched so far (including those that have ended). */
export function launchedProcesses(): readonly Launched[] {
  return launched;
}

export function launch(name: string, command: string, args: readonly string[], options: LaunchOptions): Launched {
  const child = spawn(command, args, {
    stdio: [options.stdio ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    env: options.env ?? process.env,
    cwd: options.cwd,
  });
  if (child.pid === undefined) throw new Error(`${name}: could not start ${command}`);
  let head = '';
  let tail = '';
  let carry = '';
  let decisions = 0;
  let exited = false;
  const waiters = new Set<() => void>();
  const take = (chunk: Buffer) => {
    const text = chunk.toString('utf8');
    if (head.length < HEAD) head += text.slice(0, HEAD - head.length);
    tail = (tail + text).slice(-TAIL);
    // Count decision records without keeping them (a marker split across chunks is stitched).
    const scan = carry + text;
    for (let at = scan.indexOf(DECISION); at >= 0; at = scan.indexOf(DECISION, at + DECISION.length)) decisions++;
    carry = scan.slice(-(DECISION.length - 1));
    for (const wake of waiters) wake();
  };
  child.stderr!.on('data', take);
  if (!options.stdio) child.stdout!.on('data', take);
  child.once('exit', () => {
    exited = true;
    for (const wake of waiters) wake();
  });
  child.on('error', () => undefined);
  const output = () => (head.length < HEAD ? head : `${head}\n[…]\n${tail}`);
  const entry: Launched = {
    name,
    child,
    pid: child.pid,
    output,
    get decisions() {
      return decisions;
    },
    get exited() {
      return exited;
    },
    waitFor(pattern, timeoutMs) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const match = pattern.exec(head) ?? pattern.exec(tail);
          if (match) done(() => resolve(match));
          else if (exited) done(() => reject(new Error(`${name} exited before printing ${pattern}:\n${output()}`)));
        };
        const timer = setTimeout(() => done(() => reject(new Error(`${name} did not print ${pattern} within ${timeoutMs} ms:\n${output()}`))), timeoutMs);
        const done = (settle: () => void) => {
          clearTimeout(timer);
          waiters.delete(check);
          settle();
        };
        waiters.add(check);
        check();
      });
    },
  };
  launched.push(entry);
  return entry;
}

/** Pids of every live descendant of `root` (from /proc). */
export function descendants(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readStat(Number(entry));
    if (!stat) continue;
    const list = children.get(stat.ppid) ?? [];
    list.push(Number(entry));
    children.set(stat.ppid, list);
  }
  const out: number[] = [];
  const queue = [root];
  while (queue.length > 0) {
    for (const kid of children.get(queue.shift()!) ?? []) {
      out.push(kid);
      queue.push(kid);
    }
  }
  return out;
}

interface Stat {
  readonly state: string;
  readonly ppid: number;
  /** User plus system CPU time, in clock ticks. */
  readonly cpuTicks: number;
}

function readStat(pid: number): Stat | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name is in parentheses and may contain spaces: split after the last ')'.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0]!, ppid: Number(fields[1]), cpuTicks: Number(fields[11]) + Number(fields[12]) };
  } catch {
    return undefined;
  }
}

export function alive(pid: number): boolean {
  const stat = readStat(pid);
  return stat !== undefined && stat.state !== 'Z' && stat.state !== 'X';
}

/** The command line of `pid`, for reports. */
export function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
  } catch {
    return '?';
  }
}

/** CPU seconds used so far by `pid` (user + system); 0 once it is gone. */
export function cpuSeconds(pid: number): number {
  return (readStat(pid)?.cpuTicks ?? 0) / 100;
}

/** CPU seconds used so far by `pid` and its live descendants. */
export function treeCpuSeconds(pid: number): number {
  return [pid, ...descendants(pid)].reduce((sum, p) => sum + cpuSeconds(p), 0);
}

/** CPU seconds used by this process and every child it has reaped (their descendants included). */
export function ownCpuSeconds(): number {
  const text = readFileSync('/proc/self/stat', 'utf8');
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / 100;
}

/** Busy and steal CPU seconds of the whole machine so far (from /proc/stat). */
export function machineCpuSeconds(): { busy: number; steal: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = line;
  return { busy: (user + nice + system + irq + softirq) / 100, steal: steal / 100 };
}

export interface Memory {
  /** Resident set size now, bytes. */
  readonly rss: number;
  /** Peak resident set size over the process's life, bytes. */
  readonly hwm: number;
}

export function memory(pid: number): Memory | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
    return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
  } catch {
    return undefined;
  }
}

let stopping: Promise<void> | undefined;

/** Ends every launched process and its descendants; safe to call more than once. */
export function stopAll(): Promise<void> {
  stopping ??= (async () => {
    const tree = new Set<number>();
    for (const p of launched) {
      if (p.exited) continue;
      tree.add(p.pid);
      for (const d of descendants(p.pid)) tree.add(d);
    }
    for (const p of launched) {
      if (!p.exited) p.child.kill('SIGTERM');
    }
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline && [...tree].some(alive)) await sleep(50);
    // Whatever is left (and anything it started meanwhile) is killed outright.
    for (const pid of [...tree]) if (alive(pid)) for (const d of descendants(pid)) tree.add(d);
    for (const pid of tree) {
      if (!alive(pid)) continue;
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  })();
  return stopping;
}
