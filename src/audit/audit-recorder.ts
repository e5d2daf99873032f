/**
 * The audit recorder: turns each decision the session reports into a FlowRecord (seed 001
 * §7.1.2) and hands it to the tamper-evident store in batches, off the request path: `record`
 * only queues the entry; at the end of the event-loop turn the queued entries become records
 * (hashes, redacted content) and go to the store's writer thread, which chains them and
 * writes them in one transaction (durable when it answers). The bounded queue counts records
 * waiting for the end of the turn and records with the writer. What happens when the store
 * cannot keep up or fails is configured:
 *
 * - `drop-with-alert`: new records are dropped, every drop counted and reported;
 * - `block`: every message is recorded, and `record` returns a promise that the session waits
 *   for before the message moves on: resolved once its batch is on disk, rejected (the message
 *   is refused) when the store fails or the queue stays full for `blockTimeoutMs`.
 *
 * The writer thread seals the chain every `sealEvery` records and at least every
 * `sealIntervalMs` while records arrive, and once more on close.
 *
 * Content is not stored by default: a record holds names, the classification, the detectors
 * that fired, the decisions, and keyed hashes of the parameters. A flow rule with
 * `logging.include_content` keeps the content of the messages it decided, every finding
 * redacted.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { AuditConfig } from '../config/config.ts';
import type { Logger } from '../util/logger.ts';
import { bodyOf, leavesOf, withTexts, type Leaf } from '../flow/content.ts';
import { scanText } from '../flow/scan.ts';
import { keyedHash, TokenVault, transformText } from '../flow/transform.ts';
import type { JsonRpcMessage } from '../protocol/jsonrpc.ts';
import { canonicalJson } from '../util/canonical-json.ts';
import type { SecurityEvent } from '../events/bus.ts';
import type { DecisionRecord, DecisionRecorder, RecordedContent } from './decision-log.ts';
import { createOnce, type StoredRecord } from './store.ts';
import { StoreWriter } from './writer.ts';
import { jsonPoster } from '../util/json-poster.ts';

export interface AuditRecorder extends DecisionRecorder {
  /** The writer thread that owns the store. */
  readonly writer: StoreWriter;
  /** A security event, as an `internal` flow record in the same chain (the events' audit sink). */
  recordEvent(event: SecurityEvent): void;
  /** Records dropped because the queue was full or the store failed. */
  readonly dropped: number;
  /** Records queued and not yet written. */
  readonly pending: number;
  /** How long the oldest queued record has waited, in milliseconds (0 when none waits). */
  readonly lagMs: number;
  /**
   * A forensic snapshot of a session (an alert fired), taken by the writer thread once the
   * session's records queued so far are written: `snapshots/` in the data directory.
   */
  snapshot(session: string, reason: string): void;
}

export interface ContentOptions {
  /** Keys `content_hashes`: stable per data directory, so equal parameters stay joinable. */
  readonly hashKey: Buffer;
  /** Decision rules (`flow.<id>`) whose messages keep their content, redacted. */
  readonly includeContent: ReadonlySet<string>;
}

/**
 * What a record keeps of a message's content: keyed hashes of the parameters (each argument of
 * a tool call separately, so two calls with the same path are joinable without the path), and,
 * when a flow rule asks for it, the content with every detector finding redacted.
 */
export function contentOf(entry: DecisionRecord, content: RecordedContent, options: ContentOptions): Record<string, unknown> {
  const body = bodyOf(content.message);
  if (!body) return {};
  const out: Record<string, unknown> = {};
  // Parameters (of requests and notifications) are hashed; results are not: a 10 MB result
  // would cost its serialisation for a hash nobody joins on.
  if (body.key === 'params') {
    const hash = (value: unknown) => keyedHash(options.hashKey, canonicalJson(value));
    const value = withoutMeta(body.value);
    const args = entry.method === 'tools/call' ? (value as { arguments?: unknown }).arguments : undefined;
    out.content_hashes =
      args !== null && typeof args === 'object' && !Array.isArray(args) ? { arguments: Object.fromEntries(Object.entries(args).map(([k, v]) => [k, hash(v)])) } : { params: hash(value) };
  }
  if (entry.decisions.some((d) => options.includeContent.has(d.rule))) out.content = redacted(content.message);
  return out;
}

