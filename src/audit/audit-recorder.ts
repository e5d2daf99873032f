/**
 * The audit recorder: turns each decision the session reports into a FlowRecord (seed 001
 * §7.1.2) and hands it to the tamper-evident store in batches, off the request path: `record`
 * only builds the record and queues it; the queue is written in one transaction at the end of
 * the event-loop turn (durable when the transaction returns). The queue is bounded. What happens
 * when the store cannot keep up or fails is configured:
 *
 * - `drop-with-alert`: new records are dropped, every drop counted and reported;
 * - `block`: every message is recorded, and `record` returns a promise that the session waits
 *   for before the message moves on: resolved once its batch is on disk, rejected (the message
 *   is refused) when the store fails or the queue stays full for `blockTimeoutMs`.
 *
 * The chain is sealed every `sealEvery` records and at least every `sealIntervalMs` while
 * records arrive, and once more on close.
 *
 * Content is never stored: a record holds names, sizes, the classification, the detectors that
 * fired and the decisions, as the flow layer reported them.
 */
import { randomUUID } from 'node:crypto';
import type { AuditConfig } from '../config/config.ts';
import type { Logger } from '../util/logger.ts';
import type { DecisionRecord, DecisionRecorder } from './decision-log.ts';
import { AuditStore, type StoredRecord } from './store.ts';

export interface AuditRecorder extends DecisionRecorder {
  readonly store: AuditStore;
  /** Records dropped because the queue was full or the store failed. */
  readonly dropped: number;
  /** Records queued and not yet written. */
  readonly pending: number;
  /** How long the oldest queued record has waited, in milliseconds (0 when none waits). */
  readonly lagMs: number;
}

export function flowRecord(entry: DecisionRecord, now = new Date()): StoredRecord {
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
    context: { session_id: entry.session, ...(entry.id === undefined || entry.id === null ? {} : { correlation_id: String(entry.id) }) },
    metadata: {
      decisions: entry.decisions.map((d) => ({ effect: d.effect, rule: d.rule, layer: d.layer, stage: d.stage })),
      ...(evidence.detectors ? { detectors: evidence.detectors } : {}),
      ...(evidence.transformations?.length ? { transformations: evidence.transformations } : {}),
    },
  };
}

interface Ack {
  resolve(): void;
  reject(error: Error): void;
}

export function createAuditRecorder(config: AuditConfig, logger: Logger): AuditRecorder {
  const store = new AuditStore({ dir: config.dir, ...(config.exportSeals ? { exportSeals: config.exportSeals } : {}) });
  const block = config.onOverload === 'block';
  let queue: StoredRecord[] = [];
  /** When the oldest record in the queue was queued. */
  let queuedSince = 0;
  /** In block mode, one per queued record: settled when its batch is on disk (or failed). */
  let acks: Ack[] = [];
  /** In block mode, calls waiting for room in the queue. */
  const waiting: { entry: DecisionRecord; ack: Ack; timer: NodeJS.Timeout }[] = [];
  let scheduled: NodeJS.Immediate | undefined;
  let dropped = 0;
  let reportedDrops = 0;
  let sinceSeal = 0;
  let closed = false;

  const retention = config.maxAgeMs !== undefined || config.maxBytes !== undefined;
  const seal = () => {
    if (sinceSeal === 0) return;
    try {
      store.seal();
      sinceSeal = 0;
      // Retention runs with the seals: the newest records always stay, sealed.
      if (retention) {
        const upto = store.retain({ ...(config.maxAgeMs === undefined ? {} : { maxAgeMs: config.maxAgeMs }), ...(config.maxBytes === undefined ? {} : { maxBytes: config.maxBytes }) });
        if (upto > 0) logger.info('audit: retention removed old records', { upTo: upto });
      }
    } catch (error) {
      logger.error('audit: sealing the chain failed', { error: (error as Error).message });
    }
  };
  const timer = setInterval(seal, config.sealIntervalMs);
  timer.unref();

  const flush = () => {
    scheduled = undefined;
    if (queue.length === 0) return;
    const batch = queue;
    const settled = acks;
    queue = [];
    acks = [];
    try {
      store.append(batch);
      for (const ack of settled) ack.resolve();
      sinceSeal += batch.length;
      if (sinceSeal >= config.sealEvery) seal();
    } catch (error) {
      const message = (error as Error).message;
      if (block) {
        // Nothing forwarded unrecorded: every call in the batch is refused.
        for (const ack of settled) ack.reject(new Error(`the audit store failed: ${message}`));
        logger.error('audit: writing records failed; the calls they record were refused', { records: batch.length, error: message });
      } else {
        dropped += batch.length;
        logger.error('audit: writing records failed; they are lost', { records: batch.length, error: message });
      }
    }
    // Room again: admit the calls that waited for it.
    while (waiting.length > 0 && queue.length < config.queue) {
      const next = waiting.shift()!;
      clearTimeout(next.timer);
      enqueue(next.entry, next.ack);
    }
    if (dropped > reportedDrops) {
      logger.warn('audit: records were dropped (queue full or store failing)', { dropped: dropped - reportedDrops, total: dropped });
      reportedDrops = dropped;
    }
  };

  function enqueue(entry: DecisionRecord, ack?: Ack): void {
    if (queue.length === 0) queuedSince = Date.now();
    queue.push(flowRecord(entry));
    if (ack) acks.push(ack);
    scheduled ??= setImmediate(flush);
  }

  return {
    store,
    get dropped() {
      return dropped;
    },
    get pending() {
      return queue.length;
    },
    get lagMs() {
      return queue.length === 0 ? 0 : Date.now() - queuedSince;
    },
    ...(block ? { recordsEverything: true } : {}),
    record(entry) {
      if (!block) {
        if (closed) return;
        if (queue.length >= config.queue) {
          dropped++;
          return;
        }
        enqueue(entry);
        return;
      }
      if (closed) return Promise.reject(new Error('the audit store is closed'));
      return new Promise<void>((resolve, reject) => {
        const ack = { resolve, reject };
        if (queue.length < config.queue) return enqueue(entry, ack);
        // Full: the call waits for room, then is refused.
        const timer = setTimeout(() => {
          const at = waiting.findIndex((w) => w.ack === ack);
          if (at !== -1) waiting.splice(at, 1);
          reject(new Error(`the audit queue stayed full for ${config.blockTimeoutMs} ms`));
        }, config.blockTimeoutMs);
        waiting.push({ entry, ack, timer });
      });
    },
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(timer);
      if (scheduled) clearImmediate(scheduled);
      flush();
      for (const w of waiting.splice(0)) {
        clearTimeout(w.timer);
        w.ack.reject(new Error('the audit store is closing'));
      }
      seal();
      store.close();
    },
  };
}

/** Both recorders: the decision log and the audit store get every record; the store's answer counts. */
export function bothRecorders(log: DecisionRecorder, store: DecisionRecorder): DecisionRecorder {
  return {
    ...(store.recordsEverything ? { recordsEverything: true } : {}),
    record(entry) {
      void log.record(entry);
      return store.record(entry);
    },
    close: async () => {
      await Promise.all([log.close(), store.close()]);
    },
  };
}
