/**
 * One downstream client session: everything that crosses between that client and the servers
 * behind the gateway passes here, in both directions, through the pipeline. The session routes
 * requests to upstream links (one server, or all of them for lists), remaps ids so nothing can
 * collide, relays what servers send back (results, progress, logs, sampling / elicitation /
 * roots requests) to the right client request, and answers refusals with a JSON-RPC error
 * that carries the decision.
 */
import { randomUUID } from 'node:crypto';
import type { DecisionRecorder } from '../audit/decision-log.ts';
import type { Limits } from '../config/config.ts';
import { decision, type Decision } from '../pipeline/decision.ts';
import type { Pipeline, PipelineOutcome } from '../pipeline/pipeline.ts';
import type { SecurityContext } from '../pipeline/security-context.ts';
import type { Direction } from '../pipeline/stage.ts';
import { AmbiguousIdError, frameOf, mutated, withId, type Frame, type FrameLabel } from '../protocol/frame.ts';
import type { FrameAnnotator, Verified } from '../flow/annotate.ts';
import { maxLevel } from '../flow/levels.ts';
import type { EventBus } from '../events/bus.ts';
import type { GatewayMetrics } from '../metrics/metrics.ts';
import type { CallTrace, Tracing } from '../metrics/telemetry.ts';
import {
  ErrorCode,
  errorResponse,
  idKey,
  type JsonRpcId,
  type JsonRpcMessage,
  type JsonRpcNotification,
  type JsonRpcRequest,
  type JsonRpcResponse,
} from '../protocol/jsonrpc.ts';
import { CLIENT_REQUESTS, type ListSpec, type Route } from '../protocol/methods.ts';
import { isLegacyVersion, LATEST_LEGACY_VERSION, META, MODERN_VERSION, readEnvelope, type Era } from '../protocol/revisions.ts';
import type { FrameTransport, InvalidFrame } from '../transports/transport.ts';
import type { Logger } from '../util/logger.ts';
import { decodeCursor, encodeCursor, mergeCapabilities, mergeInstructions, outwardItems, type PageState } from './aggregate.ts';
import { requestForUpstream, resultForClient } from './era-bridge.ts';
import type { LinkSet } from './link-set.ts';
import type { Namespace } from './namespace.ts';
import { isOurState, ParkedCall, readInputRequired } from './input-bridge.ts';
import { GATEWAY_INFO, type CallOwner, type ClientHello, type UpstreamLink } from './upstream-link.ts';

type Obj = Record<string, unknown>;

export interface SessionOptions {
  readonly id?: string;
  readonly transport: FrameTransport;
  readonly links: LinkSet;
  /** Whether the session owns its links (closes them when it closes). */
  readonly ownsLinks: boolean;
  readonly pipeline: Pipeline;
  readonly recorder: DecisionRecorder;
  readonly namespace: Namespace;
  readonly limits: Limits;
  readonly logger: Logger;
  readonly context: SecurityContext;
  readonly onClose?: (session: Session) => void;
  /** Signs frames to the client and verifies frames from both sides (security annotations). */
  readonly annotator?: FrameAnnotator;
  /** Where the session reports what the recorder cannot (a message the audit store refused). */
  readonly events?: EventBus;
  /** Upstream latency per call (the admin listener's metrics). */
  readonly metrics?: GatewayMetrics;
  /** OpenTelemetry traces of client calls, when enabled. */
  readonly tracing?: Tracing;
}

/** Where a client request goes, resolved before the pipeline sees it. */
interface Target {
  readonly link?: UpstreamLink;
  /** The name, URI or ref as the upstream spells it. */
  readonly name?: string;
}

interface Inflight {
  cancelled: boolean;
  link?: UpstreamLink;
  upstreamId?: number;
}

interface ServerRequest {
  readonly link: UpstreamLink;
  readonly upstreamId: JsonRpcId;
  readonly method: string;
  /** The progress token the server put on its request, for the client's progress notifications. */
  readonly progressToken: unknown;
}

/** Where in the conversation a message sits, for the pipeline and the decision record. */
interface RunAt {
  readonly direction: Direction;
  readonly era: Era;
  /** For responses: the method of the request answered. */
  readonly method: string;
  readonly server?: string | undefined;
  readonly target?: string | undefined;
  readonly request?: JsonRpcRequest;
  readonly id?: JsonRpcId | null;
}

/** Requests on which a 2026-07-28 server may answer `input_required`. */
const INPUT_METHODS = new Set(['tools/call', 'prompts/get', 'resources/read']);
const MAX_INPUT_ROUNDS = 10;


export class Session {
  readonly id: string;
  readonly context: SecurityContext;
  readonly #o: SessionOptions;
  readonly #log: Logger;
  readonly #inflight = new Map<string, Inflight>();
  /** Traces of client calls in flight, by the client's request id. */
  readonly #traces = new Map<string, { trace: CallTrace; verdict: string | undefined }>();
  readonly #serverRequests = new Map<number, ServerRequest>();
  /** Requests the gateway itself put to the client (bridging a 2026 server's input requests). */
  readonly #clientAsks = new Map<number, { method: string; link: UpstreamLink; resolve(answer: Frame): void }>();
  #nextServerRequestId = 1;
  #hello: ClientHello | undefined;
  #clientEra: Era = 'legacy';
  #linksStarted: Promise<Map<string, Error>> | undefined;
  #initialized = false;
  #offered: Obj = {};
  #logLevel: string | undefined;
  #closed = false;
  #lastActivity = Date.now();

  constructor(options: SessionOptions) {
    this.#o = options;
    this.id = options.id ?? randomUUID();
    this.context = options.context;
    this.#log = options.logger.child({ session: this.id.slice(0, 8) });
  }

  get lastActivity(): number {
    return this.#lastActivity;
  }

  get closed(): boolean {
    return this.#closed;
  }

