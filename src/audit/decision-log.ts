/**
 * The minimal decision record: one JSON line per decision, to stderr or a file. It stands in
 * for the tamper-evident audit trail (seed 001 §7) until that layer replaces it; the record's
 * fields are a subset of the spec's FlowRecord so the replacement can keep them.
 *
 * Lines recorded in one turn of the event loop leave in one write (stderr on a pipe writes
 * synchronously on Linux: one system call per line would cost every call a few microseconds
 * under load); `close` writes what is pending.
 */
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { dirname } from 'node:path';
import type { DecisionLogConfig } from '../config/config.ts';
import type { Decision } from '../pipeline/decision.ts';
import type { Verdict } from '../pipeline/pipeline.ts';
import type { Direction } from '../pipeline/stage.ts';
import type { JsonRpcId, JsonRpcMessage, MessageKind } from '../protocol/jsonrpc.ts';
import type { Logger } from '../util/logger.ts';

export interface DecisionRecord {
  readonly session: string;
  readonly direction: Direction;
  readonly kind: MessageKind;
  readonly method: string;
  /** The id as the sending peer wrote it. */
  readonly id?: JsonRpcId | null;
  readonly server?: string;
  readonly target?: string;
  readonly verdict: Verdict;
  readonly decisions: readonly Decision[];
}

/**
 * The message as it left the pipeline, for the audit store only: it keeps keyed hashes of the
 * parameters, and the content itself (redacted) where a flow rule asks for it. The decision log
 * never receives it.
 */
export interface RecordedContent {
  readonly message: JsonRpcMessage;
}

export interface DecisionRecorder {
  /**
   * Records an entry. A recorder that must have the record durable before the message moves
   * on (the audit store in `block` mode) returns a promise: resolved once it is on disk,
   * rejected when it cannot be recorded (the message is then refused).
   */
  record(entry: DecisionRecord, content?: RecordedContent): void | Promise<void>;
  /** Every message must be recorded, not only requests and what a stage reported on. */
  readonly recordsEverything?: boolean;
  close(): Promise<void>;
}

export const noRecorder: DecisionRecorder = { record() {}, close: async () => {} };

export function createDecisionLog(config: DecisionLogConfig, logger: Logger, stderr: NodeJS.WritableStream = process.stderr): DecisionRecorder {
  if (config.sink === 'off') return noRecorder;
  let stream: WriteStream | undefined;
  let out: NodeJS.WritableStream = stderr;
  if (config.sink === 'file') {
    mkdirSync(dirname(config.path!), { recursive: true });
    stream = createWriteStream(config.path!, { flags: 'a', mode: 0o600 });
    let warned = false;
    stream.on('error', (error) => {
      if (!warned) logger.error('decision log write failed; decisions are no longer recorded to the file', { path: config.path, error: error.message });
      warned = true;
    });
    out = stream;
  }
  const onlyDenials = config.include === 'denials';
  let seq = 0;
  let pending = '';
  let scheduled: NodeJS.Immediate | undefined;
  const flush = () => {
    scheduled = undefined;
    if (pending.length === 0) return;
    const text = pending;
    pending = '';
    out.write(text);
  };
  return {
    record(entry) {
      if (onlyDenials && entry.verdict === 'allow') return;
      seq++;
      pending += `${JSON.stringify({ type: 'guardrail.decision', time: new Date().toISOString(), seq, ...entry })}\n`;
      scheduled ??= setImmediate(flush);
    },
    close() {
      if (scheduled) clearImmediate(scheduled);
      flush();
      return new Promise((resolve) => {
        if (!stream) return resolve();
        stream.end(() => resolve());
      });
    },
  };
}
