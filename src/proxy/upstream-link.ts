/**
 * One connection to one upstream server on behalf of one scope (a downstream session, or the
 * shared pool that serves stateless requests). The link owns the transport's life: it starts
 * it, performs the handshake of the era it was asked for (falling back to the other when the
 * server does not speak it), allocates the ids the server sees, times out calls, notices a
 * hung or dead server, and restarts it with backoff. It applies no policy: the session runs the
 * pipeline before and after.
 */
import type { FrameAnnotator } from '../flow/annotate.ts';
import { ErrorCode, errorResponse, type JsonRpcId, type JsonRpcRequest, type JsonRpcResponse } from '../protocol/jsonrpc.ts';
import { frameOf, withId, type Frame } from '../protocol/frame.ts';
import { LEGACY_VERSIONS, META, MODERN_VERSION, ModernErrorCode, type Era } from '../protocol/revisions.ts';
import type { UpstreamConfig } from '../config/config.ts';
import type { FrameTransport, InvalidFrame, ReceiveInfo } from '../transports/transport.ts';
import type { Logger } from '../util/logger.ts';
import { VERSION } from '../version.ts';

export type LinkState = 'idle' | 'starting' | 'ready' | 'restarting' | 'failed' | 'closed';

/** What the server told us about itself during the handshake. */
export interface ServerDescription {
  readonly era: Era;
  readonly protocolVersion: string;
  readonly capabilities: Record<string, unknown>;
  readonly serverInfo: Record<string, unknown> | undefined;
  readonly instructions: string | undefined;
  /** The whole handshake result as the server sent it. */
  readonly result: Record<string, unknown>;
}

/** The client's side of the handshake, replayed on every (re)start. */
export interface ClientHello {
  readonly protocolVersion: string;
  readonly capabilities: Record<string, unknown>;
  readonly clientInfo: Record<string, unknown>;
}

/** Whoever is waiting for a call: gets the messages the server relates to it. */
export interface CallOwner {
  related(frame: Frame, call: PendingCall): void;
  /** The server paused the call's response stream (it will be resumed). */
  paused?(call: PendingCall): void;
}

export interface PendingCall {
  readonly upstreamId: number;
  readonly method: string;
  readonly owner: CallOwner;
  /** The progress token as the server sees it, if the request carried one. */
  readonly progressToken: string | number | undefined;
  readonly startedAt: number;
}

export interface LinkListener {
  /** A server-to-client request or notification that no pending call claims. */
  unrelated(frame: Frame): void;
  /** The server restarted or the link came back: lists may have changed. */
  restarted(): void;
  /** An answer the server sent that broke the rules (malformed, oversized, unknown id). */
  invalid?(problem: InvalidFrame): void;
}

/** What the link tells about a restart it scheduled. */
export interface UpstreamRestart {
  /** Consecutive attempts so far (1 for the first restart after a failure). */
  readonly attempt: number;
  readonly delayMs: number;
  /** Why: the exit, the failed probe, the error. */
  readonly error?: string;
}

export interface LinkOptions {
  readonly config: UpstreamConfig;
  readonly createTransport: () => FrameTransport;
  readonly logger: Logger;
  readonly maxRequestTimeMs: number;
  /** Signs what the gateway sends to the server (security annotations), when configured. */
  readonly annotator?: FrameAnnotator;
  /** Told every time the link schedules a restart of its server (metrics). */
  readonly onRestart?: (upstream: string, restart: UpstreamRestart) => void;
  /** How long a health probe may take before the server counts as hung (default 5 s, at most the request timeout). */
  readonly probeTimeoutMs?: number;
  /** Time allowed for the handshake (default: the request timeout). */
  readonly handshakeTimeoutMs?: number;
}

interface Waiter extends PendingCall {
  resolve(frame: Frame, info?: ReceiveInfo): void;
  timer: NodeJS.Timeout | undefined;
  deadline: number;
  lastProgress: number;
}

class LinkError extends Error {
  readonly code: number;
  constructor(code: number, message: string) {
    super(message);
    this.code = code;
  }
}

const GATEWAY_INFO = { name: 'guardrail', version: VERSION };