  async start(): Promise<void> {
    const t = this.#o.transport;
    t.onframe = (frame) => this.receive(frame);
    t.oninvalid = (problem) => this.#onInvalid(problem);
    t.onclose = (info) => {
      this.#log.debug('client transport closed', { reason: info.reason });
      void this.close();
    };
    t.onerror = (error) => this.#log.debug('client transport error', { error: error.message });
    if (this.#o.ownsLinks) {
      this.#o.links.setListener((link) => ({
        unrelated: (frame) => this.#fromServer(frame, link, undefined),
        restarted: () => this.#announceChanges(),
        invalid: (problem) => this.#log.warn('upstream sent an invalid message', { upstream: link.name, reason: problem.reason }),
      }));
    }
    await t.start();
  }

  /**
   * A frame from the client (the HTTP listener calls this directly for POSTed messages, with
   * the `Mcp-Param-*` headers a 2026-07-28 client sent alongside).
   */
  receive(frame: Frame, info: { headers?: Readonly<Record<string, string>> } = {}): void {
    this.#lastActivity = Date.now();
    if (this.#closed) return;
    switch (frame.kind) {
      case 'request':
        void this.#onRequest(frame, info.headers).catch((error: Error) => this.#internalError(frame, error));
        return;
      case 'notification':
        this.#onNotification(frame);
        return;
      default:
        this.#onClientResponse(frame);
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const inflight of this.#inflight.values()) {
      inflight.cancelled = true;
      if (inflight.link && inflight.upstreamId !== undefined) inflight.link.cancel(inflight.upstreamId, 'the client session ended');
    }
    this.#inflight.clear();
    this.#serverRequests.clear();
    this.#o.onClose?.(this);
    await Promise.all([this.#o.ownsLinks ? this.#o.links.close() : undefined, this.#o.transport.close().catch(() => undefined)]);
  }

  // --- client requests ------------------------------------------------------------------------

  async #onRequest(frame: Frame, headers: Readonly<Record<string, string>> | undefined): Promise<void> {
    const request = frame.message as JsonRpcRequest;
    const envelope = readEnvelope(request.params);
    if (typeof envelope === 'string') {
      this.#reply(request.id, frameOf(errorResponse(request.id, ErrorCode.InvalidParams, `invalid request metadata: ${envelope}`)));
      return;
    }
    const era: Era = envelope === undefined ? 'legacy' : 'modern';
    const route: Route | undefined = CLIENT_REQUESTS[request.method];
    const target = route ? this.#resolve(route, request) : {};
    const key = idKey(request.id);
    const trace = this.#o.tracing?.call(
      request.method,
      {
        'session.id': this.id,
        ...(target.link ? { 'mcp.server': target.link.name } : {}),
        ...(target.name ? { 'mcp.target': target.name } : {}),
      },
      (request.params as Obj | undefined)?._meta,
    );
    const traced = trace ? { trace, verdict: undefined as string | undefined } : undefined;
    if (traced) this.#traces.set(key, traced);
    let failure: string | undefined;
    const outcome = await this.#run(frame, { direction: 'client-to-server', era, method: request.method, server: target.link?.name, target: target.name, id: request.id });
    try {
      await this.#dispatch(request, outcome, route, target, era, envelope, headers);
    } catch (error) {
      failure = (error as Error).message;
      throw error;
    } finally {
      this.#o.pipeline.settled({ session: this.context, id: request.id, method: request.method, server: target.link?.name, target: target.name });
      if (traced) {
        if (this.#traces.get(key) === traced) this.#traces.delete(key);
        traced.trace.end(traced.verdict, failure);
      }
    }
  }

  async #dispatch(
    request: JsonRpcRequest,
    outcome: PipelineOutcome,
    route: Route | undefined,
    target: Target,
    era: Era,
    envelope: Exclude<ReturnType<typeof readEnvelope>, string>,
    headers: Readonly<Record<string, string>> | undefined,
  ): Promise<void> {
    if (outcome.verdict === 'deny') return this.#refuse(request.id, outcome);
    if (route === undefined) {
      // The request filter refuses unknown methods; this holds even in a pipeline without it.
      return this.#reply(request.id, frameOf(errorResponse(request.id, ErrorCode.MethodNotFound, `method "${request.method}" is not part of MCP`)));
    }
    const allowed = outcome.frame;

    if (era === 'modern') {
      const problem = this.#acceptModern(envelope!, request);
      if (problem) return this.#reply(request.id, frameOf(problem));
    } else if (request.method !== 'initialize' && request.method !== 'ping' && !this.#initialized) {
      return this.#reply(request.id, frameOf(errorResponse(request.id, ErrorCode.InvalidRequest, 'the session is not initialized: send initialize first')));
    }

    switch (route.kind) {
      case 'local':
        return this.#local(request, era);
      case 'list':
        return this.#list(allowed, route.list, era);
      case 'broadcast':
        return this.#broadcast(allowed, route.capability, era);
      case 'single':
        if (this.#o.links.links.size !== 1) {
          return this.#reply(request.id, frameOf(errorResponse(request.id, ErrorCode.MethodNotFound, `${request.method} is only available with a single upstream server`)));
        }
        return this.#forward(allowed, this.#o.links.all()[0]!, undefined, era, headers);
      case 'listen':
        return this.#listen(allowed, era, headers);
      default:
        return this.#forward(allowed, target.link!, target.name, era, headers);
    }
  }

  /** Resolves which upstream a request is for, in the upstream's own naming. */
  #resolve(route: Route, request: JsonRpcRequest): Target {
    const params = (request.params ?? {}) as Obj;
    let name: unknown;
    if (route.kind === 'by-name') name = params.name;
    else if (route.kind === 'by-uri') name = params.uri;
    else if (route.kind === 'by-ref') {
      const ref = params.ref as Obj | undefined;
      name = ref?.name ?? ref?.uri;
    } else return {};
    if (typeof name !== 'string') return {};
    const inner = this.#o.namespace.inward(name);
    if (!inner) return {};
    const link = this.#o.links.get(inner.server);
    return link ? { link, name: inner.name } : {};
  }

  /** Checks a 2026-07-28 request's envelope and starts the links if this is the first one. */
  #acceptModern(envelope: NonNullable<Exclude<ReturnType<typeof readEnvelope>, string>>, request: JsonRpcRequest): JsonRpcResponse | undefined {
    if (envelope.protocolVersion !== MODERN_VERSION) {
      return errorResponse(request.id, -32022, `unsupported protocol version ${envelope.protocolVersion}`, {
        supported: [MODERN_VERSION],
        requested: envelope.protocolVersion,
      });
    }
    this.#clientEra = 'modern';
    if (!this.#hello) {
      this.#hello = {
        protocolVersion: MODERN_VERSION,
        capabilities: envelope.clientCapabilities,
        clientInfo: envelope.clientInfo ?? { name: 'unknown', version: '0' },
      };
      this.context.client = { ...(envelope.clientInfo as Obj), protocolVersion: MODERN_VERSION, capabilities: envelope.clientCapabilities };
    }
    return undefined;
  }

  #startLinks(era: Era): Promise<Map<string, Error>> {
    this.#linksStarted ??= this.#o.links.start(this.#hello!, era);
    return this.#linksStarted;
  }

  async #local(request: JsonRpcRequest, era: Era): Promise<void> {
    switch (request.method) {
      case 'ping':
        if (era === 'modern') return this.#reply(request.id, frameOf(errorResponse(request.id, ErrorCode.MethodNotFound, 'ping was removed in 2026-07-28')));
        return this.#reply(request.id, frameOf({ jsonrpc: '2.0', id: request.id, result: {} }));
      case 'initialize':
        if (era === 'modern') return this.#reply(request.id, frameOf(errorResponse(request.id, ErrorCode.MethodNotFound, 'initialize was removed in 2026-07-28')));
        return this.#initialize(request);
      case 'server/discover':
        return this.#discover(request);
    }
  }

  /** The only link, when one modern server stands behind the gateway unrenamed: forward as is. */
  async #soleModernLink(): Promise<UpstreamLink | undefined> {
    if (this.#o.namespace.enabled || this.#o.links.links.size !== 1) return undefined;
    await this.#startLinks('modern');
    const link = this.#o.links.all()[0]!;
    return link.description?.era === 'modern' ? link : undefined;
  }

  /** 2026-07-28 `subscriptions/listen`: a call that stays open, carrying change notifications. */
  async #listen(frame: Frame, era: Era, headers: Readonly<Record<string, string>> | undefined): Promise<void> {
    const request = frame.message as JsonRpcRequest;
    const link = era === 'modern' ? await this.#soleModernLink() : undefined;
    if (!link) {
      return this.#reply(request.id, frameOf(errorResponse(request.id, ErrorCode.MethodNotFound, 'subscriptions/listen is only relayed to a single 2026-07-28 server so far')));
    }
    return this.#forward(frame, link, undefined, era, headers, true);
  }

  async #initialize(request: JsonRpcRequest): Promise<void> {
    const params = (request.params ?? {}) as Obj;
    if (this.#initialized) return this.#reply(request.id, frameOf(errorResponse(request.id, ErrorCode.InvalidRequest, 'the session is already initialized')));
    const asked = typeof params.protocolVersion === 'string' ? params.protocolVersion : LATEST_LEGACY_VERSION;
    const capabilities = (params.capabilities as Obj | undefined) ?? {};
    const clientInfo = (params.clientInfo as Obj | undefined) ?? { name: 'unknown', version: '0' };
    this.#hello = { protocolVersion: isLegacyVersion(asked) ? asked : LATEST_LEGACY_VERSION, capabilities, clientInfo };
    this.#clientEra = 'legacy';
    this.context.client = { ...(clientInfo as { name?: string; version?: string }), protocolVersion: asked, capabilities };
    const failures = await this.#startLinks('legacy');
    const ready = this.#o.links.all().filter((l) => l.state === 'ready' && l.description);
    if (ready.length === 0) {
      const why = [...failures].map(([name, e]) => `${name}: ${e.message}`).join('; ');
      return this.#reply(request.id, frameOf(errorResponse(request.id, ErrorCode.UpstreamUnavailable, `no upstream server is available (${why || 'none configured'})`)));
    }
    for (const [name, error] of failures) this.#log.warn('upstream not available at initialize; it will join when it comes up', { upstream: name, error: error.message });
    let result: Obj;
    if (!this.#o.namespace.enabled && ready.length === 1) {
      // One server: present it as it presented itself.
      const d = ready[0]!.description!;
      const { protocolVersion: _v, ...rest } = d.era === 'legacy' ? d.result : this.#legacyViewOfModern(d);
      result = { protocolVersion: d.era === 'legacy' ? d.protocolVersion : this.#hello.protocolVersion, ...rest };
      this.#offered = (result.capabilities as Obj) ?? {};
    } else {
      this.#offered = mergeCapabilities(ready.map((l) => l.description!));
      const instructions = mergeInstructions(ready.map((l) => ({ name: l.name, description: l.description! })));
      result = { protocolVersion: this.#hello.protocolVersion, capabilities: this.#offered, serverInfo: GATEWAY_INFO, ...(instructions ? { instructions } : {}) };
    }
    this.#initialized = true;
    this.#reply(request.id, frameOf({ jsonrpc: '2.0', id: request.id, result }));
  }

  #legacyViewOfModern(d: NonNullable<UpstreamLink['description']>): Obj {
    const capabilities = { ...d.capabilities };
    delete capabilities.extensions;
    return { capabilities, serverInfo: d.serverInfo ?? GATEWAY_INFO, ...(d.instructions ? { instructions: d.instructions } : {}) };
  }

  async #discover(request: JsonRpcRequest): Promise<void> {
    const sole = await this.#soleModernLink();
    if (sole) return this.#forward(frameOf(request), sole, undefined, 'modern');
    await this.#startLinks('modern');
    const ready = this.#o.links.all().filter((l) => l.state === 'ready' && l.description);
    if (ready.length === 0) {
      return this.#reply(request.id, frameOf(errorResponse(request.id, ErrorCode.UpstreamUnavailable, 'no upstream server is available')));
    }
    let result: Obj;
    if (!this.#o.namespace.enabled && ready.length === 1) {
      const d = ready[0]!.description!;
      if (d.era === 'modern') {
        result = d.result;
      } else {
        result = resultForClient({ supportedVersions: [MODERN_VERSION], capabilities: d.capabilities, ...(d.instructions ? { instructions: d.instructions } : {}) }, 'server/discover', 'modern', 'legacy', d.serverInfo);
      }
    } else {
      const instructions = mergeInstructions(ready.map((l) => ({ name: l.name, description: l.description! })));
      result = resultForClient({ supportedVersions: [MODERN_VERSION], capabilities: mergeCapabilities(ready.map((l) => l.description!)), ...(instructions ? { instructions } : {}) }, 'server/discover', 'modern', 'legacy', GATEWAY_INFO);
    }
    this.#offered = (result.capabilities as Obj) ?? {};
    this.#reply(request.id, frameOf({ jsonrpc: '2.0', id: request.id, result }));
  }

  /** Forwards a request to one upstream and relays its answer. */
  async #forward(frame: Frame, link: UpstreamLink, innerName: string | undefined, era: Era, headers?: Readonly<Record<string, string>>, open = false): Promise<void> {
    const request = frame.message as JsonRpcRequest;
    const clientId = request.id;
    if (era === 'modern') await this.#startLinks('modern');
    const upstreamEra = link.description?.era ?? era;
    if (era === 'modern' && upstreamEra === 'legacy' && INPUT_METHODS.has(request.method)) return this.#parked(frame, link, innerName);
    let message = this.#inward(request, innerName);
    message = requestForUpstream(message, era, upstreamEra, this.#hello!, this.#logLevel);
    // Traced: the server gets the upstream span's context in _meta (SEP-414) and joins the trace.
    const upstreamSpan = this.#traces.get(idKey(clientId))?.trace.upstream(link.name);
    if (upstreamSpan && Object.keys(upstreamSpan.meta).length > 0) {
      const params = (message.params ?? {}) as Obj;
      message = { ...message, params: { ...params, _meta: { ...((params._meta as Obj | undefined) ?? {}), ...upstreamSpan.meta } } };
    }
    const outbound = message === request ? frame : mutated(frame, message);
    const inflight: Inflight = { cancelled: false, link };
    const key = idKey(clientId);
    this.#inflight.set(key, inflight);
    const owner: CallOwner = {
      related: (f, call) => {
        if (f.kind === 'request') link.hold(call.upstreamId);
        this.#fromServer(f, link, clientId);
      },
      paused: () => this.#o.transport.pause?.(clientId),
    };
    let streamed = false;
    const started = performance.now();
    const response = await link.request(outbound, owner, {
      open,
      onAnswer: (info) => (streamed = info?.streamed === true),
      onDispatch: (upstreamId) => (inflight.upstreamId = upstreamId),
      // A client's Mcp-Param-* headers mirror its arguments; they only mean something to a modern upstream.
      ...(headers && upstreamEra === 'modern' && era === 'modern' && Object.keys(headers).length > 0 ? { headers } : {}),
    });
    this.#o.metrics?.upstreamLatency(link.name, request.method, (performance.now() - started) / 1000);
    upstreamSpan?.end();
    if (this.#inflight.get(key) === inflight) this.#inflight.delete(key);
    if (inflight.cancelled || this.#closed) return;
    let outcome = await this.#run(response, { direction: 'server-to-client', era: upstreamEra, method: request.method, server: link.name, target: innerName, request: message, id: clientId });
    if (outcome.verdict === 'deny') return this.#refuse(clientId, outcome);
    if (era === 'legacy' && upstreamEra === 'modern' && outcome.frame.kind === 'result') {
      // A 2026 server needs input: ask this 2025 client the way it understands, then retry.
      const fulfilled = await this.#fulfil(outcome, message, link, owner, innerName, inflight);
      if (fulfilled === undefined) return;
      outcome = fulfilled;
      if (outcome.verdict === 'deny') return this.#refuse(clientId, outcome);
    }
    let answer = outcome.frame;
    if (answer.kind === 'result') {
      const result = (answer.message as { result: Obj }).result;
      let shaped = resultForClient(result, request.method, era, upstreamEra, link.description?.serverInfo);
      if (request.method === 'subscriptions/listen') shaped = withSubscriptionId(shaped, clientId);
      if (shaped !== result) answer = mutated(answer, { ...(answer.message as JsonRpcResponse), result: shaped } as JsonRpcMessage);
    }
    if (request.method === 'resources/subscribe' || request.method === 'resources/unsubscribe') {
      if (answer.kind === 'result' && innerName !== undefined) link.rememberSubscription(innerName, request.method === 'resources/subscribe');
    }
    // The answer travels the way the server sent it: streamed stays streamed.
    this.#reply(clientId, answer, streamed);
  }

  /** The request with the client's namespaced name replaced by the upstream's. */
  #inward(request: JsonRpcRequest, innerName: string | undefined): JsonRpcRequest {
    if (!this.#o.namespace.enabled || innerName === undefined) return request;
    const params = { ...(request.params ?? {}) } as Obj;
    if (typeof params.name === 'string') params.name = innerName;
    else if (typeof params.uri === 'string') params.uri = innerName;
    else if (params.ref && typeof params.ref === 'object') {
      const ref = { ...(params.ref as Obj) };
      if (typeof ref.name === 'string') ref.name = innerName;
      else ref.uri = innerName;
      params.ref = ref;
    }
    return { ...request, params };
  }

  /**
   * A 2026 client calling a 2025 server: questions the server asks during the call come back to
   * the client as `input_required`; the client's retry (carrying our sealed `requestState`)
   * delivers the answers to the parked call.
   */
  async #parked(frame: Frame, link: UpstreamLink, innerName: string | undefined): Promise<void> {
    const request = frame.message as JsonRpcRequest;
    const clientId = request.id;
    const params = (request.params ?? {}) as Obj;
    const registry = this.#o.links.parked;
    let call: ParkedCall;
    if (isOurState(params.requestState)) {
      const claimed = registry.claim(params.requestState, request);
      if (!claimed) {
        return this.#reply(clientId, frameOf(errorResponse(clientId, ErrorCode.InvalidParams, 'invalid or expired requestState', { reason: 'invalid_request_state' })));
      }
      call = claimed;
      call.relay = this.#relayFor(call, link, clientId);
      const responses = (params.inputResponses ?? {}) as Obj;
      for (const [key, question] of [...call.questions]) {
        const value = responses[key];
        // Unanswered or malformed answers are simply asked again.
        if (value === null || typeof value !== 'object' || Array.isArray(value)) continue;
        call.questions.delete(key);
        const answer = frameOf({ jsonrpc: '2.0', id: question.upstreamId, result: value as Obj });
        const outcome = await this.#run(answer, { direction: 'client-to-server', era: 'modern', method: question.method, server: link.name, id: clientId });
        if (outcome.verdict === 'deny') {
          const d = outcome.decisions.at(-1)!;
          link.respond(question.upstreamId, frameOf(errorResponse(question.upstreamId, d.code ?? ErrorCode.PolicyDenied, d.reason, { guardrail: decisionData(d) })));
        } else link.respond(question.upstreamId, outcome.frame);
      }
    } else {
      call = new ParkedCall(link, request);
      registry.add(call);
      const message = requestForUpstream(this.#inward(request, innerName), 'modern', 'legacy', this.#hello!, this.#logLevel);
      const owner: CallOwner = {
        related: (f) => {
          if (call.relay) call.relay(f);
          else if (f.kind === 'request') this.#refuseQuestion(f, link);
        },
      };
      call.relay = this.#relayFor(call, link, clientId);
      void link.request(mutated(frame, message), owner, { onDispatch: (id) => (call.upstreamId = id) }).then((answer) => call.finish(answer));
    }
    // While a round is open, the client closing its stream or cancelling cancels the server's call.
    const key = idKey(clientId);
    const inflight: Inflight = {
      cancelled: false,
      link,
      get upstreamId() {
        return call.upstreamId;
      },
    };
    this.#inflight.set(key, inflight);
    await call.next();
    call.relay = undefined;
    if (this.#inflight.get(key) === inflight) this.#inflight.delete(key);
    if (inflight.cancelled || this.#closed) return registry.delete(call);
    const answer = call.answer;
    if (answer === undefined) {
      registry.add(call);
      call.expireAfter(this.#o.limits.maxRequestTimeMs, () => {
        registry.delete(call);
        if (call.upstreamId !== undefined) link.cancel(call.upstreamId, 'the client did not answer the server\'s questions in time');
      });
      const result = { resultType: 'input_required', inputRequests: call.inputRequests(), requestState: call.requestState() };
      return this.#reply(clientId, frameOf({ jsonrpc: '2.0', id: clientId, result }));
    }
    registry.delete(call);
    const outcome = await this.#run(answer, { direction: 'server-to-client', era: 'legacy', method: request.method, server: link.name, target: innerName, request, id: clientId });
    if (outcome.verdict === 'deny') return this.#refuse(clientId, outcome);
    let out = outcome.frame;
    if (out.kind === 'result') {
      const result = (out.message as { result: Obj }).result;
      out = mutated(out, { ...(out.message as JsonRpcResponse), result: resultForClient(result, request.method, 'modern', 'legacy', link.description?.serverInfo) } as JsonRpcMessage);
    }
    this.#reply(clientId, out);
  }

  /** While a round of a parked call is open: the server's questions are collected, its notifications relayed. */
  #relayFor(call: ParkedCall, link: UpstreamLink, clientId: JsonRpcId): (frame: Frame) => void {
    return (f) => (f.kind === 'request' ? void this.#question(call, f, link) : this.#fromServer(f, link, clientId));
  }

  /** A question a 2025 server asks during a parked call: checked, then put to the client in the next round. */
  async #question(call: ParkedCall, frame: Frame, link: UpstreamLink): Promise<void> {
    const request = frame.message as JsonRpcRequest;
    const outcome = await this.#run(frame, { direction: 'server-to-client', era: 'legacy', method: request.method, server: link.name, id: request.id });
    if (outcome.verdict === 'deny') {
      const d = outcome.decisions.at(-1)!;
      return link.respond(request.id, frameOf(errorResponse(request.id, d.code ?? ErrorCode.PolicyDenied, d.reason, { guardrail: decisionData(d) })));
    }
    if (call.upstreamId !== undefined) link.hold(call.upstreamId);
    call.ask(outcome.frame);
  }

  #refuseQuestion(frame: Frame, link: UpstreamLink): void {
    const id = (frame.message as JsonRpcRequest).id;
    link.respond(id, frameOf(errorResponse(id, ErrorCode.InternalError, 'the client is not connected to answer right now')));
  }

  /**
   * A 2025 client calling a 2026 server that answered `input_required`: each input request
   * becomes a real request to the client; the call is retried with the answers (and the
   * server's own `requestState`, untouched) until it completes. Returns undefined when the
   * client was answered already (an error) or went away.
   */
  async #fulfil(
    first: PipelineOutcome,
    message: JsonRpcRequest,
    link: UpstreamLink,
    owner: CallOwner,
    innerName: string | undefined,
    inflight: Inflight,
  ): Promise<PipelineOutcome | undefined> {
    const clientId = message.id;
    let outcome = first;
    for (let round = 0; ; round++) {
      const ir = readInputRequired((outcome.frame.message as { result: Obj }).result);
      if (!ir) return outcome;
      if (round >= MAX_INPUT_ROUNDS) {
        this.#reply(clientId, frameOf(errorResponse(clientId, ErrorCode.InternalError, `the server still needed input after ${MAX_INPUT_ROUNDS} rounds`)));
        return undefined;
      }
      const responses: Obj = {};
      try {
        await Promise.all(Object.entries(ir.inputRequests).map(async ([key, asked]) => (responses[key] = await this.#askClient(asked.method, asked.params ?? {}, link, clientId))));
      } catch (error) {
        this.#reply(clientId, frameOf(errorResponse(clientId, (error as { code?: number }).code ?? ErrorCode.InternalError, (error as Error).message)));
        return undefined;
      }
      if (inflight.cancelled || this.#closed) return undefined;
      const params: Obj = { ...((message.params as Obj | undefined) ?? {}), inputResponses: responses };
      if (ir.requestState !== undefined) params.requestState = ir.requestState;
      const retry: JsonRpcRequest = { ...message, params };
      const response = await link.request(frameOf(retry), owner, { onDispatch: (id) => (inflight.upstreamId = id) });
      if (inflight.cancelled || this.#closed) return undefined;
      outcome = await this.#run(response, { direction: 'server-to-client', era: 'modern', method: message.method, server: link.name, target: innerName, request: retry, id: clientId });
      if (outcome.verdict === 'deny' || outcome.frame.kind !== 'result') return outcome;
    }
  }

  /** Asks the client something on a server's behalf; resolves with its result, rejects with its error. */
  async #askClient(method: string, params: Obj, link: UpstreamLink, relatedClientId: JsonRpcId): Promise<Obj> {
    const downstreamId = this.#nextServerRequestId++;
    const frame = frameOf({ jsonrpc: '2.0', id: downstreamId, method, params });
    const outcome = await this.#run(frame, { direction: 'server-to-client', era: 'modern', method, server: link.name, id: downstreamId });
    if (outcome.verdict === 'deny') {
      const d = outcome.decisions.at(-1)!;
      throw Object.assign(new Error(`the server needed ${method}, which was refused: ${d.reason}`), { code: d.code ?? ErrorCode.PolicyDenied });
    }
    const answer = await new Promise<Frame>((resolve) => {
      this.#clientAsks.set(downstreamId, { method, link, resolve });
      this.#send(outcome.frame, relatedClientId);
    });
    const response = answer.message as JsonRpcResponse;
    if ('error' in response) throw Object.assign(new Error(`the client declined ${method}: ${response.error.message}`), { code: response.error.code });
    return response.result;
  }

  /** `tools/list` and friends across every upstream that offers the list, with pagination. */
  async #list(frame: Frame, list: ListSpec, era: Era): Promise<void> {
    const request = frame.message as JsonRpcRequest;
    if (era === 'modern') await this.#startLinks('modern');
    const links = this.#o.links.all();
    if (!this.#o.namespace.enabled && links.length === 1) return this.#forward(frame, links[0]!, undefined, era);
    const names = new Set(links.map((l) => l.name));
    const cursor = (request.params as Obj | undefined)?.cursor;
    let state: PageState;
    if (typeof cursor === 'string') {
      const decoded = decodeCursor(cursor, names);
      if (typeof decoded === 'string') return this.#reply(request.id, frameOf(errorResponse(request.id, ErrorCode.InvalidParams, `invalid cursor: ${decoded}`)));
      state = decoded;
    } else {
      state = {};
      for (const link of links) {
        if (link.state !== 'ready' || link.description?.capabilities[list.capability] !== undefined) state[link.name] = null;
      }
      if (Object.keys(state).length === 0) {
        return this.#reply(request.id, frameOf(errorResponse(request.id, ErrorCode.MethodNotFound, `no server behind the gateway offers ${list.field}`)));
      }
    }
    const pages = await Promise.all(
      Object.entries(state).map(async ([server, upstreamCursor]) => {
        const link = this.#o.links.get(server)!;
        const params: Obj = { ...((request.params as Obj | undefined) ?? {}) };
        if (upstreamCursor === null) delete params.cursor;
        else params.cursor = upstreamCursor;
        const upstreamEra = link.description?.era ?? era;
        const sub = requestForUpstream({ jsonrpc: '2.0', id: request.id, method: request.method, params }, era, upstreamEra, this.#hello!, this.#logLevel);
        const response = await link.request(frameOf(sub), { related: (f: Frame) => this.#fromServer(f, link, request.id) });
        const outcome = await this.#run(response, { direction: 'server-to-client', era: upstreamEra, method: request.method, server, request: sub, id: request.id });
        if (outcome.verdict === 'deny' || outcome.frame.kind !== 'result') {
          const why = outcome.verdict === 'deny' ? outcome.decisions.at(-1)?.reason : (outcome.frame.message as { error?: { message?: string } }).error?.message;
          this.#log.warn(`${request.method} from an upstream failed; its items are left out`, { upstream: server, reason: why });
          return { server, items: [] as unknown[], next: undefined };
        }
        const result = (outcome.frame.message as { result: Obj }).result;
        const next = typeof result.nextCursor === 'string' ? result.nextCursor : undefined;
        return { server, items: outwardItems(list, server, result, this.#o.namespace), next };
      }),
    );
    const remaining: PageState = {};
    for (const page of pages) if (page.next !== undefined) remaining[page.server] = page.next;
    const result: Obj = { [list.field]: pages.flatMap((p) => p.items) };
    if (Object.keys(remaining).length > 0) result.nextCursor = encodeCursor(remaining);
    const shaped = era === 'modern' ? resultForClient(result, request.method, 'modern', 'legacy', GATEWAY_INFO) : result;
    this.#reply(request.id, frameOf({ jsonrpc: '2.0', id: request.id, result: shaped }));
  }

  /** `logging/setLevel`: every upstream that logs gets it; answered once all have. */
  async #broadcast(frame: Frame, capability: string, era: Era): Promise<void> {
    const request = frame.message as JsonRpcRequest;
    const level = (request.params as Obj | undefined)?.level;
    if (era === 'modern') return this.#reply(request.id, frameOf(errorResponse(request.id, ErrorCode.MethodNotFound, `${request.method} was removed in 2026-07-28`)));
    const links = this.#o.links.all().filter((l) => l.state === 'ready' && l.description?.capabilities[capability] !== undefined);
    if (links.length === 0) {
      return this.#reply(request.id, frameOf(errorResponse(request.id, ErrorCode.MethodNotFound, `no server behind the gateway supports ${capability}`)));
    }
    if (typeof level === 'string') this.#logLevel = level;
    const answers = await Promise.all(
      links.map(async (link) => {
        if (typeof level === 'string') link.rememberLogLevel(level);
        if (link.description?.era === 'modern') return undefined; // carried in each request's envelope instead
        const response = await link.request(frame, { related: (f: Frame) => this.#fromServer(f, link, request.id) });
        return response.kind === 'error' ? `${link.name}: ${(response.message as { error: { message: string } }).error.message}` : undefined;
      }),
    );
    const failed = answers.filter((a): a is string => a !== undefined);
    if (failed.length === links.length) {
      return this.#reply(request.id, frameOf(errorResponse(request.id, ErrorCode.InternalError, `${request.method} failed: ${failed.join('; ')}`)));
    }
    this.#reply(request.id, frameOf({ jsonrpc: '2.0', id: request.id, result: {} }));
  }

  // --- client notifications and responses --------------------------------------------------

  #onNotification(frame: Frame): void {
    const message = frame.message as JsonRpcNotification;
    const run = this.#run(frame, { direction: 'client-to-server', era: this.#clientEra, method: message.method });
    const handle = (outcome: PipelineOutcome) => {
      if (outcome.verdict === 'deny') return;
      const params = (outcome.frame.message as JsonRpcNotification).params ?? {};
      switch (message.method) {
        case 'notifications/initialized':
          this.#o.links.clientInitialized();
          return;
        case 'notifications/cancelled': {
          const requestId = params.requestId;
          if (typeof requestId !== 'string' && typeof requestId !== 'number') return;
          const inflight = this.#inflight.get(idKey(requestId));
          if (!inflight) return;
          inflight.cancelled = true;
          this.#inflight.delete(idKey(requestId));
          const reason = typeof params.reason === 'string' ? params.reason : 'cancelled by the client';
          if (inflight.link && inflight.upstreamId !== undefined) inflight.link.cancel(inflight.upstreamId, reason);
          return;
        }
        case 'notifications/roots/list_changed':
          for (const link of this.#o.links.all()) if (link.description?.era === 'legacy') link.notify(outcome.frame);
          return;
        case 'notifications/progress': {
          // Progress on a request a server made of the client goes back to that server.
          const token = params.progressToken;
          if (token === undefined) return;
          for (const pending of this.#serverRequests.values()) {
            if (pending.progressToken === token) return pending.link.notify(outcome.frame);
          }
          return;
        }
        default:
          return;
      }
    };
    if (run instanceof Promise) void run.then(handle);
    else handle(run);
  }

  #onClientResponse(frame: Frame): void {
    const id = (frame.message as JsonRpcResponse).id;
    const ask = typeof id === 'number' ? this.#clientAsks.get(id) : undefined;
    if (ask) {
      this.#clientAsks.delete(id as number);
      void Promise.resolve(this.#run(frame, { direction: 'client-to-server', era: this.#clientEra, method: ask.method, server: ask.link.name, id })).then((outcome) => {
        ask.resolve(outcome.verdict === 'deny' ? frameOf(errorResponse(id, ErrorCode.PolicyDenied, outcome.decisions.at(-1)!.reason)) : outcome.frame);
      });
      return;
    }
    const pending = typeof id === 'number' ? this.#serverRequests.get(id) : undefined;
    if (!pending) {
      this.#log.debug('dropping a client response to no pending server request', { id });
      return;
    }
    this.#serverRequests.delete(id as number);
    void Promise.resolve(this.#run(frame, { direction: 'client-to-server', era: this.#clientEra, method: pending.method, server: pending.link.name, id })).then((outcome) => {
      if (outcome.verdict === 'deny') {
        const d = outcome.decisions.at(-1)!;
        pending.link.respond(pending.upstreamId, frameOf(errorResponse(pending.upstreamId, d.code ?? ErrorCode.PolicyDenied, d.reason, { guardrail: decisionData(d) })));
        return;
      }
      pending.link.respond(pending.upstreamId, outcome.frame);
    });
  }

  // --- server-to-client traffic ------------------------------------------------------------

  /** A request or notification from an upstream, related to `clientId`'s request if known. */
  #fromServer(frame: Frame, link: UpstreamLink, clientId: JsonRpcId | undefined): void {
    if (this.#closed) return;
    if (frame.kind === 'request') return void this.#serverRequest(frame, link, clientId);
    const message = frame.message as JsonRpcNotification;
    void Promise.resolve(this.#run(frame, { direction: 'server-to-client', era: link.description?.era ?? 'legacy', method: message.method, server: link.name })).then((outcome) => {
      if (outcome.verdict === 'deny') return;
      let out = outcome.frame;
      const params = (out.message as JsonRpcNotification).params;
      if (message.method === 'notifications/cancelled') {
        // The server withdrew a request it made of the client: translate its id to ours.
        const upstreamId = params?.requestId;
        const entry = [...this.#serverRequests].find(([, r]) => r.link === link && r.upstreamId === upstreamId);
        if (!entry) return;
        this.#serverRequests.delete(entry[0]);
        out = mutated(out, { ...message, params: { ...params, requestId: entry[0] } });
      } else if (message.method === 'notifications/resources/updated' && this.#o.namespace.enabled && typeof params?.uri === 'string') {
        out = mutated(out, { ...message, params: { ...params, uri: this.#o.namespace.outward(link.name, params.uri) } });
      } else if (message.method === 'notifications/message' && this.#logLevel === undefined && this.#clientEra === 'modern') {
        return; // 2026-07-28: no log messages unless the request asked for them
      } else if (clientId !== undefined && params?._meta !== undefined && META.subscriptionId in (params._meta as Obj)) {
        // The server names the subscription by the listen request's id as it saw it: ours.
        out = mutated(out, { ...message, params: withSubscriptionId(params, clientId) });
      }
      this.#send(out, clientId);
    });
  }

  async #serverRequest(frame: Frame, link: UpstreamLink, clientId: JsonRpcId | undefined): Promise<void> {
    const request = frame.message as JsonRpcRequest;
    const refuse = (code: number, text: string, d?: Decision) =>
      link.respond(request.id, frameOf(errorResponse(request.id, code, text, d ? { guardrail: decisionData(d) } : undefined)));
    const outcome = await this.#run(frame, { direction: 'server-to-client', era: link.description?.era ?? 'legacy', method: request.method, server: link.name, id: request.id });
    if (outcome.verdict === 'deny') {
      const d = outcome.decisions.at(-1)!;
      return refuse(d.code ?? ErrorCode.PolicyDenied, d.reason, d);
    }
    if (this.#clientEra === 'modern') {
      this.#log.warn('a server request arrived outside any call of a 2026-07-28 client; refused', { upstream: link.name, method: request.method });
      return refuse(ErrorCode.MethodNotFound, `the client speaks ${MODERN_VERSION} and cannot receive ${request.method} requests outside a call`);
    }
    const downstreamId = this.#nextServerRequestId++;
    const progressToken = ((request.params as Obj | undefined)?._meta as Obj | undefined)?.progressToken;
    this.#serverRequests.set(downstreamId, { link, upstreamId: request.id, method: request.method, progressToken });
    let out: Frame;
    try {
      out = withId(outcome.frame, downstreamId);
    } catch {
      this.#serverRequests.delete(downstreamId);
      return refuse(ErrorCode.InvalidRequest, 'the request has more than one "id" member');
    }
    this.#send(out, clientId);
  }

  /** Lists may have changed (an upstream restarted or joined): tell the client if it listens. */
  #announceChanges(): void {
    if (!this.#initialized || this.#clientEra !== 'legacy') return;
    for (const [capability, method] of [
      ['tools', 'notifications/tools/list_changed'],
      ['prompts', 'notifications/prompts/list_changed'],
      ['resources', 'notifications/resources/list_changed'],
    ] as const) {
      const offered = this.#offered[capability] as Obj | undefined;
      if (offered?.listChanged === true) this.#send(frameOf({ jsonrpc: '2.0', method }), undefined);
    }
  }

  // --- plumbing -----------------------------------------------------------------------------

  /** Runs the pipeline on one message and records the decision. */
  #run(frame: Frame, at: RunAt): PipelineOutcome | Promise<PipelineOutcome> {
    const { direction, method, server, target, request, id, era } = at;
    const kind = frame.kind;
    // A peer GUARDRAIL's annotation is checked before anything else looks at the message.
    const verified = this.#o.annotator?.verify(frame, direction === 'client-to-server' ? 'client' : 'server');
    const record = (outcome: PipelineOutcome): PipelineOutcome | Promise<PipelineOutcome> => {
      // Every request's decision is recorded; other messages when a stage reported something
      // (refused, changed, or classified above PUBLIC), or always when the recorder says so.
      let durable: void | Promise<void> = undefined;
      if (kind === 'request' || outcome.verdict !== 'allow' || outcome.decisions.length > 0 || this.#o.recorder.recordsEverything) {
        durable = this.#o.recorder.record(
          {
            session: this.id,
            direction,
            kind,
            method,
            ...(id === undefined ? {} : { id }),
            ...(server === undefined ? {} : { server }),
            ...(target === undefined ? {} : { target }),
            verdict: outcome.verdict,
            decisions: outcome.decisions,
          },
          { message: outcome.frame.message },
        );
      }
      if (outcome.verdict === 'deny') this.context.note('decision.denied', { rule: outcome.decisions.at(-1)?.rule, method });
      const traced = id === undefined || id === null ? undefined : this.#traces.get(idKey(id));
      if (traced) {
        traced.trace.decisions(direction, outcome.decisions);
        traced.verdict = outcome.verdict === 'allow' && traced.verdict !== undefined ? traced.verdict : outcome.verdict;
      }
      const done = labelled(outcome, verified?.ok ? inherited(verified) : undefined);
      if (!durable) return done;
      // Nothing moves on unrecorded: wait for the record to be on disk, or refuse.
      return durable.then(
        () => done,
        (error: unknown) => {
          const d = decision('deny', 'audit', 'audit', 'audit.unrecorded', 'refused: the audit store could not record this message, and nothing is forwarded unrecorded', {
            error: error instanceof Error ? error.message : String(error),
          });
          this.#o.events?.emit({ type: 'event.security.audit.unrecorded', message: d.reason, rule: d.rule, session: this.id, method, ...(server ? { server } : {}), detail: d.evidence ?? {} });
          return { verdict: 'deny', frame, decisions: [...outcome.decisions, d] };
        },
      );
    };
    if (verified && !verified.ok) {
      const d = decision('deny', 'flow', 'information-flow', `flow.annotation-${verified.code}`, `the message's security annotation was refused: ${verified.reason}`, { code: verified.code });
      return record({ verdict: 'deny', frame, decisions: [d] });
    }
    const input = { direction, era, kind, method, frame: verified?.frame ?? frame, session: this.context, server, target, request };
    const outcome = this.#o.pipeline.run(input);
    return outcome instanceof Promise ? outcome.then(record) : record(outcome);
  }


  #refuse(clientId: JsonRpcId, outcome: PipelineOutcome): void {
    const d = outcome.decisions.at(-1)!;
    this.#reply(clientId, frameOf(errorResponse(clientId, d.code ?? ErrorCode.PolicyDenied, d.reason, { guardrail: decisionData(d) })));
  }

  /** Sends the answer to a client request, with the client's own id. */
  #reply(clientId: JsonRpcId, frame: Frame, stream = false): void {
    let out: Frame;
    try {
      out = withId(frame, clientId);
    } catch (error) {
      if (!(error instanceof AmbiguousIdError)) throw error;
      out = frameOf(errorResponse(clientId, ErrorCode.InternalError, 'the upstream answered with a message that has more than one "id" member'));
    }
    this.#send(out, clientId, stream);
  }

  #send(frame: Frame, relatedRequestId: JsonRpcId | undefined, stream = false): void {
    if (this.#closed) return;
    if (this.#o.annotator?.signs) frame = this.#o.annotator.sign(frame);
    const options = relatedRequestId === undefined ? {} : stream ? { relatedRequestId, stream } : { relatedRequestId };
    this.#o.transport.send(frame, options).catch((error: Error) => {
      this.#log.debug('could not deliver to the client', { error: error.message });
    });
  }

  #onInvalid(problem: InvalidFrame): void {
    this.#lastActivity = Date.now();
    const rule = problem.oversized ? 'request-filter.too-large' : problem.code === ErrorCode.ParseError ? 'request-filter.malformed' : 'request-filter.invalid-message';
    const d = decision('deny', 'request-filter', 'request-control', rule, problem.reason, { size: problem.size, ...(problem.method ? { method: problem.method } : {}) }, problem.code);
    // Refused whatever happens to its record; a recorder that cannot record it says so itself.
    void Promise.resolve(this.#o.recorder.record({
      session: this.id,
      direction: 'client-to-server',
      kind: 'request',
      method: problem.method ?? '(unreadable)',
      id: problem.id,
      verdict: 'deny',
      decisions: [d],
    })).catch(() => undefined);
    this.#send(frameOf(errorResponse(problem.id, problem.code, problem.reason, { guardrail: decisionData(d) })), problem.id ?? undefined);
  }

  #internalError(frame: Frame, error: Error): void {
    this.#log.error('internal error while handling a request', { error: error.stack ?? error.message });
    const id = (frame.message as JsonRpcRequest).id;
    this.#reply(id, frameOf(errorResponse(id, ErrorCode.InternalError, 'the gateway failed while handling this request')));
  }
}