/** The message's body with every finding of every detector masked, whatever the flow rules did. */
function redacted(message: JsonRpcMessage): unknown {
  const edits = new Map<Leaf, string>();
  for (const leaf of leavesOf(message)) {
    const findings = scanText(leaf.text);
    if (findings.length === 0) continue;
    const spans = findings.map((f) => ({ start: f.start, end: f.end, detector: f.detector, level: f.level, transformation: 'redact' as const }));
    edits.set(leaf, transformText(leaf.text, spans, { hashKey: Buffer.alloc(32), vault: new TokenVault(1), origin: undefined }));
  }
  return bodyOf(edits.size > 0 ? withTexts(message, edits) : message)?.value;
}

function withoutMeta(value: unknown): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value) || !('_meta' in value)) return value;
  const { _meta: _dropped, ...rest } = value as Record<string, unknown>;
  return rest;
}

/** The data directory's key for `content_hashes`: made on first use, readable by the owner only. */
export function contentHashKey(dir: string): Buffer {
  const file = join(dir, 'hash-key');
  createOnce(file, () => randomBytes(32));
  return readFileSync(file);
}

/** Which gateway process wrote a record: several may share a store. */
const INSTANCE = `${process.pid}@${hostname()}`;

export function flowRecord(entry: DecisionRecord, now = new Date(), content?: RecordedContent, options?: ContentOptions): StoredRecord {
  const fromClient = entry.direction === 'client-to-server';
  const flow = entry.decisions.find((d) => d.layer === 'information-flow' && d.evidence?.classification !== undefined);
  const evidence = (flow?.evidence ?? {}) as { classification?: string; detectors?: Record<string, number>; transformations?: string[] };
  const last = entry.decisions.at(-1);
  const client = { type: 'client', id: entry.session };
  const server = { type: 'server', id: entry.server ?? 'gateway' };
  return {
    id: randomUUID(),
    timestamp: now.toISOString(),
    flow_type: entry.kind === 'request' ? 'request' : entry.kind === 'notification' ? 'notification' : 'response',
    source: fromClient ? client : server,
    destination: fromClient ? server : client,
    operation: entry.method,
    ...(entry.target === undefined ? {} : { resource: entry.target }),
    ...(entry.server === undefined ? {} : { server: entry.server }),
    classification: evidence.classification ?? 'PUBLIC',
    decision: entry.verdict,
    ...(last ? { reason: last.reason, rule: last.rule } : {}),
    context: { session_id: entry.session, ...(entry.id === undefined || entry.id === null ? {} : { correlation_id: String(entry.id) }), instance: INSTANCE },
    metadata: {
      decisions: entry.decisions.map((d) => ({ effect: d.effect, rule: d.rule, layer: d.layer, stage: d.stage })),
      ...(evidence.detectors ? { detectors: evidence.detectors } : {}),
      ...(evidence.transformations?.length ? { transformations: evidence.transformations } : {}),
      ...(content && options ? contentOf(entry, content, options) : {}),
    },
  };
}

interface Ack {
  resolve(): void;
  reject(error: Error): void;
}

/** In drop-with-alert mode, how long records gather before they go to the writer as one batch. */
const GATHER_MS = 5;

type Queued = { entry: DecisionRecord; content: RecordedContent | undefined; time: Date } | { event: SecurityEvent };

/**
 * Starts the recorder and its writer thread; rejects when the store cannot be opened (the
 * gateway then does not start: it would forward what it cannot record).
 */
