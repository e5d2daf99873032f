/**
 * Bridging the two ways MCP asks a client for input during a call (sampling, elicitation,
 * roots):
 * - 2025-11-25 servers send a request to the client and wait, the call still open;
 * - 2026-07-28 servers answer the call with an `input_required` result, and the client retries
 *   the call with `inputResponses` (and the server's opaque `requestState`).
 *
 * A 2026 client of a 2025 server: the gateway parks the server's call, answers the client with
 * `input_required`, and on the retry hands the answers to the waiting server. The parked call is
 * named by a `requestState` the gateway seals with an HMAC (bound to the method and the tool or
 * prompt), so a client can neither forge one nor reuse it for another call.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { hmacSha256 } from '../util/hmac.ts';
import type { Frame } from '../protocol/frame.ts';
import type { JsonRpcId, JsonRpcRequest } from '../protocol/jsonrpc.ts';
import type { UpstreamLink } from './upstream-link.ts';

type Obj = Record<string, unknown>;

const PREFIX = 'guardrail.v1.';
const KEY = randomBytes(32);

/** A question the server asked the client, waiting for its answer. */
export interface OpenQuestion {
  readonly upstreamId: JsonRpcId;
  readonly method: string;
  readonly params: Obj;
}

/**
 * A 2025 server's call, held open while a 2026 client answers the server's questions across
 * several of its own requests.
 */
export class ParkedCall {
  readonly token = randomBytes(18).toString('base64url');
  readonly link: UpstreamLink;
  readonly method: string;
  readonly name: string | undefined;
  /** Questions not yet answered, by the key the client sees. */
  readonly questions = new Map<string, OpenQuestion>();
  upstreamId: number | undefined;
  /**
   * Where what the server relates to the call goes during the current round (the session of the
   * client request being answered); undefined between rounds, while the client thinks.
   */
  relay: ((frame: Frame) => void) | undefined;
  #answer: Frame | undefined;
  #asked = 0;
  #wake: (() => void) | undefined;
  #expiry: NodeJS.Timeout | undefined;

  constructor(link: UpstreamLink, request: JsonRpcRequest) {
    this.link = link;
    this.method = request.method;
    const params = (request.params ?? {}) as Obj;
    this.name = typeof params.name === 'string' ? params.name : typeof params.uri === 'string' ? params.uri : undefined;
  }

  get answer(): Frame | undefined {
    return this.#answer;
  }

  /** The server asked something: the current round can be answered. */
  ask(frame: Frame): void {
    const request = frame.message as JsonRpcRequest;
    this.questions.set(`input_${++this.#asked}`, { upstreamId: request.id, method: request.method, params: (request.params ?? {}) as Obj });
    this.#wake?.();
  }

  /** The server answered the call: it is over. */
  finish(answer: Frame): void {
    this.#answer = answer;
    this.#wake?.();
  }

  /** Resolves once there is something to tell the client: the answer, or questions. */
  next(): Promise<void> {
    if (this.#answer !== undefined || this.questions.size > 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.#wake = () => {
        this.#wake = undefined;
        // Let questions the server sends together arrive before the round is answered.
        setImmediate(resolve);
      };
    });
  }

  /** The `inputRequests` of the round the client is asked to answer. */
  inputRequests(): Obj {
    const out: Obj = {};
    for (const [key, q] of this.questions) out[key] = { method: q.method, params: q.params };
    return out;
  }

  requestState(): string {
    return `${PREFIX}${this.token}.${sign(this.token, this.method, this.name)}`;
  }

  /** Drops the call if the client does not come back in time. */
  expireAfter(ms: number, onExpire: () => void): void {
    clearTimeout(this.#expiry);
    this.#expiry = setTimeout(onExpire, ms);
    this.#expiry.unref();
  }

  settle(): void {
    clearTimeout(this.#expiry);
  }
}

function sign(token: string, method: string, name: string | undefined): string {
  return hmacSha256(KEY, `${token}\n${method}\n${name ?? ''}`, 'base64url');
}

/** Whether a `requestState` is one of ours (and not the server's own opaque state). */
export function isOurState(state: unknown): state is string {
  return typeof state === 'string' && state.startsWith(PREFIX);
}

/** The parked calls of one scope (a session's links, or the shared stateless pool). */
export class ParkedCalls {
  readonly #calls = new Map<string, ParkedCall>();

  add(call: ParkedCall): void {
    this.#calls.set(call.token, call);
  }

  delete(call: ParkedCall): void {
    call.settle();
    this.#calls.delete(call.token);
  }

  /** The call a retry continues, if its state is genuine and matches the retried request; it leaves the registry until its next round. */
  claim(state: string, request: JsonRpcRequest): ParkedCall | undefined {
    const rest = state.slice(PREFIX.length);
    const dot = rest.indexOf('.');
    if (dot <= 0) return undefined;
    const token = rest.slice(0, dot);
    const call = this.#calls.get(token);
    if (!call || call.method !== request.method) return undefined;
    const params = (request.params ?? {}) as Obj;
    const name = typeof params.name === 'string' ? params.name : typeof params.uri === 'string' ? params.uri : undefined;
    const expected = Buffer.from(sign(token, call.method, call.name));
    const given = Buffer.from(rest.slice(dot + 1));
    if (name !== call.name || expected.length !== given.length || !timingSafeEqual(expected, given)) return undefined;
    // A round is continued once: a second retry with the same state finds nothing.
    this.delete(call);
    return call;
  }

  async close(): Promise<void> {
    for (const call of this.#calls.values()) {
      call.settle();
      if (call.upstreamId !== undefined) call.link.cancel(call.upstreamId, 'the gateway is closing');
    }
    this.#calls.clear();
  }
}

/** An `InputRequiredResult` (2026-07-28) as the gateway reads it. */
export interface InputRequired {
  readonly inputRequests: Record<string, { method: string; params?: Obj }>;
  readonly requestState: string | undefined;
}

export function readInputRequired(result: Obj): InputRequired | undefined {
  if (result.resultType !== 'input_required') return undefined;
  const requests = (result.inputRequests ?? {}) as Record<string, { method: string; params?: Obj }>;
  return { inputRequests: requests, requestState: typeof result.requestState === 'string' ? result.requestState : undefined };
}