/** `_meta["io.modelcontextprotocol/subscriptionId"]` set to the client's id for its listen request. */
function withSubscriptionId(params: Obj, clientId: JsonRpcId): Obj {
  return { ...params, _meta: { ...((params._meta as Obj | undefined) ?? {}), [META.subscriptionId]: clientId } };
}

/** What a verified peer said about the content: the floor of what this gateway says. */
function inherited(verified: Verified & { ok: true }): FrameLabel | undefined {
  const a = verified.annotation;
  return a ? { classification: a.classification, transformations: a.transformations } : undefined;
}

/**
 * The outcome's frame labelled with what the information-flow stage concluded, raised to what
 * a verified peer had said (`inherited`), for the annotation the gateway signs.
 */
function labelled(outcome: PipelineOutcome, inherited: FrameLabel | undefined): PipelineOutcome {
  const flow = outcome.decisions.find((d) => d.layer === 'information-flow' && d.evidence?.classification !== undefined);
  if ((!flow && !inherited) || outcome.verdict === 'deny') return outcome;
  const evidence = (flow?.evidence ?? {}) as { classification?: FrameLabel['classification']; transformations?: string[] };
  const own = evidence.classification ?? 'PUBLIC';
  const classification = inherited ? maxLevel(inherited.classification, own) : own;
  const transformations = [...new Set([...(inherited?.transformations ?? []), ...(evidence.transformations ?? [])])];
  return { ...outcome, frame: { ...outcome.frame, label: { classification, transformations } } };
}

/** The decision as it travels in an error's `data.guardrail`. */
export function decisionData(d: Decision): Obj {
  const data: Obj = { effect: d.effect, rule: d.rule, layer: d.layer, stage: d.stage, reason: d.reason };
  if (d.evidence !== undefined) data.evidence = d.evidence;
  return data;
}