export class UpstreamLink {
  readonly name: string;
  readonly #options: LinkOptions;
  readonly #log: Logger;
  #listener: LinkListener | undefined;
  #transport: FrameTransport | undefined;
  #opening: Promise<FrameTransport> | undefined;
  #state: LinkState = 'idle';
  #ready: Promise<void> | undefined;
  #readyResolve: (() => void) | undefined;
  #description: ServerDescription | undefined;
  #hello: ClientHello | undefined;
  #preferredEra: Era = 'legacy';
  #nextId = 1;
  readonly #pending = new Map<number, Waiter>();
  readonly #byProgressToken = new Map<string | number, Waiter>();
  #attempts = 0;
  #restartTimer: NodeJS.Timeout | undefined;
  #initializedSent = false;
  #clientInitialized = false;
  #lastHeardAt = 0;
  #probing = false;
  #lastError: string | undefined;
  /** Replayed after a restart so the server's per-session state matches the client's view. */
  #logLevel: string | undefined;
  readonly #subscriptions = new Set<string>();

  constructor(options: LinkOptions) {
    this.#options = options;
    this.name = options.config.name;
    this.#log = options.logger.child({ upstream: this.name });
  }

  get state(): LinkState {
    return this.#state;
  }

  get description(): ServerDescription | undefined {
    return this.#description;
  }

  get lastError(): string | undefined {
    return this.#lastError;
  }

  /** Calls currently waiting for the server. */
  get inFlight(): number {
    return this.#pending.size;
  }

  setListener(listener: LinkListener): void {
    this.#listener = listener;
  }

