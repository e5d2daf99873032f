/**
 * The main thread's handle on the audit store's writer thread (`store-worker.ts`): `write`
 * posts a batch of records and resolves with the last sequence once the batch is on disk, or
 * rejects when it could not be written. A writer thread that dies (out of memory, a crash in
 * SQLite) fails the batches it held; the next batch starts a new one, at most once a second,
 * and it continues the chain from the last record on disk.
 */
import { Worker } from 'node:worker_threads';
import type { Logger } from '../util/logger.ts';
import type { FromWriter, ToWriter, WriterOptions } from './store-worker.ts';
import type { Seal, StoredRecord } from './store.ts';

// Source (.ts, run by Node's type stripping) or build (.js): the worker is beside this file.
const WORKER = new URL(`./store-worker${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url);
const RESTART_INTERVAL_MS = 1000;

interface Pending {
  resolve(seq: number): void;
  reject(error: Error): void;
}

export class StoreWriter {
  readonly #options: WriterOptions;
  readonly #logger: Logger;
  readonly #onSeal: ((seal: Seal) => void) | undefined;
  #worker: Worker | undefined;
  #starting: Promise<Worker> | undefined;
  #lastStart = 0;
  #nextId = 1;
  readonly #pending = new Map<number, Pending>();
  #closed = false;

  private constructor(options: WriterOptions, logger: Logger, onSeal: ((seal: Seal) => void) | undefined) {
    this.#options = options;
    this.#logger = logger;
    this.#onSeal = onSeal;
  }

  /**
   * Starts the writer thread; rejects (with the store's own error) when the store cannot be
   * opened. `onSeal` hears of every seal the thread makes.
   */
  static async start(options: WriterOptions, logger: Logger, onSeal?: (seal: Seal) => void): Promise<StoreWriter> {
    const writer = new StoreWriter(options, logger, onSeal);
    await writer.#spawn();
    return writer;
  }

  #spawn(): Promise<Worker> {
    this.#lastStart = Date.now();
    const starting = new Promise<Worker>((resolve, reject) => {
      // Referenced until it is ready (nothing else may keep the process alive yet), then only
      // while it holds a batch: an idle writer does not keep a gateway from exiting.
      const worker = new Worker(WORKER, { workerData: this.#options });
      let ready = false;
      worker.on('message', (message: FromWriter) => {
        if (message.op === 'ready') {
          ready = true;
          this.#worker = worker;
          if (this.#pending.size === 0) worker.unref();
          resolve(worker);
        } else if (message.op === 'fatal') reject(new Error(message.error));
        else if (message.op === 'written') this.#settle(message.id)?.resolve(message.seq);
        else if (message.op === 'failed') this.#settle(message.id)?.reject(new Error(message.error));
        else if (message.op === 'sealed') this.#onSeal?.(message.seal);
        else if (message.op === 'log') this.#logger[message.level](message.message, message.fields);
      });
      worker.on('error', (error) => {
        if (!ready) reject(error);
        else this.#logger.error('audit: the store\'s writer thread failed', { error: error.message });
      });
      worker.on('exit', (code) => {
        if (this.#worker === worker) this.#worker = undefined;
        if (!ready) reject(new Error(`the audit writer thread exited (code ${code})`));
        // Whatever it held is not known to be on disk.
        for (const id of [...this.#pending.keys()]) this.#settle(id)?.reject(new Error(`the audit writer thread stopped (code ${code})`));
      });
    });
    this.#starting = starting;
    starting.then(
      () => (this.#starting = undefined),
      () => (this.#starting = undefined),
    );
    return starting;
  }

  #settle(id: number): Pending | undefined {
    const pending = this.#pending.get(id);
    this.#pending.delete(id);
    if (this.#pending.size === 0) this.#worker?.unref();
    return pending;
  }

  async #current(): Promise<Worker> {
    if (this.#worker) return this.#worker;
    if (this.#starting) return this.#starting;
    if (Date.now() - this.#lastStart < RESTART_INTERVAL_MS) throw new Error('the audit writer thread stopped and was restarted less than a second ago');
    this.#logger.warn('audit: starting a new writer thread');
    return this.#spawn();
  }

  /** Resolves with the sequence of the batch's last record once the batch is on disk. */
  async write(records: readonly StoredRecord[]): Promise<number> {
    if (this.#closed) throw new Error('the audit store is closed');
    const worker = await this.#current();
    // It may have exited meanwhile: a message to it would never be answered.
    if (this.#worker !== worker) throw new Error('the audit writer thread stopped');
    const id = this.#nextId++;
    return new Promise<number>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      worker.ref();
      worker.postMessage({ op: 'append', id, records } satisfies ToWriter);
    });
  }

  /** Asks for a forensic snapshot of a session, after the batches already posted. */
  async snapshot(session: string, reason: string): Promise<void> {
    if (this.#closed) return;
    const worker = await this.#current();
    worker.postMessage({ op: 'snapshot', session, reason } satisfies ToWriter);
  }

  /** Seals the chain and closes the store; batches already posted are written first. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const worker = this.#worker ?? (await this.#starting?.catch(() => undefined));
    if (!worker) return;
    worker.ref();
    await new Promise<void>((resolve) => {
      worker.on('message', (message: FromWriter) => {
        if (message.op === 'closed') resolve();
      });
      worker.once('exit', () => resolve());
      worker.postMessage({ op: 'close' } satisfies ToWriter);
    });
  }

  /** Ends the writer thread at once (for tests of a dying writer). */
  async terminate(): Promise<void> {
    await this.#worker?.terminate();
  }
}
