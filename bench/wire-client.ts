/**
 * A minimal MCP client measured at the wire, so the client is never the bottleneck: JSON-RPC
 * over stdio lines (a linear framer: each chunk is searched once, each line joined once) and
 * over Streamable HTTP (keep-alive `node:http`, JSON or SSE answers, `Mcp-Session-Id`). It
 * speaks protocol 2025-11-25: `initialize`, `notifications/initialized`, then requests.
 */
import { request as httpRequest, type Agent, type IncomingMessage } from 'node:http';
import type { Readable, Writable } from 'node:stream';

export const PROTOCOL_VERSION = '2025-11-25';
const CLIENT_INFO = { name: 'guardrail-bench', version: '1.0.0' };

type Json = Record<string, unknown>;

export interface Connection {
  /** Sends a request and resolves with its `result` (rejects on an error answer). */
  request(method: string, params?: Json): Promise<unknown>;
  close(): Promise<void>;
}

export class RpcError extends Error {
  readonly code: number;
  constructor(code: number, message: string) {
    super(`JSON-RPC error ${code}: ${message}`);
    this.code = code;
  }
}

const NEWLINE = 0x0a;
/** A request without an answer for this long fails (the bench then reports the target as broken). */
export const REQUEST_TIMEOUT_MS = 60_000;

/** Splits a byte stream into lines in linear time; `\r\n` is accepted. */
export class Lines {
  #pieces: Buffer[] = [];
  #size = 0;
  readonly #onLine: (line: Buffer) => void;

  constructor(onLine: (line: Buffer) => void) {
    this.#onLine = onLine;
  }

  push(chunk: Buffer): void {
    let start = 0;
    for (let nl = chunk.indexOf(NEWLINE); nl >= 0; nl = chunk.indexOf(NEWLINE, start)) {
      let line: Buffer;
      if (this.#size === 0) line = chunk.subarray(start, nl);
      else {
        this.#pieces.push(chunk.subarray(start, nl));
        line = Buffer.concat(this.#pieces, this.#size + nl - start);
        this.#pieces = [];
        this.#size = 0;
      }
      if (line.length > 0 && line[line.length - 1] === 0x0d) line = line.subarray(0, line.length - 1);
      start = nl + 1;
      this.#onLine(line);
    }
    if (start < chunk.length) {
      this.#pieces.push(chunk.subarray(start));
      this.#size += chunk.length - start;
    }
  }
}

function settle(message: Json, resolve: (value: unknown) => void, reject: (error: Error) => void): void {
  const error = message.error as { code?: number; message?: string } | undefined;
  if (error !== undefined) reject(new RpcError(error.code ?? 0, error.message ?? 'unknown'));
  else resolve(message.result);
}

const initializeParams = () => ({ protocolVersion: PROTOCOL_VERSION, capabilities: {}, clientInfo: CLIENT_INFO });

/** One MCP session over a process's stdin/stdout. */
export class StdioConnection implements Connection {
  readonly #input: Writable;
  readonly #pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  #nextId = 1;
  #closed: Error | undefined;

  private constructor(input: Writable, output: Readable) {
    this.#input = input;
    const lines = new Lines((line) => this.#receive(line));
    output.on('data', (chunk: Buffer) => lines.push(chunk));
    output.once('close', () => this.#fail(new Error('the server closed its stdout')));
    input.on('error', (error: Error) => this.#fail(error));
  }

  /** Connects over `input`/`output` and completes the handshake. */
  static async open(input: Writable, output: Readable): Promise<StdioConnection> {
    const connection = new StdioConnection(input, output);
    await connection.request('initialize', initializeParams());
    connection.#send({ jsonrpc: '2.0', method: 'notifications/initialized' });
    return connection;
  }

  request(method: string, params?: Json): Promise<unknown> {
    if (this.#closed) return Promise.reject(this.#closed);
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error(`no answer to ${method} within ${REQUEST_TIMEOUT_MS} ms`));
      }, REQUEST_TIMEOUT_MS);
      this.#pending.set(id, {
        resolve: (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
      this.#send(params === undefined ? { jsonrpc: '2.0', id, method } : { jsonrpc: '2.0', id, method, params });
    });
  }

  async close(): Promise<void> {
    this.#input.end();
  }

  #send(message: Json): void {
    this.#input.write(`${JSON.stringify(message)}\n`);
  }

  #receive(line: Buffer): void {
    if (line.length === 0) return;
    let message: Json;
    try {
      message = JSON.parse(line.toString('utf8')) as Json;
    } catch {
      return; // not ours to judge here; a missing answer shows up as a timeout
    }
    if (typeof message.method === 'string') {
      // A request from the server: answer pings, refuse the rest.
      if (message.id !== undefined) {
        this.#send(message.method === 'ping' ? { jsonrpc: '2.0', id: message.id, result: {} } : { jsonrpc: '2.0', id: message.id, error: { code: -32601, message: 'not supported by the bench client' } });
      }
      return;
    }
    const waiter = this.#pending.get(message.id as number);
    if (!waiter) return;
    this.#pending.delete(message.id as number);
    settle(message, waiter.resolve, waiter.reject);
  }

  #fail(error: Error): void {
    this.#closed ??= error;
    for (const waiter of this.#pending.values()) waiter.reject(error);
    this.#pending.clear();
  }
}