  /**
   * Connects and performs the handshake, preferring `era`. Resolves once the link is ready;
   * rejects (with the reason) if the first attempt fails, while retries continue in the background.
   */
  start(hello: ClientHello, era: Era): Promise<void> {
    this.#hello = hello;
    this.#preferredEra = era;
    // A 2026 client has no handshake of its own: a 2025 server behind it is told at once.
    if (era === 'modern') this.#clientInitialized = true;
    if (this.#state === 'idle') {
      this.#state = 'starting';
      this.#ready = new Promise((resolve) => (this.#readyResolve = resolve));
      void this.#connect();
    }
    return this.whenReady(this.#options.handshakeTimeoutMs ?? this.#options.config.requestTimeoutMs);
  }

  /** Waits until the link is ready, up to `timeoutMs`; rejects with a JSON-RPC-shaped error. */
  whenReady(timeoutMs: number): Promise<void> {
    if (this.#state === 'ready') return Promise.resolve();
    if (this.#state === 'failed' || this.#state === 'closed' || !this.#ready) return Promise.reject(this.#unavailable());
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(this.#unavailable()), timeoutMs);
      void this.#ready!.then(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** The client finished its handshake: the server may now be told, once. */
  clientInitialized(): void {
    this.#clientInitialized = true;
    this.#sendInitialized();
  }

  /**
   * Sends a request and resolves with the server's answer (a response frame carrying our id),
   * or with an error response the link made up: timeout, the server went away, unavailable.
   * Never rejects.
   */
  async request(
    frame: Frame,
    owner: CallOwner,
    options: {
      timeoutMs?: number;
      onDispatch?: (upstreamId: number) => void;
      headers?: Readonly<Record<string, string>>;
      /** A call that lasts as long as the client wants (a 2026-07-28 subscription stream). */
      open?: boolean;
      /** Told how the answer arrived (e.g. on an SSE stream), just before it is returned. */
      onAnswer?: (info: ReceiveInfo | undefined) => void;
    } = {},
  ): Promise<Frame> {
    const request = frame.message as JsonRpcRequest;
    const timeoutMs = options.timeoutMs ?? this.#options.config.requestTimeoutMs;
    try {
      await this.whenReady(timeoutMs);
    } catch (error) {
      return frameOf(errorResponse(request.id, (error as LinkError).code ?? ErrorCode.UpstreamUnavailable, (error as Error).message));
    }
    const upstreamId = this.#nextId++;
    const token = progressTokenOf(request);
    return new Promise<Frame>((resolve) => {
      const now = Date.now();
      const waiter: Waiter = {
        upstreamId,
        method: request.method,
        owner,
        progressToken: token,
        startedAt: now,
        resolve: (answer, info) => {
          options.onAnswer?.(info);
          resolve(answer);
        },
        timer: undefined,
        deadline: now + this.#options.maxRequestTimeMs,
        lastProgress: now,
      };
      this.#pending.set(upstreamId, waiter);
      if (token !== undefined) this.#byProgressToken.set(token, waiter);
      if (!options.open) this.#arm(waiter, timeoutMs);
      options.onDispatch?.(upstreamId);
      let outbound: Frame;
      try {
        outbound = withId(frame, upstreamId);
      } catch (error) {
        this.#settle(waiter, errorResponse(upstreamId, ErrorCode.InvalidRequest, (error as Error).message));
        return;
      }
      this.#send(outbound, options.headers).catch((error: Error) => {
        this.#settle(waiter, errorResponse(upstreamId, ErrorCode.UpstreamClosed, `could not send to upstream "${this.name}": ${error.message}`));
      });
    });
  }

  /** A notification from the client, forwarded as is (ids inside it already mapped). */
  notify(frame: Frame): void {
    if (this.#state !== 'ready') return;
    this.#send(frame).catch((error: Error) => this.#log.debug('notification not delivered', { error: error.message }));
  }

  /** The client's answer to a request the server made (`upstreamRequestId` is the server's id). */
  respond(upstreamRequestId: JsonRpcId, frame: Frame): void {
    let outbound: Frame;
    try {
      outbound = withId(frame, upstreamRequestId);
    } catch {
      outbound = frameOf(errorResponse(upstreamRequestId, ErrorCode.InternalError, 'the client answered with an ambiguous message'));
    }
    this.#send(outbound).catch((error: Error) => this.#log.debug('response not delivered', { error: error.message }));
  }

  /**
   * Tells the server to stop working on a call: `notifications/cancelled`, or on the modern HTTP
   * wire closing the call's stream.
   */
  cancel(upstreamId: number, reason: string): void {
    const waiter = this.#pending.get(upstreamId);
    if (!waiter) return;
    this.#settle(waiter, errorResponse(upstreamId, ErrorCode.RequestTimeout, `cancelled: ${reason}`));
    this.#tellCancelled(upstreamId, reason);
  }

  #tellCancelled(upstreamId: number, reason: string): void {
    const transport = this.#transport;
    if (this.#description?.era === 'modern' && transport?.abort) transport.abort(upstreamId);
    else this.notify(frameOf({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: upstreamId, reason } }));
  }

  /**
   * The call is waiting on the client (a sampling or elicitation answer, often a person): give
   * it until the hard limit rather than the request timeout.
   */
  hold(upstreamId: number): void {
    const waiter = this.#pending.get(upstreamId);
    if (waiter) this.#arm(waiter, this.#options.maxRequestTimeMs);
  }

  /** Remembers state the server keeps per session, to replay after a restart. */
  rememberLogLevel(level: string): void {
    this.#logLevel = level;
  }

  rememberSubscription(uri: string, subscribed: boolean): void {
    if (subscribed) this.#subscriptions.add(uri);
    else this.#subscriptions.delete(uri);
  }

  async close(): Promise<void> {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    clearTimeout(this.#restartTimer);
    this.#failAll(ErrorCode.UpstreamClosed, 'the gateway is closing the session');
    const transport = this.#transport;
    this.#transport = undefined;
    this.#readyResolve?.();
    await transport?.close().catch(() => undefined);
  }

  // --- connection lifecycle -------------------------------------------------------------------

  /**
   * Starts the transport (spawns the child) without the handshake, so the server boots while the
   * client is still connecting. `start` then uses it if it is still alive.
   */
  prewarm(): void {
    if (this.#state !== 'idle' || this.#opening) return;
    this.#opening = this.#open();
    this.#opening.catch(() => undefined);
  }

  async #open(): Promise<FrameTransport> {
    const transport = this.#options.createTransport();
    this.#transport = transport;
    this.#initializedSent = false;
    transport.onframe = (frame, info) => {
      if (this.#transport === transport) this.#onFrame(frame, info);
    };
    transport.oninvalid = (problem) => {
      if (this.#transport === transport) this.#onInvalid(problem);
    };
    transport.onerror = (error) => this.#log.debug('transport error', { error: error.message });
    transport.onpause = (requestId) => {
      const waiter = typeof requestId === 'number' ? this.#pending.get(requestId) : undefined;
      if (waiter && this.#transport === transport) waiter.owner.paused?.(waiter);
    };
    transport.onclose = (info) => {
      if (this.#transport !== transport) return;
      if (this.#state === 'idle') {
        // A prewarmed server died before anyone needed it; `start` will open a new one.
        this.#transport = undefined;
        this.#opening = undefined;
        return;
      }
      this.#onDown(info.reason);
    };
    await transport.start();
    return transport;
  }

  async #connect(): Promise<void> {
    const opening = this.#opening ?? this.#open();
    this.#opening = undefined;
    let transport: FrameTransport | undefined;
    try {
      transport = await opening;
      const description = await this.#handshake();
      if (this.#transport !== transport) return;
      this.#description = description;
      this.#attempts = 0;
      this.#lastError = undefined;
      const restarted = this.#state === 'restarting';
      this.#state = 'ready';
      this.#log.info('upstream ready', { era: description.era, protocolVersion: description.protocolVersion });
      if (restarted || this.#clientInitialized) this.#sendInitialized();
      if (restarted) this.#replay();
      this.#readyResolve?.();
      if (restarted) this.#listener?.restarted();
    } catch (error) {
      if (transport !== undefined && this.#transport !== transport) return;
      this.#lastError = (error as Error).message;
      this.#log.warn('upstream failed to start', { error: this.#lastError });
      const failed = this.#transport;
      this.#transport = undefined;
      await failed?.close().catch(() => undefined);
      this.#scheduleRestart();
    }
  }

  /** Performs the handshake of the preferred era, falling back to the other. */
  async #handshake(): Promise<ServerDescription> {
    const hello = this.#hello!;
    const first = this.#preferredEra;
    try {
      return first === 'legacy' ? await this.#initialize(hello) : await this.#discover(hello);
    } catch (error) {
      if (!(error instanceof EraMismatch)) throw error;
      this.#log.debug('falling back to the other protocol era', { reason: error.message });
      return first === 'legacy' ? await this.#discover(hello) : await this.#initialize(hello);
    }
  }

  async #initialize(hello: ClientHello): Promise<ServerDescription> {
    const requested = hello.protocolVersion === MODERN_VERSION ? LEGACY_VERSIONS[0] : hello.protocolVersion;
    const response = await this.#handshakeRequest('initialize', {
      protocolVersion: requested,
      capabilities: hello.capabilities,
      clientInfo: hello.clientInfo,
    });
    if ('error' in response) {
      const data = response.error.data as { supported?: unknown } | undefined;
      const modernOnly =
        response.error.code === ModernErrorCode.UnsupportedProtocolVersion ||
        (Array.isArray(data?.supported) && data.supported.includes(MODERN_VERSION) && !data.supported.some((v) => (LEGACY_VERSIONS as readonly unknown[]).includes(v)));
      if (modernOnly) throw new EraMismatch(`initialize refused: ${response.error.message}`);
      throw new Error(`initialize failed: ${response.error.message} (${response.error.code})`);
    }
    const result = response.result;
    const version = typeof result.protocolVersion === 'string' ? result.protocolVersion : requested!;
    if (!(LEGACY_VERSIONS as readonly string[]).includes(version)) {
      throw new Error(`the server answered with protocol version ${version}, which the gateway does not speak`);
    }
    this.#transport!.setProtocol?.('legacy', version);
    return {
      era: 'legacy',
      protocolVersion: version,
      capabilities: (result.capabilities as Record<string, unknown>) ?? {},
      serverInfo: result.serverInfo as Record<string, unknown> | undefined,
      instructions: typeof result.instructions === 'string' ? result.instructions : undefined,
      result,
    };
  }

  async #discover(hello: ClientHello): Promise<ServerDescription> {
    this.#transport!.setProtocol?.('modern', MODERN_VERSION);
    // A legacy server may ignore a method it does not know; do not wait the full request timeout.
    const response = await this.#handshakeRequest('server/discover', this.#discoverParams(hello), DISCOVER_TIMEOUT_MS);
    if ('error' in response) {
      const modern = [ModernErrorCode.UnsupportedProtocolVersion, ModernErrorCode.HeaderMismatch, ModernErrorCode.MissingRequiredClientCapability];
      if (!(modern as number[]).includes(response.error.code)) throw new EraMismatch(`server/discover refused: ${response.error.message}`);
      throw new Error(`server/discover failed: ${response.error.message} (${response.error.code})`);
    }
    const result = response.result;
    const supported = Array.isArray(result.supportedVersions) ? (result.supportedVersions as unknown[]) : [];
    if (!supported.includes(MODERN_VERSION)) throw new EraMismatch(`the server supports ${supported.join(', ') || 'no modern version'}`);
    const meta = result._meta as Record<string, unknown> | undefined;
    return {
      era: 'modern',
      protocolVersion: MODERN_VERSION,
      capabilities: (result.capabilities as Record<string, unknown>) ?? {},
      serverInfo: meta?.[META.serverInfo] as Record<string, unknown> | undefined,
      instructions: typeof result.instructions === 'string' ? result.instructions : undefined,
      result,
    };
  }

  /** A request the link itself makes (handshake, health probe), outside the pending map's owners. */
  #handshakeRequest(method: string, params: Record<string, unknown>, timeoutMs?: number): Promise<JsonRpcResponse> {
    const id = this.#nextId++;
    const limit = timeoutMs ?? this.#options.handshakeTimeoutMs ?? this.#options.config.requestTimeoutMs;
    return new Promise<JsonRpcResponse>((resolve, reject) => {
      const now = Date.now();
      const waiter: Waiter = {
        upstreamId: id,
        method,
        owner: NO_OWNER,
        progressToken: undefined,
        startedAt: now,
        resolve: (frame) => resolve(frame.message as JsonRpcResponse),
        timer: undefined,
        deadline: now + limit,
        lastProgress: now,
      };
      this.#pending.set(id, waiter);
      waiter.timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new EraMismatch(`no answer to ${method} within ${limit} ms`, method === 'server/discover'));
      }, limit);
      this.#send(frameOf({ jsonrpc: '2.0', id, method, params })).catch((error: Error) => {
        clearTimeout(waiter.timer);
        this.#pending.delete(id);
        reject(error);
      });
    }).then((response) => response, (error: unknown) => {
      // A timeout only means "the other era" for discover on stdio-like transports; otherwise it is fatal.
      if (error instanceof EraMismatch && !error.fallback) throw new Error(error.message);
      throw error;
    });
  }

  #sendInitialized(): void {
    if (this.#initializedSent || this.#description?.era !== 'legacy' || this.#state !== 'ready') return;
    this.#initializedSent = true;
    this.notify(frameOf({ jsonrpc: '2.0', method: 'notifications/initialized' }));
  }

  #replay(): void {
    if (this.#description?.era !== 'legacy') return;
    if (this.#logLevel !== undefined) this.#fireAndForget('logging/setLevel', { level: this.#logLevel });
    for (const uri of this.#subscriptions) this.#fireAndForget('resources/subscribe', { uri });
  }

  #fireAndForget(method: string, params: Record<string, unknown>): void {
    this.#handshakeRequest(method, params).catch((error: Error) => this.#log.warn(`replaying ${method} failed`, { error: error.message }));
  }

  #onDown(reason: string): void {
    if (this.#state === 'closed') return;
    this.#log.warn('upstream went away', { reason, inFlight: this.#pending.size });
    this.#lastError = reason;
    this.#transport = undefined;
    this.#failAll(ErrorCode.UpstreamClosed, `upstream "${this.name}" ${reason} before answering; the call may or may not have taken effect`);
    this.#scheduleRestart();
  }

  #scheduleRestart(): void {
    if (this.#state === 'closed') return;
    const { initialDelayMs, maxDelayMs, maxAttempts } = this.#options.config.restart;
    this.#attempts++;
    if (maxAttempts > 0 && this.#attempts > maxAttempts) {
      this.#state = 'failed';
      this.#log.error('upstream failed; giving up', { attempts: this.#attempts - 1, error: this.#lastError });
      this.#readyResolve?.();
      return;
    }
    if (this.#state === 'ready' || this.#state === 'starting' || this.#state === 'restarting') {
      if (this.#state === 'ready') this.#ready = new Promise((resolve) => (this.#readyResolve = resolve));
      this.#state = this.#description ? 'restarting' : 'starting';
    }
    const delay = Math.min(maxDelayMs, initialDelayMs * 2 ** (this.#attempts - 1));
    this.#log.info('restarting upstream', { attempt: this.#attempts, delayMs: delay });
    this.#options.onRestart?.(this.name, { attempt: this.#attempts, delayMs: delay, ...(this.#lastError === undefined ? {} : { error: this.#lastError }) });
    clearTimeout(this.#restartTimer);
    this.#restartTimer = setTimeout(() => void this.#connect(), delay);
    this.#restartTimer.unref?.();
  }

  #unavailable(): LinkError {
    const why = this.#lastError ? `: ${this.#lastError}` : '';
    if (this.#state === 'failed') return new LinkError(ErrorCode.UpstreamUnavailable, `upstream "${this.name}" has failed and is not being restarted${why}`);
    if (this.#state === 'closed') return new LinkError(ErrorCode.UpstreamUnavailable, `upstream "${this.name}" is closed`);
    return new LinkError(ErrorCode.UpstreamUnavailable, `upstream "${this.name}" is not ready yet (${this.#state}${why})`);
  }

  // --- traffic --------------------------------------------------------------------------------

  #send(frame: Frame, headers?: Readonly<Record<string, string>>): Promise<void> {
    const transport = this.#transport;
    if (!transport) return Promise.reject(new Error('not connected'));
    const annotator = this.#options.annotator;
    return transport.send(annotator?.signs ? annotator.sign(frame) : frame, headers ? { headers } : {});
  }

  #onFrame(frame: Frame, info: ReceiveInfo | undefined): void {
    this.#lastHeardAt = Date.now();
    const message = frame.message;
    switch (frame.kind) {
      case 'result':
      case 'error': {
        const id = (message as JsonRpcResponse).id;
        const waiter = typeof id === 'number' ? this.#pending.get(id) : undefined;
        if (!waiter) {
          this.#log.debug('dropping a response to no pending request', { id });
          return;
        }
        this.#settleFrame(waiter, frame, info);
        return;
      }
      case 'request': {
        const request = message as JsonRpcRequest;
        if (request.method === 'ping') {
          // Ping is hop-by-hop: the gateway answers for the client.
          this.#send(frameOf({ jsonrpc: '2.0', id: request.id, result: {} })).catch(() => undefined);
          return;
        }
        const related = this.#relatedCall(info, undefined);
        if (related) related.owner.related(frame, related);
        else this.#listener?.unrelated(frame);
        return;
      }
      case 'notification': {
        const params = (message as { params?: Record<string, unknown> }).params;
        const method = (message as { method: string }).method;
        let related: Waiter | undefined;
        if (method === 'notifications/progress') {
          const token = params?.progressToken as string | number | undefined;
          related = token === undefined ? undefined : this.#byProgressToken.get(token);
          if (related) {
            related.lastProgress = Date.now();
            this.#arm(related, this.#options.config.requestTimeoutMs);
          }
        } else {
          related = this.#relatedCall(info, method);
        }
        if (related) related.owner.related(frame, related);
        else this.#listener?.unrelated(frame);
        return;
      }
    }
  }

  /**
   * Which pending call a server message belongs to: the request whose HTTP response stream
   * carried it, or, over stdio, the only call in flight when there is exactly one.
   */
  #relatedCall(info: ReceiveInfo | undefined, method: string | undefined): Waiter | undefined {
    if (info?.relatedRequestId !== undefined) {
      return typeof info.relatedRequestId === 'number' ? this.#pending.get(info.relatedRequestId) : undefined;
    }
    if (method !== undefined && method !== 'notifications/message') return undefined;
    if (this.#pending.size !== 1) return undefined;
    const only = this.#pending.values().next().value as Waiter;
    return only.owner === NO_OWNER ? undefined : only;
  }

  #onInvalid(problem: InvalidFrame): void {
    this.#lastHeardAt = Date.now();
    const id = problem.id;
    const waiter = typeof id === 'number' ? this.#pending.get(id) : undefined;
    this.#log.warn('upstream sent an invalid message', { reason: problem.reason, size: problem.size, id: id ?? undefined });
    if (waiter) {
      const code = problem.oversized ? ErrorCode.MessageTooLarge : ErrorCode.InternalError;
      this.#settle(waiter, errorResponse(waiter.upstreamId, code, `upstream "${this.name}" answered with an invalid message: ${problem.reason}`));
    }
    this.#listener?.invalid?.(problem);
  }

  #arm(waiter: Waiter, timeoutMs: number): void {
    clearTimeout(waiter.timer);
    const remaining = waiter.deadline - Date.now();
    const wait = Math.max(0, Math.min(timeoutMs, remaining));
    waiter.timer = setTimeout(() => this.#onTimeout(waiter, wait === remaining), wait);
  }

  #onTimeout(waiter: Waiter, hardLimit: boolean): void {
    if (!this.#pending.has(waiter.upstreamId)) return;
    const elapsed = Date.now() - waiter.startedAt;
    const reason = hardLimit
      ? `upstream "${this.name}" did not finish ${waiter.method} within the ${this.#options.maxRequestTimeMs} ms limit`
      : `upstream "${this.name}" did not answer ${waiter.method} within ${elapsed} ms`;
    this.#settle(waiter, errorResponse(waiter.upstreamId, ErrorCode.RequestTimeout, reason));
    this.#tellCancelled(waiter.upstreamId, 'timed out at the gateway');
    this.#probeHealth();
  }

  /** After a timeout: a server that does not answer a cheap probe either is hung; restart it. */
  #probeHealth(): void {
    if (this.#probing || this.#state !== 'ready' || this.#description === undefined) return;
    this.#probing = true;
    const heardBefore = this.#lastHeardAt;
    const timeout = this.#options.probeTimeoutMs ?? Math.min(5000, this.#options.config.requestTimeoutMs);
    const probe = this.#description.era === 'legacy' ? this.#handshakeRequest('ping', {}, timeout) : this.#handshakeRequest('server/discover', this.#discoverParams(), timeout);
    probe
      .then(
        () => undefined,
        (error: Error) => {
          if (this.#lastHeardAt !== heardBefore) return; // it is talking; just slow
          this.#log.warn('upstream is not responding; restarting it', { error: error.message });
          const transport = this.#transport;
          this.#onDown('stopped responding');
          void transport?.close();
        },
      )
      .finally(() => (this.#probing = false));
  }

  #discoverParams(hello: ClientHello = this.#hello!): Record<string, unknown> {
    return { _meta: { [META.protocolVersion]: MODERN_VERSION, [META.clientCapabilities]: hello.capabilities, [META.clientInfo]: hello.clientInfo } };
  }

  #settleFrame(waiter: Waiter, frame: Frame, info?: ReceiveInfo): void {
    clearTimeout(waiter.timer);
    this.#pending.delete(waiter.upstreamId);
    if (waiter.progressToken !== undefined) this.#byProgressToken.delete(waiter.progressToken);
    waiter.resolve(frame, info);
  }

  #settle(waiter: Waiter, response: JsonRpcResponse): void {
    this.#settleFrame(waiter, frameOf(response));
  }

  #failAll(code: number, message: string): void {
    for (const waiter of [...this.#pending.values()]) this.#settle(waiter, errorResponse(waiter.upstreamId, code, message));
  }
}

const NO_OWNER: CallOwner = { related: () => undefined };
const DISCOVER_TIMEOUT_MS = 10_000;

/** The server does not speak the era we tried; `fallback` says whether to try the other. */
class EraMismatch extends Error {
  readonly fallback: boolean;
  constructor(message: string, fallback = true) {
    super(message);
    this.fallback = fallback;
  }
}

function progressTokenOf(request: JsonRpcRequest): string | number | undefined {
  const meta = request.params?._meta as Record<string, unknown> | undefined;
  const token = meta?.progressToken;
  return typeof token === 'string' || typeof token === 'number' ? token : undefined;
}

export { GATEWAY_INFO };
