/**
 * The audit recorder: turns each decision the session reports into a FlowRecord (seed 001
 * §7.1.2) and hands it to the tamper-evident store in batches, off the request path: `record`
 * only builds the record and queues it; the queue is written in one transaction at the end of
 * the event-loop turn (durable when the transaction returns). The queue is bounded: when the
 * store cannot keep up or fails, new records are dropped and every drop is counted and
 * reported (`drop-with-alert`). The chain is sealed every `sealEvery` records and at least every
 * `sealIntervalMs` while records arrive, and once more on close.
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

export function createAuditRecorder(config: AuditConfig, logger: Logger): AuditRecorder {
  const store = new AuditStore({ dir: config.dir, ...(config.exportSeals ? { exportSeals: config.exportSeals } : {}) });
  let queue: StoredRecord[] = [];
  let scheduled: NodeJS.Immediate | undefined;
  let dropped = 0;
  let reportedDrops = 0;
  let sinceSeal = 0;
  let closed = false;

  const seal = () => {
    if (sinceSeal === 0) return;
    try {
      store.seal();
      sinceSeal = 0;
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
    queue = [];
    try {
      store.append(batch);
      sinceSeal += batch.length;
      if (sinceSeal >= config.sealEvery) seal();
    } catch (error) {
      dropped += batch.length;
      logger.error('audit: writing records failed; they are lost', { records: batch.length, error: (error as Error).message });
    }
    if (dropped > reportedDrops) {
      logger.warn('audit: records were dropped (queue full or store failing)', { dropped: dropped - reportedDrops, total: dropped });
      reportedDrops = dropped;
    }
  };

  return {
    store,
    get dropped() {
      return dropped;
    },
    get pending() {
      return queue.length;
    },
    record(entry) {
      if (closed) return;
      if (queue.length >= config.queue) {
        dropped++;
        return;
      }
      queue.push(flowRecord(entry));
      scheduled ??= setImmediate(flush);
    },
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(timer);
      if (scheduled) clearImmediate(scheduled);
      flush();
      seal();
      store.close();
    },
  };
}

/** Both recorders: the decision log and the audit store get every record. */
export function bothRecorders(a: DecisionRecorder, b: DecisionRecorder): DecisionRecorder {
  return {
    record(entry) {
      a.record(entry);
      b.record(entry);
    },
    close: async () => {
      await Promise.all([a.close(), b.close()]);
    },
  };
}
