/**
 * Upstream stdio: an MCP server run as a child process. The child gets its own process group
 * so that everything it starts (an `npx` wrapper's node process, a shell's children) can be
 * ended together: stdin is closed first (servers exit on EOF), then SIGTERM to the group, then
 * SIGKILL. No orphans survive a graceful shutdown.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Frame } from '../protocol/frame.ts';
import type { Logger } from '../util/logger.ts';
import { readFrames, writeFrame } from './stdio-stream.ts';
import type { CloseInfo, FrameTransport, InvalidFrame, ReceiveInfo } from './transport.ts';

export interface ChildProcessOptions {
  readonly command: string;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly cwd: string;
  readonly stderr: 'log' | 'inherit' | 'ignore';
  readonly maxMessageBytes: number;
  readonly logger: Logger;
  /** Time to wait for an exit after each step of a shutdown (default 2 s). */
  readonly graceMs?: number;
}

const MAX_STDERR_LINE = 4096;
const isPosix = process.platform !== 'win32';

export class ChildProcessTransport implements FrameTransport {
  readonly #options: ChildProcessOptions;
  #child: ChildProcess | undefined;
  #exited: Promise<void> | undefined;
  #closed = false;
  onframe?: (frame: Frame, info?: ReceiveInfo) => void;
  oninvalid?: (problem: InvalidFrame) => void;
  onerror?: (error: Error) => void;
  onclose?: (info: CloseInfo) => void;

  constructor(options: ChildProcessOptions) {
    this.#options = options;
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  start(): Promise<void> {
    const o = this.#options;
    return new Promise((resolve, reject) => {
      const child = spawn(o.command, [...o.args], {
        cwd: o.cwd,
        env: o.env,
        stdio: ['pipe', 'pipe', o.stderr === 'inherit' ? 'inherit' : o.stderr === 'ignore' ? 'ignore' : 'pipe'],
        detached: isPosix,
        windowsHide: true,
      });
      this.#child = child;
      let started = false;
      // 'exit', not 'close': a grandchild holding the inherited pipes would delay 'close' forever.
      this.#exited = new Promise((done) => child.once('exit', () => done()));
      child.once('spawn', () => {
        started = true;
        resolve();
      });
      child.once('error', (error) => {
        if (!started) {
          this.#closed = true;
          reject(new Error(`cannot start "${o.command}": ${error.message}`));
          return;
        }
        this.onerror?.(error);
      });
      child.once('exit', (code, signal) => {
        if (!started) return;
        this.#finish({ reason: signal ? `exited on ${signal}` : `exited with code ${code}`, code, signal });
      });
      child.stdin!.on('error', (error) => this.onerror?.(error));
      readFrames(child.stdout!, o.maxMessageBytes, this);
      if (child.stderr) {
        const lines = createInterface({ input: child.stderr, crlfDelay: Infinity });
        lines.on('line', (line) => o.logger.info(line.length > MAX_STDERR_LINE ? `${line.slice(0, MAX_STDERR_LINE)}…` : line, { stream: 'stderr' }));
      }
    });
  }

  send(frame: Frame): Promise<void> {
    const stdin = this.#child?.stdin;
    if (this.#closed || !stdin) return Promise.reject(new Error('the server process is not running'));
    return writeFrame(stdin, frame);
  }

  /** Ends the child and everything in its process group; resolves once it has exited. */
  async close(): Promise<void> {
    const child = this.#child;
    if (!child || child.exitCode !== null || child.signalCode !== null) {
      this.#finish({ reason: 'closed by the gateway' });
      this.#killGroup('SIGKILL');
      return;
    }
    const grace = this.#options.graceMs ?? 2000;
    child.stdin?.end();
    if (!(await this.#waitExit(grace))) {
      this.#signal('SIGTERM');
      if (!(await this.#waitExit(grace))) {
        this.#signal('SIGKILL');
        await this.#waitExit(grace);
      }
    }
    // Anything the server left running in its group goes with it.
    this.#killGroup('SIGKILL');
    this.#finish({ reason: 'closed by the gateway' });
  }

  /** Kills the process group at once (used when the server is unresponsive). */
  kill(): void {
    this.#signal('SIGKILL');
  }

  #signal(signal: NodeJS.Signals): void {
    const child = this.#child;
    if (!child?.pid) return;
    try {
      if (isPosix) process.kill(-child.pid, signal);
      else child.kill(signal);
    } catch {
      // Already gone.
    }
  }

  #killGroup(signal: NodeJS.Signals): void {
    if (isPosix) this.#signal(signal);
  }

  #waitExit(ms: number): Promise<boolean> {
    const exited = this.#exited;
    if (!exited) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), ms);
      void exited.then(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  #finish(info: CloseInfo): void {
    if (this.#closed) return;
    this.#closed = true;
    this.onclose?.(info);
  }
}
