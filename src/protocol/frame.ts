import { locateId } from './envelope.ts';
import {
  ErrorCode,
  validateMessage,
  type JsonRpcId,
  type JsonRpcMessage,
  type MessageKind,
} from './jsonrpc.ts';

/**
 * One JSON-RPC message as it crosses the gateway: the parsed value every stage reads, and the
 * exact bytes the peer sent for as long as nothing has changed the message. A frame whose
 * `raw` is set is forwarded byte for byte; only a mutation pays for re-serialising.
 */
export interface Frame {
  readonly message: JsonRpcMessage;
  readonly kind: MessageKind;
  readonly raw: Buffer | undefined;
  /** What the information-flow layer concluded about the content (for security annotations). */
  readonly label?: FrameLabel;
}

export interface FrameLabel {
  readonly classification: 'PUBLIC' | 'INTERNAL' | 'SENSITIVE' | 'RESTRICTED';
  readonly transformations: readonly string[];
}

export type DecodeResult =
  | { ok: true; frame: Frame }
  | { ok: false; code: number; reason: string; id: JsonRpcId | null };

/** Parses and checks one serialised message (without its line terminator). */
export function decodeFrame(bytes: Buffer): DecodeResult {
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch (error) {
    return { ok: false, code: ErrorCode.ParseError, reason: `not valid JSON: ${(error as Error).message}`, id: null };
  }
  const checked = validateMessage(value);
  if (!checked.ok) return { ok: false, code: ErrorCode.InvalidRequest, reason: checked.reason, id: checked.id };
  return { ok: true, frame: { message: checked.message, kind: checked.kind, raw: singleLine(bytes) } };
}

/**
 * Frames travel on line-based channels (stdio, SSE), so their bytes must hold no CR or LF.
 * A pretty-printed body from an HTTP peer may: in valid JSON those can only be insignificant
 * whitespace (inside strings they must be escaped), so replacing them with spaces is lossless.
 */
function singleLine(bytes: Buffer): Buffer {
  if (bytes.indexOf(0x0a) === -1 && bytes.indexOf(0x0d) === -1) return bytes;
  const copy = Buffer.from(bytes);
  for (let i = 0; i < copy.length; i++) if (copy[i] === 0x0a || copy[i] === 0x0d) copy[i] = 0x20;
  return copy;
}

/** A frame for a message the gateway built itself (or changed): serialised when sent. */
export function frameOf(message: JsonRpcMessage): Frame {
  const kind: MessageKind = 'method' in message ? ('id' in message ? 'request' : 'notification') : 'error' in message ? 'error' : 'result';
  return { message, kind, raw: undefined };
}

/** The bytes to send for a frame. */
export function encodeFrame(frame: Frame): Buffer {
  // eslint-disable-next-line no-restricted-syntax -- this is the one place frames are serialised
  return frame.raw ?? Buffer.from(JSON.stringify(frame.message), 'utf8');
}

export class AmbiguousIdError extends Error {
  constructor() {
    super('the message has more than one "id" member');
    this.name = 'AmbiguousIdError';
  }
}

/**
 * The same message with another id, spliced into the peer's bytes when possible (see
 * `locateId`); throws `AmbiguousIdError` for a message with duplicate id members.
 */
export function withId(frame: Frame, id: JsonRpcId | null): Frame {
  const message = { ...frame.message, id } as JsonRpcMessage;
  const raw = frame.raw;
  if (raw === undefined) return mutated(frame, message);
  const span = locateId(raw, (frame.message as { id?: unknown }).id);
  if (span === 'ambiguous') throw new AmbiguousIdError();
  if (span === undefined) return mutated(frame, message);
  const spliced = Buffer.concat([raw.subarray(0, span.start), Buffer.from(JSON.stringify(id)), raw.subarray(span.end)]);
  return frame.label ? { message, kind: frame.kind, raw: spliced, label: frame.label } : { message, kind: frame.kind, raw: spliced };
}

/** A changed message: the bytes are dropped and will be rebuilt from the value. */
export function mutated(frame: Frame, message: JsonRpcMessage): Frame {
  return frame.label ? { message, kind: frame.kind, raw: undefined, label: frame.label } : { message, kind: frame.kind, raw: undefined };
}
