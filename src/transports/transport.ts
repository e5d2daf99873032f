/**
 * The transport shape every adapter implements, modelled on the MCP SDK's `Transport`
 * (`start/send/close`, `onmessage/onerror/onclose`) but carrying frames, so bytes that need no
 * change are never re-serialised. Adapters translate I/O and nothing else: no policy here.
 */
import type { Frame } from '../protocol/frame.ts';
import type { JsonRpcId } from '../protocol/jsonrpc.ts';

export interface SendOptions {
  /**
   * The request this message belongs to, in the receiving peer's id space. The HTTP downstream
   * uses it to put the message on that request's response stream.
   */
  readonly relatedRequestId?: JsonRpcId;
  /** Extra HTTP headers for an upstream request (2026-07-28 `Mcp-Param-*` headers a client sent). */
  readonly headers?: Readonly<Record<string, string>>;
  /** Deliver an answer on an SSE stream rather than as plain JSON (the upstream streamed it). */
  readonly stream?: boolean;
}

export interface ReceiveInfo {
  /** The request whose response stream carried this message (HTTP upstreams), in our id space. */
  readonly relatedRequestId?: JsonRpcId;
  /** The message came on an SSE response stream (not as a plain JSON body). */
  readonly streamed?: boolean;
}

/** Something that arrived but is not a message we can route: malformed, invalid, or too large. */
export interface InvalidFrame {
  /** JSON-RPC code for the answer: -32700 parse error, -32600 invalid request, or too large. */
  readonly code: number;
  readonly reason: string;
  /** The id to answer, when it could be read. */
  readonly id: JsonRpcId | null;
  readonly method?: string;
  readonly size: number;
  /** Set when the frame exceeded the size limit. */
  readonly oversized?: boolean;
}

export interface CloseInfo {
  readonly reason: string;
  readonly code?: number | null;
  readonly signal?: string | null;
}

export interface FrameTransport {
  start(): Promise<void>;
  send(frame: Frame, options?: SendOptions): Promise<void>;
  close(): Promise<void>;
  /** Stops waiting for a request; on modern HTTP, closing its stream is how a call is cancelled. */
  abort?(requestId: JsonRpcId): void;
  /** Upstream HTTP transports send per-era headers; told once the handshake settles the era. */
  setProtocol?(era: 'legacy' | 'modern', version: string): void;
  /**
   * Downstream HTTP: ends the response stream of a request that is still running, keeping what
   * follows for the client to fetch with Last-Event-ID (SEP-1699 polling, mirrored).
   */
  pause?(relatedRequestId: JsonRpcId): void;
  onframe?: (frame: Frame, info?: ReceiveInfo) => void;
  oninvalid?: (problem: InvalidFrame) => void;
  onerror?: (error: Error) => void;
  onclose?: (info: CloseInfo) => void;
  /** Upstream HTTP: the server ended a request's response stream before answering, to be resumed. */
  onpause?: (requestId: JsonRpcId) => void;
}
