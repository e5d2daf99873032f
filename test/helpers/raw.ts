/**
 * Talking to the gateway at the byte level, for what an SDK client would never send:
 * malformed lines, invalid ids, oversized messages.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { request } from 'node:http';
import { CLI, NODE } from './gateway.ts';

type Message = Record<string, unknown>;

/** The gateway CLI on stdio, driven line by line. */
export class RawStdio {
  readonly process: ChildProcess;
  readonly messages: Message[] = [];
  #stderr = '';
  #buffer = '';
  #waiters: Array<() => void> = [];

  constructor(args: string[], options: { env?: NodeJS.ProcessEnv } = {}) {
    this.process = spawn(NODE, [CLI, 'run', ...args], { stdio: ['pipe', 'pipe', 'pipe'], ...(options.env ? { env: options.env } : {}) });
    this.process.stdout!.on('data', (chunk: Buffer) => {
      this.#buffer += chunk.toString();
      let nl: number;
      while ((nl = this.#buffer.indexOf('\n')) >= 0) {
        const line = this.#buffer.slice(0, nl);
        this.#buffer = this.#buffer.slice(nl + 1);
        if (line.trim()) this.messages.push(JSON.parse(line) as Message);
      }
      for (const w of this.#waiters.splice(0)) w();
    });
    this.process.stderr!.on('data', (chunk: Buffer) => (this.#stderr += chunk.toString()));
  }

  get stderr(): string {
    return this.#stderr;
  }

  write(data: string | Buffer): void {
    this.process.stdin!.write(data);
  }

  send(message: Message): void {
    this.write(`${JSON.stringify(message)}\n`);
  }

  /** The first message (received so far or later) matching `match`. */
  async next(match: (m: Message) => boolean, timeoutMs = 15_000): Promise<Message> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.messages.find(match);
      if (found) {
        this.messages.splice(this.messages.indexOf(found), 1);
        return found;
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no matching message; stderr:\n${this.#stderr}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  response(id: unknown, timeoutMs?: number): Promise<Message> {
    return this.next((m) => m.id === id && ('result' in m || 'error' in m), timeoutMs);
  }

  async initialize(capabilities: Message = {}): Promise<Message> {
    this.send({ jsonrpc: '2.0', id: 'init', method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities, clientInfo: { name: 'raw', version: '1' } } });
    const answer = await this.response('init');
    this.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
    return answer;
  }

  /** Closes stdin (as a client that goes away does) and waits for the exit code. */
  async end(timeoutMs = 10_000): Promise<number | null> {
    const exited = new Promise<number | null>((resolve) => this.process.once('exit', (code) => resolve(code)));
    this.process.stdin!.end();
    const timer = setTimeout(() => this.process.kill('SIGKILL'), timeoutMs);
    const code = await exited;
    clearTimeout(timer);
    return code;
  }
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One HTTP request with full control over the headers (fetch would drop Host). */
export function rawHttp(url: URL, options: { method?: string; headers?: Record<string, string>; body?: string | Buffer }): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: options.method ?? 'POST', headers: options.headers, setHost: options.headers?.host === undefined }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

export const MCP_HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };

/** The JSON-RPC messages in an SSE body. */
export function sseMessages(body: string): Message[] {
  return body
    .split('\n')
    .filter((l) => l.startsWith('data:') && l.slice(5).trim())
    .map((l) => JSON.parse(l.slice(5)) as Message);
}
