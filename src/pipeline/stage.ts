import type { Frame } from '../protocol/frame.ts';
import type { JsonRpcId, JsonRpcMessage, JsonRpcRequest, MessageKind } from '../protocol/jsonrpc.ts';
import type { Era } from '../protocol/revisions.ts';
import type { Decision, Layer } from './decision.ts';
import type { SecurityContext } from './security-context.ts';

/** Which way a message travels: from the client towards a server, or back. */
export type Direction = 'client-to-server' | 'server-to-client';

export interface StageContext {
  readonly direction: Direction;
  /** The protocol era the message is written in: the client's for its messages, the server's for its own. */
  readonly era: Era;
  readonly kind: MessageKind;
  /** The method of a request or notification; for a response, the method of the request it answers. */
  readonly method: string;
  /** The message as it stands after the stages before this one. */
  readonly frame: Frame;
  readonly session: SecurityContext;
  /** The upstream server the message goes to or comes from, once routed. */
  readonly server: string | undefined;
  /** The tool, prompt or resource the message is about, in the upstream's own naming. */
  readonly target: string | undefined;
  /** For a response: the request it answers, as the upstream received it. */
  readonly request: JsonRpcRequest | undefined;
}

export type StageResult =
  | { readonly effect: 'pass'; readonly decision?: Decision }
  | { readonly effect: 'mutate'; readonly message: JsonRpcMessage; readonly decision: Decision }
  | { readonly effect: 'reject'; readonly decision: Decision };

export interface StageScope {
  /** Methods the stage looks at; `'*'` for all. Responses match the method they answer. */
  readonly methods: readonly string[] | '*';
  readonly directions: readonly Direction[];
  /** Kinds of message; all kinds when omitted. */
  readonly kinds?: readonly MessageKind[];
}

/**
 * A pipeline stage. Stages are made by named factories that check their options once and
 * return an object whose `evaluate` is pure with respect to the message: no parsing of policy,
 * no I/O on the common path. `evaluate` may return a promise when it must wait (a DNS lookup,
 * an approval); the pipeline keeps the synchronous path free of promise overhead.
 */
/** A client request that has ended: answered, refused, cancelled, or its session closed. */
export interface SettledCall {
  readonly session: SecurityContext;
  readonly id: JsonRpcId;
  readonly method: string;
  readonly server: string | undefined;
  readonly target: string | undefined;
}

export interface Stage {
  readonly name: string;
  readonly layer: Layer;
  readonly scope: StageScope;
  evaluate(context: StageContext): StageResult | Promise<StageResult>;
  /**
   * Called once for every client request this stage evaluated, when it has ended however it
   * ended: a stage that holds something for the length of a call (a concurrency slot) lets go here.
   */
  settled?(call: SettledCall): void;
}

export const PASS: StageResult = Object.freeze({ effect: 'pass' });
