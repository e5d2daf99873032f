/**
 * Upstream Streamable HTTP: each message is a POST; a request's answer comes back as JSON or as
 * an SSE stream that may carry related notifications and server requests first.
 *
 * 2025-11-25 (legacy): the session id from `initialize` goes on every later request, a
 * standalone GET stream carries unrelated server messages, a stream that drops before the
 * answer is resumed with `Last-Event-ID`, and the session is DELETEd on close.
 * 2026-07-28 (modern): no session; every POST carries `MCP-Protocol-Version`, `Mcp-Method` and
 * (for calls, prompts and reads) `Mcp-Name`, and closing a request's stream cancels it.
 */
import type { IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import { peekEnvelope } from '../protocol/envelope.ts';
import { decodeFrame, encodeFrame, frameOf, type Frame } from '../protocol/frame.ts';
import { ErrorCode, errorResponse, type JsonRpcId, type JsonRpcMessage } from '../protocol/jsonrpc.ts';
import { formatBytes } from '../config/units.ts';
import type { Logger } from '../util/logger.ts';
import { BodyTooLarge, discard, header, readBody, send } from './http-io.ts';
import { SseReader } from './sse.ts';
import type { CloseInfo, FrameTransport, InvalidFrame, ReceiveInfo, SendOptions } from './transport.ts';

export interface HttpClientOptions {
  readonly url: URL;
  readonly headers: Readonly<Record<string, string>>;
  readonly connectTimeoutMs: number;
  readonly maxMessageBytes: number;
  readonly logger: Logger;
}

const MAX_ERROR_BODY = 64 * 1024;
const MAX_RESUME_ATTEMPTS = 3;

type Obj = Record<string, unknown>;

export class StreamableHttpClientTransport implements FrameTransport {
  readonly #o: HttpClientOptions;
  #era: 'legacy' | 'modern' = 'legacy';
  #version: string | undefined;
  #sessionId: string | undefined;
  #initializeId: JsonRpcId | undefined;
  readonly #inflight = new Map<JsonRpcId, AbortController>();
  #getStream: AbortController | undefined;
  #closed = false;
  onframe?: (frame: Frame, info?: ReceiveInfo) => void;
  oninvalid?: (problem: InvalidFrame) => void;
  onerror?: (error: Error) => void;
  onclose?: (info: CloseInfo) => void;
  onpause?: (requestId: JsonRpcId) => void;

  constructor(options: HttpClientOptions) {
    this.#o = options;
  }

  async start(): Promise<void> {}

  setProtocol(era: 'legacy' | 'modern', version: string): void {
    this.#era = era;
    this.#version = version;
    if (era === 'modern') this.#sessionId = undefined;
  }

  async send(frame: Frame, options: SendOptions = {}): Promise<void> {
    if (this.#closed) throw new Error('the transport is closed');
    const message = frame.message as JsonRpcMessage & { id?: JsonRpcId; method?: string; params?: Obj };
    const requestId = frame.kind === 'request' ? message.id! : undefined;
    if (message.method === 'initialize') this.#initializeId = requestId;
    const controller = new AbortController();
    if (requestId !== undefined) this.#inflight.set(requestId, controller);
    try {
      const res = await send(this.#o.url, {
        method: 'POST',
        headers: { ...this.#headers(message), ...options.headers },
        body: encodeFrame(frame),
        signal: controller.signal,
        headersTimeoutMs: this.#o.connectTimeoutMs,
      });
      await this.#onResponse(res, message, requestId);
    } catch (error) {
      if (requestId === undefined) throw error;
      if (!controller.signal.aborted) this.#fail(requestId, ErrorCode.UpstreamClosed, `cannot reach the upstream at ${this.#o.url.origin}: ${(error as Error).message}`);
    } finally {
      if (requestId !== undefined && this.#inflight.get(requestId) === controller) this.#inflight.delete(requestId);
    }
  }

  /** Stops waiting for a request: on the modern wire, closing its stream is the cancellation. */
  abort(requestId: JsonRpcId): void {
    this.#inflight.get(requestId)?.abort();
    this.#inflight.delete(requestId);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const controller of this.#inflight.values()) controller.abort();
    this.#inflight.clear();
    this.#getStream?.abort();
    if (this.#era === 'legacy' && this.#sessionId !== undefined) {
      // Ends the session on the server; a server that does not allow it answers 405, which is fine.
      await send(this.#o.url, { method: 'DELETE', headers: this.#headers(undefined), headersTimeoutMs: 2000 })
        .then(discard)
        .catch(() => undefined);
    }
    this.onclose?.({ reason: 'closed by the gateway' });
  }

  #headers(message: (JsonRpcMessage & { method?: string; params?: Obj }) | undefined): OutgoingHttpHeaders {
    const h: OutgoingHttpHeaders = { ...this.#o.headers, accept: 'application/json, text/event-stream', 'content-type': 'application/json' };
    if (this.#sessionId !== undefined) h['mcp-session-id'] = this.#sessionId;
    const isInitialize = message?.method === 'initialize';
    if (this.#version !== undefined && !isInitialize) h['mcp-protocol-version'] = this.#version;
    if (this.#era === 'modern' && message?.method !== undefined) {
      h['mcp-protocol-version'] = this.#version ?? '2026-07-28';
      h['mcp-method'] = message.method;
      const name = nameOf(message.method, message.params);
      if (name !== undefined) h['mcp-name'] = encodeHeaderValue(name);
    }
    return h;
  }

  async #onResponse(res: IncomingMessage, message: JsonRpcMessage & { method?: string }, requestId: JsonRpcId | undefined): Promise<void> {
    const sessionId = header(res, 'mcp-session-id');
    if (sessionId !== undefined && this.#era === 'legacy' && (message.method === 'initialize' || this.#sessionId === undefined)) this.#sessionId = sessionId;
    const status = res.statusCode ?? 0;
    if (status === 202 || status === 204) {
      discard(res);
      if (requestId !== undefined) this.#fail(requestId, ErrorCode.InternalError, `the upstream accepted the request (HTTP ${status}) but sent no answer`);
      if (message.method === 'notifications/initialized') void this.#openGetStream(undefined, 0);
      return;
    }
    const type = header(res, 'content-type') ?? '';
    if (status >= 400) return this.#onHttpError(res, status, requestId);
    if (type.includes('text/event-stream')) return this.#readStream(res, requestId, 0);
    if (!type.includes('application/json')) {
      discard(res);
      if (requestId !== undefined) this.#fail(requestId, ErrorCode.InternalError, `the upstream answered with unexpected content type "${type}"`);
      return;
    }
    let body: Buffer;
    try {
      body = await readBody(res, this.#o.maxMessageBytes);
    } catch (error) {
      if (requestId === undefined) return;
      if (error instanceof BodyTooLarge) {
        return this.#invalid({ code: ErrorCode.MessageTooLarge, reason: `the answer exceeds the ${formatBytes(this.#o.maxMessageBytes)} limit`, id: requestId, size: error.size, oversized: true });
      }
      return this.#fail(requestId, ErrorCode.UpstreamClosed, `the upstream connection failed while reading the answer: ${(error as Error).message}`);
    }
    this.#deliver(body, requestId);
  }

  async #onHttpError(res: IncomingMessage, status: number, requestId: JsonRpcId | undefined): Promise<void> {
    const body = await readBody(res, MAX_ERROR_BODY).catch(() => Buffer.alloc(0));
    if (status === 404 && this.#era === 'legacy' && this.#sessionId !== undefined) {
      // The server forgot our session: fail this call, then let the link start a new session.
      if (requestId !== undefined) this.#fail(requestId, ErrorCode.UpstreamClosed, 'the upstream ended the session');
      this.#sessionId = undefined;
      if (!this.#closed) {
        this.#closed = true;
        this.onclose?.({ reason: 'the upstream session expired (HTTP 404)' });
      }
      return;
    }
    // A JSON-RPC error in the body is the answer (2026-07-28 sends -32020..-32022 with HTTP 400).
    const decoded = body.length > 0 ? decodeFrame(body) : undefined;
    if (decoded?.ok && decoded.frame.kind === 'error' && requestId !== undefined && (decoded.frame.message as { id: unknown }).id === requestId) {
      this.onframe?.(decoded.frame, { relatedRequestId: requestId });
      return;
    }
    if (requestId === undefined) {
      this.#o.logger.debug('the upstream refused a notification', { status });
      return;
    }
    const text = body.toString('utf8', 0, Math.min(body.length, 200)).replace(/\s+/g, ' ').trim();
    const code = status === 401 || status === 403 ? ErrorCode.PolicyDenied : ErrorCode.InternalError;
    this.#fail(requestId, code, `the upstream answered HTTP ${status}${text ? `: ${text}` : ''}`);
  }

  /** Reads a response SSE stream; resumes it if it drops before the answer (legacy only). */
  #readStream(res: IncomingMessage, requestId: JsonRpcId | undefined, attempt: number): Promise<void> {
    return new Promise((resolve) => {
      let answered = false;
      let retryMs = 1000;
      const reader = new SseReader(this.#o.maxMessageBytes, {
        event: (event) => {
          if (event.retry !== undefined) retryMs = event.retry;
          if (event.data.length === 0 || event.event !== 'message') return;
          if (this.#deliver(event.data, requestId, true) === 'answer') answered = true;
        },
        oversized: ({ size, head, tail }) => {
          const envelope = peekEnvelope(head, tail);
          this.#invalid({ code: ErrorCode.MessageTooLarge, reason: `a message of ${formatBytes(size)} exceeds the ${formatBytes(this.#o.maxMessageBytes)} limit`, id: envelope.id ?? null, size, oversized: true });
          if (envelope.id !== undefined && envelope.id === requestId) answered = true;
        },
      });
      const done = () => {
        res.removeAllListeners('data');
        if (answered || requestId === undefined || this.#closed || !this.#inflight.has(requestId)) return resolve();
        const lastEventId = reader.lastEventId;
        if (this.#era === 'legacy' && lastEventId !== undefined && attempt < MAX_RESUME_ATTEMPTS) {
          this.onpause?.(requestId);
          setTimeout(() => resolve(this.#resume(lastEventId, requestId, attempt + 1)), retryMs).unref();
          return;
        }
        this.#fail(requestId, ErrorCode.UpstreamClosed, 'the upstream closed the stream before answering');
        resolve();
      };
      res.on('data', (chunk: Buffer) => reader.push(chunk));
      res.once('end', done);
      res.once('close', done);
      res.once('error', done);
    });
  }

  async #resume(lastEventId: string, requestId: JsonRpcId, attempt: number): Promise<void> {
    try {
      const res = await send(this.#o.url, {
        method: 'GET',
        headers: { ...this.#headers(undefined), accept: 'text/event-stream', 'last-event-id': lastEventId },
        signal: this.#inflight.get(requestId)?.signal,
        headersTimeoutMs: this.#o.connectTimeoutMs,
      });
      if (res.statusCode !== 200) {
        discard(res);
        return this.#fail(requestId, ErrorCode.UpstreamClosed, `the upstream stream dropped and could not be resumed (HTTP ${res.statusCode})`);
      }
      await this.#readStream(res, requestId, attempt);
    } catch (error) {
      this.#fail(requestId, ErrorCode.UpstreamClosed, `the upstream stream dropped and could not be resumed: ${(error as Error).message}`);
    }
  }

  /**
   * The standalone stream for messages unrelated to any request (legacy sessions). Resolves
   * once the server has answered the GET (or it failed), while the stream itself stays open.
   */
  #openGetStream(lastEventId: string | undefined, failures: number): Promise<void> {
    if (this.#closed || this.#getStream || this.#era !== 'legacy' || this.#sessionId === undefined) return Promise.resolve();
    const controller = new AbortController();
    this.#getStream = controller;
    let connected!: () => void;
    const opened = new Promise<void>((resolve) => (connected = resolve));
    void (async () => {
      let retryMs = Math.min(30_000, 1000 * 2 ** failures);
      let next = lastEventId;
      try {
        const res = await send(this.#o.url, {
          method: 'GET',
          headers: { ...this.#headers(undefined), accept: 'text/event-stream', ...(lastEventId ? { 'last-event-id': lastEventId } : {}) },
          signal: controller.signal,
          headersTimeoutMs: this.#o.connectTimeoutMs,
        });
        connected();
        if (res.statusCode === 405) {
          discard(res);
          return; // the server offers no standalone stream; stay without one
        }
        if (res.statusCode !== 200) {
          discard(res);
          throw new Error(`HTTP ${res.statusCode}`);
        }
        await new Promise<void>((resolve) => {
          const reader = new SseReader(this.#o.maxMessageBytes, {
            event: (event) => {
              if (event.retry !== undefined) retryMs = event.retry;
              if (event.data.length > 0 && event.event === 'message') this.#deliver(event.data, undefined);
            },
            oversized: ({ size }) => this.#invalid({ code: ErrorCode.MessageTooLarge, reason: `a message of ${formatBytes(size)} exceeds the limit`, id: null, size, oversized: true }),
          });
          res.on('data', (chunk: Buffer) => reader.push(chunk));
          res.once('close', () => {
            next = reader.lastEventId ?? next;
            resolve();
          });
        });
        failures = 0;
      } catch (error) {
        connected();
        if (controller.signal.aborted) return;
        this.#o.logger.debug('standalone stream failed', { error: (error as Error).message });
        failures++;
      } finally {
        if (this.#getStream === controller) this.#getStream = undefined;
      }
      if (this.#closed) return;
      setTimeout(() => void this.#openGetStream(next, failures), retryMs).unref();
    })();
    return opened;
  }

  /** Decodes one message from the upstream and hands it on. */
  #deliver(bytes: Buffer, relatedRequestId: JsonRpcId | undefined, streamed = false): 'answer' | 'other' | 'invalid' {
    const decoded = decodeFrame(bytes);
    if (!decoded.ok) {
      this.#invalid({ code: decoded.code, reason: decoded.reason, id: decoded.id, size: bytes.length });
      return 'invalid';
    }
    const frame = decoded.frame;
    const isAnswer = (frame.kind === 'result' || frame.kind === 'error') && (frame.message as { id: unknown }).id === relatedRequestId;
    const info = relatedRequestId === undefined ? undefined : { relatedRequestId, streamed };
    if (isAnswer && frame.kind === 'result' && relatedRequestId === this.#initializeId) {
      // Messages a server sends on its standalone stream are lost while that stream is not
      // connected; open it before anyone can make the server send one.
      this.#initializeId = undefined;
      void this.#openGetStream(undefined, 0).then(() => this.onframe?.(frame, info));
      return 'answer';
    }
    this.onframe?.(frame, info);
    return isAnswer ? 'answer' : 'other';
  }

  #invalid(problem: InvalidFrame): void {
    this.oninvalid?.(problem);
  }

  #fail(requestId: JsonRpcId, code: number, message: string): void {
    if (this.#closed && code === ErrorCode.UpstreamClosed) return;
    this.onframe?.(frameOf(errorResponse(requestId, code, message)), { relatedRequestId: requestId });
  }
}

/** The `Mcp-Name` of a 2026-07-28 request: the tool, prompt, resource or task it is about. */
function nameOf(method: string, params: Obj | undefined): string | undefined {
  switch (method) {
    case 'tools/call':
    case 'prompts/get':
      return typeof params?.name === 'string' ? params.name : undefined;
    case 'resources/read':
      return typeof params?.uri === 'string' ? params.uri : undefined;
    case 'tasks/get':
    case 'tasks/update':
    case 'tasks/cancel':
      return typeof params?.taskId === 'string' ? params.taskId : undefined;
    default:
      return undefined;
  }
}

/**
 * A header value as 2026-07-28 spells it: plain when it is printable ASCII without edge
 * whitespace, otherwise `=?base64?<UTF-8 as base64>?=`.
 */
export function encodeHeaderValue(value: string): string {
  const plain = /^[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?$/.test(value) && !(value.startsWith('=?base64?') && value.endsWith('?='));
  return plain ? value : `=?base64?${Buffer.from(value, 'utf8').toString('base64')}?=`;
}
