/**
 * Downstream Streamable HTTP, the response side. A POSTed request is answered on its own
 * response: as plain JSON when the answer is the first thing to send, or as an SSE stream as
 * soon as something related to it (progress, a log line, a sampling request) comes first.
 * Messages related to no open request go on the session's standalone GET stream.
 *
 * For 2025-11-25 sessions every SSE event carries an id and is kept (bounded) so a client
 * whose stream dropped can resume with GET + Last-Event-ID. 2026-07-28 exchanges are
 * stateless: no ids, no replay, and a client that closes the stream cancels the request.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { encodeFrame, type Frame } from '../protocol/frame.ts';
import { ErrorCode, idKey, type JsonRpcId } from '../protocol/jsonrpc.ts';
import { ModernErrorCode } from '../protocol/revisions.ts';
import { sseEvent } from './sse.ts';
import type { CloseInfo, FrameTransport, InvalidFrame, ReceiveInfo, SendOptions } from './transport.ts';

const KEEPALIVE_MS = 15_000;
const RETRY_MS = 1000;
const STANDALONE = 'standalone';

/** Writes a JSON-RPC error as a whole HTTP response. */
export function writeError(res: ServerResponse, status: number, id: JsonRpcId | null, code: number, message: string, headers: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const body = Buffer.from(JSON.stringify({ jsonrpc: '2.0', id, error: { code, message } }));
  res.writeHead(status, { ...headers, 'content-type': 'application/json', 'content-length': body.length });
  res.end(body);
}

/** The HTTP status a 2026-07-28 error answer travels with (protocol errors are not HTTP 200). */
export function modernStatus(code: number, message: string): number {
  if (code === ErrorCode.MethodNotFound) return 404;
  if (code === ModernErrorCode.HeaderMismatch || code === ModernErrorCode.MissingRequiredClientCapability || code === ModernErrorCode.UnsupportedProtocolVersion) return 400;
  if (code === ErrorCode.InvalidParams && /request metadata|_meta/.test(message)) return 400;
  if (code === ErrorCode.InvalidRequest || code === ErrorCode.ParseError) return 400;
  return 200;
}

/** One HTTP response that carries a single JSON answer or an SSE stream. */
class Channel {
  readonly res: ServerResponse;
  readonly streamId: string | undefined;
  #mode: 'pending' | 'sse' | 'done' = 'pending';
  #corked = false;
  #keepalive: NodeJS.Timeout | undefined;
  readonly #headers: Record<string, string>;
  readonly #allowJson: boolean;

  constructor(res: ServerResponse, options: { streamId?: string; headers: Record<string, string>; allowJson: boolean }) {
    this.res = res;
    this.streamId = options.streamId;
    this.#headers = options.headers;
    this.#allowJson = options.allowJson;
  }

  get open(): boolean {
    return this.#mode !== 'done' && !this.res.destroyed && !this.res.writableEnded;
  }

  get streaming(): boolean {
    return this.#mode === 'sse';
  }

