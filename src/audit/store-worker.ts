/**
 * The audit store's writer thread. The gateway's main thread relays messages; hashing the
 * chain, SQLite and the fsync of each batch (tens of microseconds per record, and a disk
 * flush per batch that would stall every session) happen here instead. The main thread posts
 * batches of built records and learns when each is on disk; this thread also seals the chain
 * (every `sealEvery` records and every `sealIntervalMs` while records arrive, and on close) and
 * runs retention with each seal.
 *
 *   main → writer: { op: 'append', id, records } | { op: 'snapshot', session, reason } | { op: 'close' }
 *   writer → main: { op: 'ready' } | { op: 'fatal', error }            (once, at start)
 *                  { op: 'written', id, seq } | { op: 'failed', id, error }
 *                  { op: 'sealed', seal } | { op: 'log', level, message, fields } | { op: 'closed' }
 */
import { join } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import { AuditStore, type Seal, type StoredRecord } from './store.ts';

export interface WriterOptions {
  readonly dir: string;
  readonly exportSeals: string | undefined;
  readonly sealEvery: number;
  readonly sealIntervalMs: number;
  readonly maxAgeMs: number | undefined;
  readonly maxBytes: number | undefined;
  readonly archive: string | undefined;
  /** Flush each batch to the disk before answering (block mode). */
  readonly fsync: boolean;
}

export type ToWriter =
  | { readonly op: 'append'; readonly id: number; readonly records: readonly StoredRecord[] }
  | { readonly op: 'snapshot'; readonly session: string; readonly reason: string }
  | { readonly op: 'close' };

export type FromWriter =
  | { readonly op: 'ready' }
  | { readonly op: 'fatal'; readonly error: string }
  | { readonly op: 'written'; readonly id: number; readonly seq: number }
  | { readonly op: 'failed'; readonly id: number; readonly error: string }
  | { readonly op: 'sealed'; readonly seal: Seal }
  | { readonly op: 'log'; readonly level: 'info' | 'error'; readonly message: string; readonly fields: Record<string, unknown> }
  | { readonly op: 'closed' };

const port = parentPort!;
const options = workerData as WriterOptions;
const post = (message: FromWriter) => port.postMessage(message);

let store: AuditStore;
try {
  store = new AuditStore({ dir: options.dir, fsync: options.fsync, ...(options.exportSeals ? { exportSeals: options.exportSeals } : {}) });
  post({ op: 'ready' });
} catch (error) {
  post({ op: 'fatal', error: (error as Error).message });
  port.close();
  throw error;
}

let sinceSeal = 0;
const retention = options.maxAgeMs !== undefined || options.maxBytes !== undefined;

function seal(): void {
  if (sinceSeal === 0) return;
  try {
    post({ op: 'sealed', seal: store.seal() });
    sinceSeal = 0;
  } catch (error) {
    post({ op: 'log', level: 'error', message: 'audit: sealing the chain failed', fields: { error: (error as Error).message } });
    return;
  }
  // Retention runs with the seals: the newest records always stay, sealed.
  if (!retention) return;
  try {
    const upto = store.retain({
      ...(options.maxAgeMs === undefined ? {} : { maxAgeMs: options.maxAgeMs }),
      ...(options.maxBytes === undefined ? {} : { maxBytes: options.maxBytes }),
      ...(options.archive === undefined ? {} : { archive: options.archive }),
    });
    if (upto > 0) post({ op: 'log', level: 'info', message: options.archive ? 'audit: retention archived and removed old records' : 'audit: retention removed old records', fields: { upTo: upto, ...(options.archive ? { archive: options.archive } : {}) } });
  } catch (error) {
    // Nothing was removed (the transaction rolled back): the records stay until it works.
    post({ op: 'log', level: 'error', message: 'audit: retention failed; nothing was removed', fields: { error: (error as Error).message } });
  }
}

/** A forensic snapshot of a session, taken because an alert fired: `snapshots/` in the data directory. */
function snapshot(session: string, reason: string): void {
  const now = new Date();
  const file = join(options.dir, 'snapshots', `${now.toISOString().replace(/[:.]/g, '-')}-${session.replace(/[^\w-]/g, '_').slice(0, 64)}.json`);
  try {
    const signed = store.snapshot({ session, trigger: 'incident', reason, file }, now);
    post({ op: 'log', level: 'info', message: 'audit: forensic snapshot taken', fields: { session, records: signed.snapshot.records.length, file } });
  } catch (error) {
    post({ op: 'log', level: 'error', message: 'audit: a forensic snapshot failed', fields: { session, error: (error as Error).message } });
  }
}

const timer = setInterval(seal, options.sealIntervalMs);

port.on('message', (message: ToWriter) => {
  if (message.op === 'close') {
    clearInterval(timer);
    seal();
    store.close();
    post({ op: 'closed' });
    port.close();
    return;
  }
  if (message.op === 'snapshot') return snapshot(message.session, message.reason);
  try {
    const seq = store.append(message.records);
    post({ op: 'written', id: message.id, seq });
    sinceSeal += message.records.length;
    if (sinceSeal >= options.sealEvery) seal();
  } catch (error) {
    post({ op: 'failed', id: message.id, error: (error as Error).message });
  }
});
