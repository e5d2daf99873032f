/** Small node:http helpers shared by the HTTP client transports. */
import type { IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import { http, https } from './node-http.ts';

const { Agent: HttpAgent, request: httpRequest } = http;
const { Agent: HttpsAgent, request: httpsRequest } = https;

const agents = {
  http: new HttpAgent({ keepAlive: true, maxSockets: Infinity }),
  https: new HttpsAgent({ keepAlive: true, maxSockets: Infinity }),
};

export interface SendOptions {
  readonly method: 'GET' | 'POST' | 'DELETE';
  readonly headers: OutgoingHttpHeaders;
  readonly body?: Buffer;
  readonly signal?: AbortSignal;
  /** Time allowed until the response headers arrive. */
  readonly headersTimeoutMs: number;
}

/** Sends a request; resolves with the response once its headers arrived. */
export function send(url: URL, options: SendOptions): Promise<IncomingMessage> {
  const secure = url.protocol === 'https:';
  return new Promise((resolve, reject) => {
    const req = (secure ? httpsRequest : httpRequest)(
      url,
      {
        method: options.method,
        headers: options.body ? { ...options.headers, 'content-length': options.body.length } : options.headers,
        agent: secure ? agents.https : agents.http,
        signal: options.signal,
      },
      (res) => {
        clearTimeout(timer);
        resolve(res);
      },
    );
    const timer = setTimeout(() => req.destroy(new Error(`no response from ${url.origin} within ${options.headersTimeoutMs} ms`)), options.headersTimeoutMs);
    req.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    req.end(options.body);
  });
}

/**
 * Reads a whole body up to `max` bytes and rejects beyond that. A response from a server is
 * dropped at once; a request from a client is left open (`keepOpen`) so it can still be
 * answered with a 413, after which the caller closes the connection.
 */
export function readBody(res: IncomingMessage, max: number, options: { keepOpen?: boolean } = {}): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    res.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (over) return;
      if (size > max) {
        over = true;
        chunks.length = 0;
        if (!options.keepOpen) res.destroy();
        reject(new BodyTooLarge(size));
        return;
      }
      chunks.push(chunk);
    });
    res.on('end', () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size)));
    res.on('error', reject);
    res.on('aborted', () => reject(new Error('the response was aborted')));
  });
}

export class BodyTooLarge extends Error {
  readonly size: number;
  constructor(size: number) {
    super(`the body exceeded the limit (${size} bytes read so far)`);
    this.size = size;
  }
}

/** Drains and discards a response body (keeps the keep-alive socket usable). */
export function discard(res: IncomingMessage): void {
  res.resume();
}

export function header(res: IncomingMessage, name: string): string | undefined {
  const v = res.headers[name];
  return Array.isArray(v) ? v[0] : v;
}
