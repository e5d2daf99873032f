/**
 * Upstream legacy HTTP+SSE (protocol 2024-11-05): a GET opens an event stream whose first
 * `endpoint` event names where to POST; every message from the server arrives on the stream.
 * The stream cannot be resumed: when it drops, the session is gone and the link starts anew.
 */
import type { IncomingMessage } from 'node:http';
import { peekEnvelope } from '../protocol/envelope.ts';
import { decodeFrame, encodeFrame, frameOf, type Frame } from '../protocol/frame.ts';
import { ErrorCode, errorResponse, type JsonRpcId } from '../protocol/jsonrpc.ts';
import { formatBytes } from '../config/units.ts';
import type { Logger } from '../util/logger.ts';
import { discard, readBody, send } from './http-io.ts';
import { SseReader } from './sse.ts';
import type { CloseInfo, FrameTransport, InvalidFrame, ReceiveInfo } from './transport.ts';

export interface SseClientOptions {
  readonly url: URL;
  readonly headers: Readonly<Record<string, string>>;
  readonly connectTimeoutMs: number;
  readonly maxMessageBytes: number;
  readonly logger: Logger;
}

export class LegacySseClientTransport implements FrameTransport {
  readonly #o: SseClientOptions;
  #endpoint: URL | undefined;
  #stream: AbortController | undefined;
  #closed = false;
  onframe?: (frame: Frame, info?: ReceiveInfo) => void;
  oninvalid?: (problem: InvalidFrame) => void;
  onerror?: (error: Error) => void;
  onclose?: (info: CloseInfo) => void;

  constructor(options: SseClientOptions) {
    this.#o = options;
  }

  start(): Promise<void> {
    const controller = new AbortController();
    this.#stream = controller;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        controller.abort();
        reject(new Error(`no endpoint event from ${this.#o.url.href} within ${this.#o.connectTimeoutMs} ms`));
      }, this.#o.connectTimeoutMs);
      send(this.#o.url, { method: 'GET', headers: { ...this.#o.headers, accept: 'text/event-stream' }, signal: controller.signal, headersTimeoutMs: this.#o.connectTimeoutMs })
        .then((res) => {
          if (res.statusCode !== 200) {
            discard(res);
            throw new Error(`the SSE endpoint answered HTTP ${res.statusCode}`);
          }
          this.#read(res, (endpoint) => {
            clearTimeout(timer);
            if (endpoint.origin !== this.#o.url.origin) {
              controller.abort();
              reject(new Error(`the server named an endpoint on another origin (${endpoint.origin})`));
              return;
            }
            this.#endpoint = endpoint;
            resolve();
          });
        })
        .catch((error: Error) => {
          clearTimeout(timer);
          reject(error);
        });
    });
  }

  #read(res: IncomingMessage, onEndpoint: (url: URL) => void): void {
    const reader = new SseReader(this.#o.maxMessageBytes, {
      event: (event) => {
        if (event.event === 'endpoint') {
          try {
            onEndpoint(new URL(event.data.toString('utf8').trim(), this.#o.url));
          } catch {
            this.#o.logger.warn('the server sent an invalid endpoint event');
          }
          return;
        }
        if (event.event !== 'message' || event.data.length === 0) return;
        const decoded = decodeFrame(event.data);
        if (decoded.ok) this.onframe?.(decoded.frame);
        else this.oninvalid?.({ code: decoded.code, reason: decoded.reason, id: decoded.id, size: event.data.length });
      },
      oversized: ({ size, head, tail }) => {
        const envelope = peekEnvelope(head, tail);
        this.oninvalid?.({ code: ErrorCode.MessageTooLarge, reason: `a message of ${formatBytes(size)} exceeds the ${formatBytes(this.#o.maxMessageBytes)} limit`, id: envelope.id ?? null, size, oversized: true });
      },
    });
    res.on('data', (chunk: Buffer) => reader.push(chunk));
    res.once('close', () => this.#finish('the SSE stream closed'));
  }

  async send(frame: Frame): Promise<void> {
    const endpoint = this.#endpoint;
    if (this.#closed || !endpoint) throw new Error('the SSE session is not open');
    const requestId = frame.kind === 'request' ? (frame.message as { id: JsonRpcId }).id : undefined;
    try {
      const res = await send(endpoint, {
        method: 'POST',
        headers: { ...this.#o.headers, 'content-type': 'application/json' },
        body: encodeFrame(frame),
        headersTimeoutMs: this.#o.connectTimeoutMs,
      });
      const status = res.statusCode ?? 0;
      const body = await readBody(res, 64 * 1024).catch(() => Buffer.alloc(0));
      if (status >= 300 && requestId !== undefined) {
        this.onframe?.(frameOf(errorResponse(requestId, ErrorCode.InternalError, `the upstream answered HTTP ${status}: ${body.toString('utf8', 0, 200)}`)));
      }
    } catch (error) {
      if (requestId === undefined) throw error;
      this.onframe?.(frameOf(errorResponse(requestId, ErrorCode.UpstreamClosed, `cannot reach the upstream: ${(error as Error).message}`)));
    }
  }

  async close(): Promise<void> {
    this.#stream?.abort();
    this.#finish('closed by the gateway');
  }

  #finish(reason: string): void {
    if (this.#closed) return;
    this.#closed = true;
    this.onclose?.({ reason });
  }
}
