/**
 * Frames over a pair of byte streams with newline-delimited JSON: the reading half shared by
 * the stdio downstream (our stdin/stdout) and the child-process upstream (its stdout/stdin).
 */
import type { Readable, Writable } from 'node:stream';
import { peekEnvelope } from '../protocol/envelope.ts';
import { decodeFrame, encodeFrame, type Frame } from '../protocol/frame.ts';
import { ErrorCode } from '../protocol/jsonrpc.ts';
import { formatBytes } from '../config/units.ts';
import { LineFramer } from './line-framer.ts';
import type { FrameTransport, InvalidFrame } from './transport.ts';

const NEWLINE = Buffer.from('\n');

/** Wires a readable byte stream to a transport's `onframe`/`oninvalid`. */
export function readFrames(input: Readable, maxBytes: number, target: Pick<FrameTransport, 'onframe' | 'oninvalid'>): LineFramer {
  const framer = new LineFramer(maxBytes, {
    line(bytes) {
      const decoded = decodeFrame(bytes);
      if (decoded.ok) target.onframe?.(decoded.frame);
      else target.oninvalid?.({ code: decoded.code, reason: decoded.reason, id: decoded.id, size: bytes.length });
    },
    oversized({ size, head, tail }) {
      const envelope = peekEnvelope(head, tail);
      const problem: InvalidFrame = {
        code: ErrorCode.MessageTooLarge,
        reason: `the message is ${formatBytes(size)}, over the ${formatBytes(maxBytes)} limit`,
        id: envelope.id ?? null,
        size,
        oversized: true,
        ...(envelope.method === undefined ? {} : { method: envelope.method }),
      };
      target.oninvalid?.(problem);
    },
  });
  input.on('data', (chunk: Buffer) => framer.push(chunk));
  return framer;
}

/** Writes one frame and its newline; resolves once the stream accepted it (or failed). */
export function writeFrame(output: Writable, frame: Frame): Promise<void> {
  const bytes = encodeFrame(frame);
  return new Promise((resolve, reject) => {
    if (output.destroyed || output.writableEnded) {
      reject(new Error('the stream is closed'));
      return;
    }
    output.cork();
    output.write(bytes);
    output.write(NEWLINE, (error) => (error ? reject(error) : resolve()));
    process.nextTick(() => output.uncork());
  });
}
