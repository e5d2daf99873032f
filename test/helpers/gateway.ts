/**
 * Test helpers: run the real `guardrail` CLI (as a child process) with a config written to a
 * temporary directory, and connect the official SDK clients to it over stdio or HTTP.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

export const ROOT = resolve(import.meta.dirname, '../..');
export const CLI = join(ROOT, 'src/cli/main.ts');
export const EVERYTHING = join(ROOT, 'node_modules/@modelcontextprotocol/server-everything/dist/index.js');
export const FILESYSTEM = join(ROOT, 'node_modules/@modelcontextprotocol/server-filesystem/dist/index.js');
export const FIXTURE = join(ROOT, 'test/fixtures/fixture-server.ts');
export const CONFORMANCE_SERVER = join(ROOT, 'test/fixtures/conformance-server.ts');
export const NODE = process.execPath;

export type Downstream = 'stdio' | 'http';

export interface Workspace {
  readonly dir: string;
  readonly config: string;
  readonly decisionLog: string;
  /** The decision records written so far. */
  decisions(): Array<Record<string, unknown>>;
  remove(): void;
}

/** Writes `config` (plus a decision log file sink) to a fresh temporary directory. */
export function workspace(config: Record<string, unknown>): Workspace {
  const dir = mkdtempSync(join(tmpdir(), 'guardrail-test-'));
  const decisionLog = join(dir, 'decisions.jsonl');
  const file = join(dir, 'guardrail.yaml');
  writeFileSync(file, stringify({ decision_log: { sink: 'file', path: decisionLog }, log: { level: 'warn' }, ...config }));
  return {
    dir,
    config: file,
    decisionLog,
    decisions: () =>
      existsSync(decisionLog)
        ? readFileSync(decisionLog, 'utf8')
            .split('\n')
            .filter(Boolean)
            .map((l) => JSON.parse(l) as Record<string, unknown>)
        : [],
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export interface RunningGateway {
  readonly url: URL;
  readonly process: ChildProcess;
  stderr(): string;
  /** Sends SIGTERM and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Starts the CLI with an HTTP listener on a free port; resolves once it is listening. */
export async function startHttpGateway(args: string[], options: { env?: NodeJS.ProcessEnv } = {}): Promise<RunningGateway> {
  const child = spawn(NODE, [CLI, 'run', '--listen', 'http://127.0.0.1:0/mcp', '--log-level', 'info', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...options.env },
  });
  let stderr = '';
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  const url = await new Promise<URL>((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error(`the gateway did not start:\n${stderr}`)), 20_000);
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      const match = /listening .*url=(\S+)/.exec(stderr);
      if (match) {
        clearTimeout(timer);
        resolveUrl(new URL(match[1]!));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the gateway exited with ${code}:\n${stderr}`));
    });
  });
  return {
    url,
    process: child,
    stderr: () => stderr,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** Waits until /readyz answers 200 (the required upstreams are up). */
export async function waitReady(url: URL, timeoutMs = 20_000): Promise<void> {
  const ready = new URL('/readyz', url);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await fetch(ready).catch(() => undefined);
    if (res?.status === 200) return;
    if (Date.now() > deadline) throw new Error(`not ready: ${res ? await res.text() : 'no answer'}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface Connected {
  readonly client: Client;
  /** The gateway process (stdio) or undefined (HTTP: the caller owns it). */
  stderr(): string;
  close(): Promise<void>;
}

/** An SDK 1.x client (protocol 2025-11-25) connected to the gateway. */
export async function connectV1(
  downstream: Downstream,
  target: { config: string } | { url: URL },
  options: { capabilities?: Record<string, unknown>; setup?: (client: Client) => void } = {},
): Promise<Connected> {
  const client = new Client({ name: 'guardrail-e2e', version: '1.0.0' }, { capabilities: options.capabilities ?? {} });
  options.setup?.(client);
  if (downstream === 'stdio') {
    if (!('config' in target)) throw new Error('stdio needs a config');
    const transport = new StdioClientTransport({ command: NODE, args: [CLI, 'run', '--config', target.config], stderr: 'pipe', env: process.env as Record<string, string> });
    let stderr = '';
    transport.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    await client.connect(transport);
    return { client, stderr: () => stderr, close: () => client.close() };
  }
  if (!('url' in target)) throw new Error('http needs a url');
  const transport = new StreamableHTTPClientTransport(target.url);
  await client.connect(transport);
  return {
    client,
    stderr: () => '',
    async close() {
      await transport.terminateSession().catch(() => undefined);
      await client.close();
    },
  };
}

/**
 * The gateway for `config` reached over `downstream`: over stdio the client starts it; over
 * HTTP it is started on a free port first, and `close` stops it after the client.
 */
export async function connectThrough(downstream: Downstream, config: string, options: Parameters<typeof connectV1>[2] = {}): Promise<Connected> {
  if (downstream === 'stdio') return connectV1('stdio', { config }, options);
  const gateway = await startHttpGateway(['--config', config]);
  try {
    const conn = await connectV1('http', { url: gateway.url }, options);
    return {
      client: conn.client,
      stderr: () => gateway.stderr(),
      async close() {
        await conn.close();
        await gateway.stop();
      },
    };
  } catch (error) {
    await gateway.stop();
    throw error;
  }
}

/** Polls `check` until it returns a value other than undefined. */
export async function eventually<T>(check: () => T | undefined | Promise<T | undefined>, timeoutMs = 10_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The text of a tool result's content blocks, joined by newlines. */
export function textOf(result: unknown): string {
  return ((result as { content?: Array<{ type: string; text?: string }> }).content ?? []).map((c) => c.text ?? '').join('\n');
}

/** Whether a process with this pid exists (signal 0 checks without signalling). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