export async function createAuditRecorder(config: AuditConfig, logger: Logger, options: { includeContent?: ReadonlySet<string> } = {}): Promise<AuditRecorder> {
  const block = config.onOverload === 'block';
  const contentOptions: ContentOptions = { hashKey: contentHashKey(config.dir), includeContent: options.includeContent ?? new Set() };
  // Second places for the seals beyond the file (which the writer thread appends to).
  const sealHooks = config.sealWebhooks.map((hook) => jsonPoster(hook, logger, 'audit: a seal webhook did not take a seal'));
  const writer = await StoreWriter.start(
    {
      dir: config.dir,
      exportSeals: config.exportSeals,
      sealEvery: config.sealEvery,
      sealIntervalMs: config.sealIntervalMs,
      maxAgeMs: config.maxAgeMs,
      maxBytes: config.maxBytes,
      archive: config.archive,
      // Block mode answers only for what is on the disk; otherwise a batch survives the gateway
      // being killed and reaches the disk at the next checkpoint.
      fsync: block,
    },
    logger,
    sealHooks.length === 0 ? undefined : (seal) => sealHooks.forEach((hook) => hook.post(JSON.stringify(seal))),
  );
  /** Entries waiting for the end of the turn; they become records at flush, off the request path. */
  let queue: Queued[] = [];
  /** Snapshots asked for while records were queued: they go right after those records. */
  let snapshots: { session: string; reason: string }[] = [];
  /** When the oldest entry in the queue was queued. */
  let queuedSince = 0;
  /** In block mode, one per queued record: settled when its batch is on disk (or failed). */
  let acks: Ack[] = [];
  /** The batch with the writer thread: its size and since when its records wait. */
  let inFlight: { size: number; since: number } | undefined;
  /** In block mode, calls waiting for room in the queue. */
  const waiting: { entry: DecisionRecord; content: RecordedContent | undefined; ack: Ack; timer: NodeJS.Timeout }[] = [];
  const writes = new Set<Promise<void>>();
  let scheduled: NodeJS.Immediate | NodeJS.Timeout | undefined;
  // Block mode: calls wait for their records, so a batch goes at the end of the turn. Otherwise
  // nobody waits, and records gather for a few milliseconds: fewer, larger batches cost both
  // threads less (each batch is a message each way, a wake-up and a transaction).
  const schedule = () => {
    if (scheduled) return;
    if (block) scheduled = setImmediate(flush);
    else (scheduled = setTimeout(flush, GATHER_MS)).unref();
  };
  let dropped = 0;
  let reportedDrops = 0;
  let closed = false;

  /** Records queued or with the writer: the queue's bound counts both. */
  const pending = () => queue.length + (inFlight?.size ?? 0);

  const failed = (settled: readonly Ack[], count: number, message: string) => {
    if (block) {
      // Nothing forwarded unrecorded: every call in the batch is refused.
      for (const ack of settled) ack.reject(new Error(`the audit store failed: ${message}`));
      logger.error('audit: writing records failed; the calls they record were refused', { records: count, error: message });
    } else {
      dropped += count;
      logger.error('audit: writing records failed; they are lost', { records: count, error: message });
    }
  };

  const admit = () => {
    // Room again: admit the calls that waited for it.
    while (waiting.length > 0 && pending() < config.queue) {
      const next = waiting.shift()!;
      clearTimeout(next.timer);
      enqueue(next.entry, next.content, next.ack);
    }
    if (dropped > reportedDrops) {
      logger.warn('audit: records were dropped (queue full or store failing)', { dropped: dropped - reportedDrops, total: dropped });
      reportedDrops = dropped;
    }
  };

  /** Asks the writer for a snapshot; it comes after every batch posted before it. */
  const askSnapshot = (request: { session: string; reason: string }) => void writer.snapshot(request.session, request.reason).catch(() => undefined);

  const flush = () => {
    if (scheduled) {
      if (block) clearImmediate(scheduled as NodeJS.Immediate);
      else clearTimeout(scheduled as NodeJS.Timeout);
      scheduled = undefined;
    }
    // One batch with the writer at a time (group commit): what arrives meanwhile waits and goes
    // in the next batch, so under load batches grow and each fsync covers more records.
    if (queue.length === 0 || inFlight) return;
    const batchOf = queue;
    const settled = acks;
    const since = queuedSince;
    const after = snapshots;
    queue = [];
    acks = [];
    snapshots = [];
    let records: StoredRecord[] | undefined;
    try {
      records = batchOf.map((p) => ('event' in p ? eventRecord(p.event) : flowRecord(p.entry, p.time, p.content, contentOptions)));
    } catch (error) {
      failed(settled, batchOf.length, (error as Error).message);
    }
    if (records) {
      const batch = (inFlight = { size: records.length, since });
      const write = writer.write(records).then(
        () => {
          for (const ack of settled) ack.resolve();
        },
        (error: Error) => failed(settled, batch.size, error.message),
      );
      writes.add(write);
      void write.finally(() => {
        writes.delete(write);
        inFlight = undefined;
        admit();
        // What gathered meanwhile goes next (block mode: at once; otherwise once it has gathered).
        if (queue.length > 0) schedule();
      });
    }
    // After the batch: the snapshots include its records.
    after.forEach(askSnapshot);
    if (!records) admit();
  };

  function enqueue(entry: DecisionRecord, content: RecordedContent | undefined, ack?: Ack): void {
    if (queue.length === 0) queuedSince = Date.now();
    queue.push({ entry, content, time: new Date() });
    if (ack) acks.push(ack);
    schedule();
  }

  return {
    recordEvent(event) {
      if (closed) return;
      if (pending() >= config.queue) {
        dropped++;
        return;
      }
      if (queue.length === 0) queuedSince = Date.now();
      queue.push({ event });
      schedule();
    },
    get dropped() {
      return dropped;
    },
    get pending() {
      return pending();
    },
    get lagMs() {
      const oldest = inFlight?.since ?? (queue.length > 0 ? queuedSince : undefined);
      return oldest === undefined ? 0 : Date.now() - oldest;
    },
    snapshot(session, reason) {
      if (closed) return;
      if (queue.length > 0) snapshots.push({ session, reason });
      else askSnapshot({ session, reason });
    },
    ...(block ? { recordsEverything: true } : {}),
    record(entry, content) {
      if (!block) {
        if (closed) return;
        if (pending() >= config.queue) {
          dropped++;
          return;
        }
        enqueue(entry, content);
        return;
      }
      if (closed) return Promise.reject(new Error('the audit store is closed'));
      return new Promise<void>((resolve, reject) => {
        const ack = { resolve, reject };
        if (pending() < config.queue) return enqueue(entry, content, ack);
        // Full: the call waits for room, then is refused.
        const timer = setTimeout(() => {
          const at = waiting.findIndex((w) => w.ack === ack);
          if (at !== -1) waiting.splice(at, 1);
          reject(new Error(`the audit queue stayed full for ${config.blockTimeoutMs} ms`));
        }, config.blockTimeoutMs);
        waiting.push({ entry, content, ack, timer });
      });
    },
    async close() {
      if (closed) return;
      closed = true;
      // Until the queue is empty and nothing is out.
      while (queue.length > 0 || writes.size > 0) {
        flush();
        await Promise.all(writes);
      }
      for (const w of waiting.splice(0)) {
        clearTimeout(w.timer);
        w.ack.reject(new Error('the audit store is closing'));
      }
      // The writer thread seals the chain and closes the store.
      await writer.close();
      await Promise.all(sealHooks.map((hook) => hook.close()));
    },
    writer,
  };
}

/** A security event as a flow record: `flow_type: internal`, the event type as the operation. */
export function eventRecord(event: SecurityEvent): StoredRecord {
  return {
    id: event.id,
    timestamp: event.time,
    flow_type: 'internal',
    source: { type: 'gateway', id: 'events' },
    destination: { type: 'audit', id: 'store' },
    operation: event.type,
    ...(event.tool === undefined ? {} : { resource: event.tool }),
    ...(event.server === undefined ? {} : { server: event.server }),
    decision: 'event',
    severity: event.severity,
    reason: event.message,
    ...(event.rule === undefined ? {} : { rule: event.rule }),
    context: { ...(event.session === undefined ? {} : { session_id: event.session }), instance: INSTANCE },
    metadata: { ...(event.detail === undefined ? {} : { detail: event.detail }) },
  };
}

/** Both recorders: the decision log and the audit store get every record; the store's answer counts. */
export function bothRecorders(log: DecisionRecorder, store: DecisionRecorder): DecisionRecorder {
  return {
    ...(store.recordsEverything ? { recordsEverything: true } : {}),
    record(entry, content) {
      void log.record(entry);
      return store.record(entry, content);
    },
    close: async () => {
      await Promise.all([log.close(), store.close()]);
    },
  };
}