/** One MCP session over Streamable HTTP (2025-11-25, stateful). */
export class HttpSession implements Connection {
  readonly #url: URL;
  readonly #agent: Agent;
  #sessionId: string | undefined;
  #nextId = 1;

  private constructor(url: URL, agent: Agent) {
    this.#url = url;
    this.#agent = agent;
  }

  static async open(url: URL, agent: Agent): Promise<HttpSession> {
    const session = new HttpSession(url, agent);
    await session.request('initialize', initializeParams());
    await session.#post({ jsonrpc: '2.0', method: 'notifications/initialized' });
    return session;
  }

  get sessionId(): string | undefined {
    return this.#sessionId;
  }

  request(method: string, params?: Json): Promise<unknown> {
    const id = this.#nextId++;
    return this.#post(params === undefined ? { jsonrpc: '2.0', id, method } : { jsonrpc: '2.0', id, method, params });
  }

  /** Ends the session (DELETE). */
  async close(): Promise<void> {
    if (this.#sessionId === undefined) return;
    await new Promise<void>((resolve) => {
      const req = httpRequest(this.#url, { method: 'DELETE', agent: this.#agent, headers: this.#headers() }, (res) => {
        res.resume();
        res.once('end', resolve);
        res.once('error', () => resolve());
      });
      req.once('error', () => resolve());
      req.end();
    });
    this.#sessionId = undefined;
  }

  #headers(): Record<string, string> {
    const headers: Record<string, string> = { accept: 'application/json, text/event-stream' };
    if (this.#sessionId !== undefined) {
      headers['mcp-session-id'] = this.#sessionId;
      headers['mcp-protocol-version'] = PROTOCOL_VERSION;
    }
    return headers;
  }

  /** POSTs one message; resolves with the answer's result (a request) or once accepted (a notification). */
  #post(message: Json): Promise<unknown> {
    return this.#attempt(message).catch((error: Error & { code?: string; reusedSocket?: boolean }) => {
      // A keep-alive socket the server closed just as we reused it: the request never arrived.
      if (error.reusedSocket === true && error.code === 'ECONNRESET') return this.#attempt(message);
      throw error;
    });
  }

  #attempt(message: Json): Promise<unknown> {
    const body = Buffer.from(JSON.stringify(message));
    const id = message.id;
    return new Promise((resolve, reject) => {
      let done = false;
      const timer = setTimeout(() => {
        fail(new Error(`no answer to ${String(message.method)} within ${REQUEST_TIMEOUT_MS} ms`));
        req.destroy();
      }, REQUEST_TIMEOUT_MS);
      const ok = (value: unknown) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        resolve(value);
      };
      const fail = (error: Error) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        reject(error);
      };
      const req = httpRequest(
        this.#url,
        { method: 'POST', agent: this.#agent, headers: { ...this.#headers(), 'content-type': 'application/json', 'content-length': String(body.length) } },
        (res) => {
          const session = res.headers['mcp-session-id'];
          if (typeof session === 'string') this.#sessionId = session;
          res.once('error', fail);
          if ((res.statusCode ?? 0) >= 400 || id === undefined) {
            readAll(res, (bytes) => ((res.statusCode ?? 0) >= 400 ? fail(new Error(`HTTP ${res.statusCode}: ${bytes.toString('utf8', 0, 500)}`)) : ok(undefined)));
            return;
          }
          const type = res.headers['content-type'] ?? '';
          if (type.includes('text/event-stream')) {
            readEvents(res, (data) => {
              let parsed: Json;
              try {
                parsed = JSON.parse(data.toString('utf8')) as Json;
              } catch (error) {
                return fail(error as Error);
              }
              if (parsed.id === id && parsed.method === undefined) settle(parsed, ok, fail);
            });
            res.once('end', () => fail(new Error(`the SSE stream for request ${String(id)} ended without an answer`)));
          } else {
            readAll(res, (bytes) => {
              try {
                settle(JSON.parse(bytes.toString('utf8')) as Json, ok, fail);
              } catch (error) {
                fail(error as Error);
              }
            });
          }
        },
      );
      req.once('error', (error: Error & { reusedSocket?: boolean }) => {
        error.reusedSocket = req.reusedSocket;
        fail(error);
      });
      req.end(body);
    });
  }
}

function readAll(res: IncomingMessage, done: (bytes: Buffer) => void): void {
  const chunks: Buffer[] = [];
  res.on('data', (chunk: Buffer) => chunks.push(chunk));
  res.once('end', () => done(Buffer.concat(chunks)));
}

/** Calls `onData` with each SSE event's data (events without data, such as primers, are skipped). */
function readEvents(res: IncomingMessage, onData: (data: Buffer) => void): void {
  let data: Buffer[] = [];
  const lines = new Lines((line) => {
    if (line.length === 0) {
      if (data.length > 0) {
        const joined = data.length === 1 ? data[0]! : Buffer.concat(data.flatMap((d, i) => (i === 0 ? [d] : [Buffer.from('\n'), d])));
        data = [];
        if (joined.length > 0) onData(joined);
      }
      return;
    }
    if (line[0] === 0x64 && line.subarray(0, 5).toString('latin1') === 'data:') {
      data.push(line.subarray(line[5] === 0x20 ? 6 : 5));
    }
  });
  res.on('data', (chunk: Buffer) => lines.push(chunk));
}