  /**
   * Starts the SSE stream (idempotent); `prime` sends an id-only event so the client can resume.
   * `flush` sends the headers at once, for a stream that may stay silent (a GET).
   */
  startStream(primeId?: string, flush = false): void {
    if (this.#mode !== 'pending') return;
    this.#mode = 'sse';
    this.res.writeHead(200, { ...this.#headers, 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    // The priming event gives the client an id to resume from, and a reconnection delay.
    if (primeId !== undefined) this.#write(`id: ${primeId}\nretry: ${RETRY_MS}\ndata: \n\n`);
    else if (flush) this.res.flushHeaders();
    this.#keepalive = setInterval(() => this.res.write(': keepalive\n\n'), KEEPALIVE_MS);
    this.#keepalive.unref();
  }

  event(bytes: Buffer, id?: string): void {
    this.startStream();
    for (const part of sseEvent(bytes, id)) this.#write(part);
  }

  /** Writes made in one tick (headers, priming event, event, end) leave in one system call. */
  #write(data: string | Buffer): void {
    // Cork the socket itself: a response that ends in this tick lets go of its socket (which
    // keep-alive then reuses), and uncorking through the response would no longer reach it.
    const socket = this.res.socket;
    if (!this.#corked && socket) {
      this.#corked = true;
      socket.cork();
      process.nextTick(() => {
        this.#corked = false;
        socket.uncork();
      });
    }
    this.res.write(data);
  }

  /** Sends the final answer and ends the response. */
  answer(bytes: Buffer, status: number, id?: string): void {
    if (this.#mode === 'pending' && this.#allowJson) {
      this.#mode = 'done';
      this.res.writeHead(status, { ...this.#headers, 'content-type': 'application/json', 'content-length': bytes.length });
      this.res.end(bytes);
      return;
    }
    this.event(bytes, id);
    this.end();
  }

  end(): void {
    if (this.#mode === 'done') return;
    const wasPending = this.#mode === 'pending';
    this.#mode = 'done';
    clearInterval(this.#keepalive);
    if (wasPending && !this.res.headersSent) this.res.writeHead(204, this.#headers);
    this.res.end();
  }
}

interface StoredEvent {
  readonly seq: number;
  readonly bytes: Buffer;
}

/** The events of one SSE stream, kept for replay after a reconnect. */
interface StreamLog {
  readonly events: StoredEvent[];
  bytes: number;
  seq: number;
  /** The request it answers (undefined for the standalone stream). */
  readonly requestId: JsonRpcId | undefined;
  finished: boolean;
  channel: Channel | undefined;
}

export interface SessionTransportOptions {
  readonly sessionId: string;
  /** Kept per stream for resumption. */
  readonly maxEventsPerStream?: number;
  readonly maxBytesPerStream?: number;
}


/**
 * The downstream transport of one 2025-11-25 HTTP session: POST response streams plus the
 * standalone GET stream, with an event log per stream for `Last-Event-ID` resumption.
 */
export class HttpSessionTransport implements FrameTransport {
  readonly sessionId: string;
  readonly #streams = new Map<string, StreamLog>();
  /** Request id → the stream that will carry its answer. */
  readonly #byRequest = new Map<string, string>();
  #nextStream = 1;
  /** Bytes kept for replay across all streams of the session. */
  #retained = 0;
  #protocolVersion: string | undefined;
  #closed = false;
  readonly #maxEvents: number;
  readonly #maxBytes: number;
  onframe?: (frame: Frame, info?: ReceiveInfo) => void;
  oninvalid?: (problem: InvalidFrame) => void;
  onerror?: (error: Error) => void;
  onclose?: (info: CloseInfo) => void;

  constructor(options: SessionTransportOptions) {
    this.sessionId = options.sessionId;
    this.#maxEvents = options.maxEventsPerStream ?? 1000;
    this.#maxBytes = options.maxBytesPerStream ?? 32 << 20;
  }

  async start(): Promise<void> {}

  /** The version the client negotiated: priming events are only sent from 2025-11-25 on. */
  setClientVersion(version: string): void {
    this.#protocolVersion = version;
  }

  get headers(): Record<string, string> {
    return { 'mcp-session-id': this.sessionId };
  }

  /** True while any response stream of the session is open (the session is in use). */
  get busy(): boolean {
    for (const stream of this.#streams.values()) if (stream.channel?.open) return true;
    return false;
  }

  /** A POSTed request whose answer (and related messages) this response will carry. */
  attachRequest(res: ServerResponse, requestId: JsonRpcId): void {
    const streamId = String(this.#nextStream++);
    const log: StreamLog = { events: [], bytes: 0, seq: 0, requestId, finished: false, channel: undefined };
    log.channel = new Channel(res, { streamId, headers: this.headers, allowJson: true });
    this.#streams.set(streamId, log);
    this.#byRequest.set(idKey(requestId), streamId);
    res.once('close', () => {
      if (log.channel?.res === res) log.channel = undefined;
    });
  }

  /** A GET: resumes the stream `lastEventId` belongs to, or opens the standalone stream. */
  attachGet(req: IncomingMessage, res: ServerResponse): { ok: true } | { ok: false; status: number; message: string } {
    const lastEventId = headerOf(req, 'last-event-id');
    let streamId = STANDALONE;
    let after = 0;
    if (lastEventId !== undefined) {
      const parsed = parseEventId(lastEventId);
      if (!parsed || !this.#streams.has(parsed.stream)) return { ok: false, status: 400, message: 'Last-Event-ID is not one this session issued' };
      streamId = parsed.stream;
      after = parsed.seq;
    }
    let log = this.#streams.get(streamId);
    if (log?.channel?.open) return { ok: false, status: 409, message: 'a stream is already open for this session' };
    if (!log) {
      log = { events: [], bytes: 0, seq: 0, requestId: undefined, finished: false, channel: undefined };
      this.#streams.set(streamId, log);
    }
    const channel = new Channel(res, { streamId, headers: this.headers, allowJson: false });
    channel.startStream(undefined, true);
    for (const event of log.events) if (event.seq > after) channel.event(event.bytes, `${streamId}:${event.seq}`);
    if (log.finished) {
      channel.end();
      return { ok: true };
    }
    log.channel = channel;
    res.once('close', () => {
      if (log.channel === channel) log.channel = undefined;
    });
    return { ok: true };
  }

  async send(frame: Frame, options: SendOptions = {}): Promise<void> {
    if (this.#closed) throw new Error('the session is closed');
    const related = options.relatedRequestId;
    const streamId = (related !== undefined ? this.#byRequest.get(idKey(related)) : undefined) ?? STANDALONE;
    const log = this.#streams.get(streamId) ?? this.#newStandalone();
    const isAnswer = related !== undefined && (frame.kind === 'result' || frame.kind === 'error') && (frame.message as { id: unknown }).id === related;
    const bytes = encodeFrame(frame);
    const seq = ++log.seq;
    const eventId = `${streamId}:${seq}`;
    const channel = log.channel;
    if (isAnswer) {
      log.finished = true;
      this.#byRequest.delete(idKey(related));
    }
    // An answer sent as plain JSON is delivered whole; everything on a stream is kept for replay.
    const asJson = isAnswer && channel?.open === true && !channel.streaming && !options.stream;
    if (!asJson) this.#store(log, seq, bytes);
    if (channel?.open) {
      if (!channel.streaming && (!isAnswer || options.stream)) channel.startStream(this.#primes() ? `${streamId}:0` : undefined);
      if (isAnswer) {
        channel.answer(bytes, 200, eventId);
        // Delivered whole once the response is flushed: nothing is left to replay. A connection
        // that broke first keeps the stream replayable for a while.
        const res = channel.res;
        res.once('close', () => (res.writableFinished ? this.#forget(streamId) : this.#forgetLater(streamId)));
        return;
      }
      channel.event(bytes, eventId);
    }
    if (log.finished && (log.channel === undefined || !log.channel.open)) this.#forgetLater(streamId);
  }

  pause(relatedRequestId: JsonRpcId): void {
    const streamId = this.#byRequest.get(idKey(relatedRequestId));
    const log = streamId === undefined ? undefined : this.#streams.get(streamId);
    const channel = log?.channel;
    if (!log || !channel?.open || !this.#primes()) return;
    // The client gets an id to resume from, then the stream ends; the rest waits in the log.
    channel.startStream(`${streamId}:${log.seq}`);
    log.channel = undefined;
    channel.end();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const log of this.#streams.values()) log.channel?.end();
    this.#streams.clear();
    this.#retained = 0;
    this.onclose?.({ reason: 'the session ended' });
  }

  #primes(): boolean {
    return this.#protocolVersion !== undefined && this.#protocolVersion >= '2025-11-25';
  }

  #newStandalone(): StreamLog {
    const log: StreamLog = { events: [], bytes: 0, seq: 0, requestId: undefined, finished: false, channel: undefined };
    this.#streams.set(STANDALONE, log);
    return log;
  }

  #store(log: StreamLog, seq: number, bytes: Buffer): void {
    log.events.push({ seq, bytes });
    log.bytes += bytes.length;
    this.#retained += bytes.length;
    while (log.events.length > this.#maxEvents || (log.bytes > this.#maxBytes && log.events.length > 1)) this.#drop(log);
    // The session as a whole keeps at most twice a stream's allowance: the oldest finished
    // streams (answers a dropped connection never fetched) go first.
    if (this.#retained > 2 * this.#maxBytes) {
      for (const [id, other] of this.#streams) {
        if (this.#retained <= 2 * this.#maxBytes) break;
        if (other.finished && other !== log) this.#forget(id);
      }
    }
  }

  #drop(log: StreamLog): void {
    const dropped = log.events.shift()!.bytes.length;
    log.bytes -= dropped;
    this.#retained -= dropped;
  }

  #forget(streamId: string): void {
    const log = this.#streams.get(streamId);
    if (!log) return;
    this.#retained -= log.bytes;
    this.#streams.delete(streamId);
  }

  /** A finished stream whose client went away stays replayable for a while, then goes. */
  #forgetLater(streamId: string): void {
    setTimeout(() => {
      const log = this.#streams.get(streamId);
      if (log?.finished && !log.channel?.open) this.#forget(streamId);
    }, 60_000).unref();
  }
}

/**
 * The downstream transport of one 2026-07-28 exchange: one POST, one answer. Closing the
 * response before the answer cancels the request (the session closes, cancelling upstream).
 */
export class HttpExchangeTransport implements FrameTransport {
  readonly #channel: Channel;
  readonly #requestId: JsonRpcId;
  #closed = false;
  onframe?: (frame: Frame, info?: ReceiveInfo) => void;
  oninvalid?: (problem: InvalidFrame) => void;
  onerror?: (error: Error) => void;
  onclose?: (info: CloseInfo) => void;

  constructor(res: ServerResponse, requestId: JsonRpcId) {
    this.#channel = new Channel(res, { headers: {}, allowJson: true });
    this.#requestId = requestId;
    // Before the answer, a closed connection is the client cancelling (2026-07-28).
    res.once('close', () => this.#finish('the client closed the stream'));
  }

  async start(): Promise<void> {}

  async send(frame: Frame, options: SendOptions = {}): Promise<void> {
    if (this.#closed || !this.#channel.open) return;
    const bytes = encodeFrame(frame);
    const isAnswer = (frame.kind === 'result' || frame.kind === 'error') && (frame.message as { id: unknown }).id === this.#requestId;
    if (!isAnswer) {
      if (options.relatedRequestId === this.#requestId) this.#channel.event(bytes);
      return;
    }
    const error = frame.kind === 'error' ? (frame.message as { error: { code: number; message: string } }).error : undefined;
    if (options.stream) this.#channel.startStream();
    this.#channel.answer(bytes, error ? modernStatus(error.code, error.message) : 200);
    this.#finish('answered');
  }

  async close(): Promise<void> {
    this.#channel.end();
    this.#finish('closed by the gateway');
  }

  #finish(reason: string): void {
    if (this.#closed) return;
    this.#closed = true;
    this.onclose?.({ reason });
  }
}

function parseEventId(id: string): { stream: string; seq: number } | undefined {
  const at = id.lastIndexOf(':');
  if (at <= 0) return undefined;
  const seq = Number(id.slice(at + 1));
  return Number.isInteger(seq) && seq >= 0 ? { stream: id.slice(0, at), seq } : undefined;
}

export function headerOf(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}
