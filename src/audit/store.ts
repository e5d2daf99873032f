/**
 * The tamper-evident audit store (seed 001 §7.3): flow records in a local SQLite database
 * (Node's built-in `node:sqlite`, no native build), each carrying the SHA-256 of the one
 * before it, and seals: the chain's head, the record count and the time, signed with an
 * Ed25519 key kept beside the database. Editing, deleting, inserting or reordering records
 * breaks the chain at that record; rewriting the whole chain breaks the seals' signatures;
 * and seals exported to a second place (a file) catch a rewrite that also re-signs.
 *
 *   record hash = SHA-256( prev-hash "\n" seq "\n" canonical-JSON(record) )
 *   seal        = { seq, count, head, time, alg: "Ed25519", key } signed over its canonical JSON
 *
 * The store is synchronous (node:sqlite is); the recorder calls it off the request path, in
 * batches. One transaction per batch. With `fsync` (`synchronous=FULL`) the batch is on disk
 * when `append` returns, power loss included; without it (`synchronous=NORMAL`) the batch
 * survives the gateway being killed, and reaches the disk at the next WAL checkpoint (a
 * commit then costs about 15 µs of CPU instead of 70).
 *
 * Several gateways may write to one store (two desktop clients starting the same config, a
 * restart overlapping the old process): each batch reads the chain's head inside its own
 * write transaction (`BEGIN IMMEDIATE` holds SQLite's write lock), so batches from different
 * processes interleave into one chain and never fork it. Seals and retention do the same.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, randomUUID, sign, verify, type KeyObject } from 'node:crypto';
import { appendFileSync, closeSync, existsSync, fsyncSync, linkSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { canonicalJson } from '../util/canonical-json.ts';

export const GENESIS = '0'.repeat(64);
export const SEAL_ALGORITHM = 'Ed25519';

/** What is stored per record: the FlowRecord (seed 001 §7.1.2) as plain JSON. */
export type StoredRecord = Readonly<Record<string, unknown>> & { readonly timestamp: string };

export interface ChainRow {
  readonly seq: number;
  readonly prev: string;
  readonly hash: string;
  readonly body: string;
}

export interface Seal {
  readonly seq: number;
  readonly count: number;
  readonly head: string;
  readonly time: string;
  readonly alg: string;
  /** The signing key's id: the SHA-256 of its public key (SPKI DER), hex, first 16 characters. */
  readonly key: string;
  readonly signature: string;
}

/**
 * A signed statement that retention removed records 1 to `upto`: the chain now starts after
 * `upto`, from `head` (the hash of record `upto`). Without the key no one can write one, so a
 * deletion cannot pass for retention.
 */
export interface Prune {
  readonly upto: number;
  readonly head: string;
  readonly time: string;
  readonly reason: string;
  readonly alg: string;
  readonly key: string;
  readonly signature: string;
}

/**
 * A forensic snapshot (seed 001 §7.3.2): one session's records as they stand in the chain,
 * with their chain fields and the chain's head at that moment, signed with the store's key.
 * It outlives retention, and it can be handed over alone: `verify --snapshot` checks the
 * signature and that every record still hashes to its place in the chain.
 */
export interface Snapshot {
  readonly id: string;
  readonly timestamp: string;
  /** `incident`: taken by the gateway when an alert fired; `request`: by `guardrail audit snapshot`. */
  readonly trigger: 'incident' | 'request';
  readonly scope: 'session';
  readonly session: string;
  readonly reason: string;
  /** The chain's head when the snapshot was taken. */
  readonly chain_position: { readonly seq: number; readonly head: string };
  readonly records: readonly ReturnType<typeof exportLine>[];
  readonly alg: string;
  readonly key: string;
}

export interface SignedSnapshot {
  readonly snapshot: Snapshot;
  readonly signature: string;
}

export function verifySnapshotSignature(signed: SignedSnapshot, publicKey: KeyObject): boolean {
  return signedBy(signed.snapshot.alg, canonicalJson(signed.snapshot), signed.signature, publicKey);
}

export function pruneBody(prune: Omit<Prune, 'signature'>): string {
  return canonicalJson({ upto: prune.upto, head: prune.head, time: prune.time, reason: prune.reason, alg: prune.alg, key: prune.key });
}

export function verifyPrune(prune: Prune, publicKey: KeyObject): boolean {
  return signedBy(prune.alg, pruneBody(prune), prune.signature, publicKey);
}

/** Whether `body` carries a valid Ed25519 `signature` by `publicKey` (false for another algorithm). */
function signedBy(alg: string, body: string, signature: string, publicKey: KeyObject): boolean {
  if (alg !== SEAL_ALGORITHM) return false;
  try {
    return verify(null, Buffer.from(body, 'utf8'), publicKey, Buffer.from(signature, 'base64'));
  } catch {
    return false;
  }
}

export function linkHash(prev: string, seq: number, body: string): string {
  return createHash('sha256').update(`${prev}\n${seq}\n${body}`, 'utf8').digest('hex');
}

export function sealBody(seal: Omit<Seal, 'signature'>): string {
  return canonicalJson({ seq: seal.seq, count: seal.count, head: seal.head, time: seal.time, alg: seal.alg, key: seal.key });
}

export function keyId(publicKey: KeyObject): string {
  return createHash('sha256').update(publicKey.export({ type: 'spki', format: 'der' })).digest('hex').slice(0, 16);
}

export function verifySeal(seal: Seal, publicKey: KeyObject): boolean {
  return signedBy(seal.alg, sealBody(seal), seal.signature, publicKey);
}

/** The Ed25519 key of a data directory: made on first use, private key readable by the owner only. */
export function sealingKey(dir: string): { privateKey: KeyObject; publicKey: KeyObject } {
  const file = join(dir, 'seal-key.pem');
  const made = createOnce(file, () => generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }));
  const privateKey = createPrivateKey(readFileSync(file));
  const publicKey = createPublicKey(privateKey);
  if (made || !existsSync(join(dir, 'seal-key.pub.pem'))) writeFileSync(join(dir, 'seal-key.pub.pem'), publicKey.export({ type: 'spki', format: 'pem' }), { mode: 0o644 });
  return { privateKey, publicKey };
}

/**
 * Creates a secret file (mode 0600) once, even when several gateways start together: the
 * content is written to a private temporary file and linked into place, which fails for all
 * but the first, so no one ever reads a half-written key. Returns whether this call made it.
 */
export function createOnce(file: string, content: () => string | Buffer): boolean {
  if (existsSync(file)) return false;
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const temporary = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
  writeFileSync(temporary, content(), { mode: 0o600, flag: 'wx' });
  try {
    linkSync(temporary, file);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    return false;
  } finally {
    rmSync(temporary, { force: true });
  }
}

export interface AuditStoreOptions {
  /** The data directory: `audit.db` and the sealing key live here. */
  readonly dir: string;
  readonly readonly?: boolean;
  /** Where each seal is also appended as a JSON line (a second place). */
  readonly exportSeals?: string;
  /** Flush every transaction to the disk before it returns (default true). */
  readonly fsync?: boolean;
}

export class AuditStore {
  readonly dir: string;
  readonly #db: DatabaseSync;
  readonly #writable: boolean;
  readonly #exportSeals: string | undefined;
  readonly #last: StatementSync;
  #insert: StatementSync | undefined;
  #closed = false;
  #signer: { readonly id: string; sign(body: string): string } | undefined;

  constructor(options: AuditStoreOptions) {
    this.dir = options.dir;
    this.#exportSeals = options.exportSeals;
    this.#writable = !options.readonly;
    const path = join(options.dir, 'audit.db');
    if (options.readonly) {
      if (!existsSync(path)) throw new Error(`no audit store at ${path}`);
      this.#db = new DatabaseSync(path, { readOnly: true });
    } else {
      mkdirSync(options.dir, { recursive: true, mode: 0o700 });
      this.#db = new DatabaseSync(path);
      // Another gateway may hold the write lock for a batch: wait for it rather than fail.
      this.#db.exec('PRAGMA busy_timeout = 10000');
      // SQLite answers "database is locked" at once, without waiting, to a connection that
      // switches a new database to WAL while another is doing the same: gateways that start
      // together try again.
      const db = this.#db;
      whileBusy(() => db.exec(`
        PRAGMA journal_mode = WAL;
        PRAGMA synchronous = ${options.fsync === false ? 'NORMAL' : 'FULL'};
        CREATE TABLE IF NOT EXISTS records (
          seq INTEGER PRIMARY KEY, timestamp TEXT NOT NULL, session TEXT, server TEXT, tool TEXT,
          decision TEXT, body TEXT NOT NULL, prev TEXT NOT NULL, hash TEXT NOT NULL);
        CREATE INDEX IF NOT EXISTS records_time ON records (timestamp);
        CREATE INDEX IF NOT EXISTS records_session ON records (session);
        CREATE TABLE IF NOT EXISTS seals (
          id INTEGER PRIMARY KEY, seq INTEGER NOT NULL, count INTEGER NOT NULL, head TEXT NOT NULL,
          time TEXT NOT NULL, alg TEXT NOT NULL, key TEXT NOT NULL, signature TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS prunes (
          id INTEGER PRIMARY KEY, upto INTEGER NOT NULL, head TEXT NOT NULL, time TEXT NOT NULL,
          reason TEXT NOT NULL, alg TEXT NOT NULL, key TEXT NOT NULL, signature TEXT NOT NULL);
      `));
    }
    this.#last = this.#db.prepare('SELECT seq, hash FROM records ORDER BY seq DESC LIMIT 1');
  }

  /** The chain's head as it is on disk now (another writer may have moved it). */
  get head(): { readonly seq: number; readonly hash: string } {
    const last = this.#last.get() as { seq: number; hash: string } | undefined;
    return last ? { seq: Number(last.seq), hash: last.hash } : { seq: 0, hash: GENESIS };
  }

  /** Records in the store (fewer than the head's sequence once retention removed some). */
  get count(): number {
    return Number((this.#db.prepare('SELECT count(*) AS n FROM records').get() as { n: number }).n);
  }

  /**
   * Runs `work` holding SQLite's write lock, so the head it reads is the head it extends even
   * with other writers on the store; rolled back if it throws.
   */
  #transaction<T>(work: () => T): T {
    if (!this.#writable) throw new Error('the audit store is open read-only');
    this.#db.exec('BEGIN IMMEDIATE');
    try {
      const result = work();
      this.#db.exec('COMMIT');
      return result;
    } catch (error) {
      // (isTransaction would say whether SQLite already rolled back; it needs Node 22.16.)
      try {
        this.#db.exec('ROLLBACK');
      } catch {
        // already rolled back
      }
      throw error;
    }
  }

  /**
   * Appends records in one transaction, after whatever the chain's head is then; they are on
   * disk when this returns. Returns the sequence of the last one.
   */
  append(records: readonly StoredRecord[]): number {
    if (records.length === 0) return this.head.seq;
    const insert = (this.#insert ??= this.#db.prepare('INSERT INTO records (seq, timestamp, session, server, tool, decision, body, prev, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)'));
    return this.#transaction(() => {
      let { seq, hash } = this.head;
      for (const record of records) {
        seq += 1;
        const body = canonicalJson({ ...record, sequence: seq });
        const next = linkHash(hash, seq, body);
        const context = (record.context ?? {}) as { session_id?: string };
        insert.run(seq, record.timestamp, context.session_id ?? null, str(record.server), str(record.resource), str(record.decision), body, hash, next);
        hash = next;
      }
      return seq;
    });
  }

  /** The data directory's Ed25519 key (made on first use): its id, and signatures over a body. */
  #signing(): { readonly id: string; sign(body: string): string } {
    if (!this.#signer) {
      const { privateKey, publicKey } = sealingKey(this.dir);
      this.#signer = { id: keyId(publicKey), sign: (body) => sign(null, Buffer.from(body, 'utf8'), privateKey).toString('base64') };
    }
    return this.#signer;
  }

  /** Signs the chain's head as it is now; the seal is stored and, when configured, exported. */
  seal(now = new Date()): Seal {
    const key = this.#signing();
    const seal = this.#transaction(() => {
      const head = this.head;
      // The count is of records ever written (the head's sequence), so retention does not change it.
      const unsigned = { seq: head.seq, count: head.seq, head: head.hash, time: now.toISOString(), alg: SEAL_ALGORITHM, key: key.id };
      const signed: Seal = { ...unsigned, signature: key.sign(sealBody(unsigned)) };
      this.#db.prepare('INSERT INTO seals (seq, count, head, time, alg, key, signature) VALUES (?, ?, ?, ?, ?, ?, ?)').run(signed.seq, signed.count, signed.head, signed.time, signed.alg, signed.key, signed.signature);
      return signed;
    });
    if (this.#exportSeals) appendFileSync(this.#exportSeals, `${JSON.stringify(seal)}\n`, { mode: 0o644 });
    return seal;
  }

  /**
   * Retention: removes records older than `maxAgeMs` and, while the records take more than
   * `maxBytes`, the oldest ones, never the newest record. Each removal is one signed prune entry
   * in the same transaction. Returns the last sequence removed, or 0.
   */
  retain(policy: { maxAgeMs?: number; maxBytes?: number; archive?: string }, now = new Date()): number {
    const key = this.#signing();
    return this.#transaction(() => {
      const range = this.#db.prepare('SELECT min(seq) AS first, max(seq) AS last, count(*) AS n FROM records').get() as { first: number | null; last: number | null; n: number };
      const count = Number(range.n);
      if (range.first === null || range.last === null || count <= 1) return 0;
      const first = Number(range.first);
      let upto = 0;
      if (policy.maxAgeMs !== undefined) {
        const cutoff = new Date(now.getTime() - policy.maxAgeMs).toISOString();
        const old = this.#db.prepare('SELECT max(seq) AS seq FROM records WHERE timestamp < ?').get(cutoff) as { seq: number | null };
        upto = Math.max(upto, Number(old.seq ?? 0));
      }
      if (policy.maxBytes !== undefined) {
        const pages = this.#db.prepare('SELECT (SELECT page_count FROM pragma_page_count()) - (SELECT freelist_count FROM pragma_freelist_count()) AS used, (SELECT page_size FROM pragma_page_size()) AS size').get() as { used: number; size: number };
        const used = Number(pages.used) * Number(pages.size);
        if (used > policy.maxBytes) {
          // Remove enough of the oldest records to come under the limit, with a tenth to spare.
          const perRecord = used / count;
          const excess = Math.ceil((used - policy.maxBytes * 0.9) / perRecord);
          upto = Math.max(upto, first + excess - 1);
        }
      }
      upto = Math.min(upto, Number(range.last) - 1);
      if (upto < first) return 0;
      const at = this.#db.prepare('SELECT hash FROM records WHERE seq = ?').get(upto) as { hash: string } | undefined;
      if (!at) return 0;
      const unsigned = { upto, head: at.hash, time: now.toISOString(), reason: policy.archive ? 'retention (archived)' : 'retention', alg: SEAL_ALGORITHM, key: key.id };
      const signature = key.sign(pruneBody(unsigned));
      // Rotation: the records leave for an archive file, on disk before they leave the store.
      if (policy.archive) this.#archive(policy.archive, first, { ...unsigned, signature });
      this.#db.prepare('DELETE FROM records WHERE seq <= ?').run(upto);
      this.#db.prepare('INSERT INTO prunes (upto, head, time, reason, alg, key, signature) VALUES (?, ?, ?, ?, ?, ?, ?)').run(upto, at.hash, unsigned.time, unsigned.reason, unsigned.alg, unsigned.key, signature);
      return upto;
    });
  }

  /**
   * Writes records `first` to `prune.upto` to `dir/audit-<first>-<upto>.jsonl` in the export's
   * format, so `guardrail audit verify --export` checks it alone: the prune entry the segment
   * continues from (none for the first), its records, the seals over them, and the new prune
   * entry, whose signed head seals the segment's last record. Fsynced before it returns.
   */
  #archive(dir: string, first: number, prune: Prune): void {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const file = join(dir, `audit-${String(first).padStart(12, '0')}-${String(prune.upto).padStart(12, '0')}.jsonl`);
    // Overwritten if a run that failed after writing it left it behind (its records stayed).
    const fd = openSync(file, 'w', 0o600);
    try {
      let chunk = '';
      const write = (line: unknown) => {
        chunk += `${JSON.stringify(line)}\n`;
        if (chunk.length > 1 << 20) {
          writeSync(fd, chunk);
          chunk = '';
        }
      };
      const before = this.prunes().filter((p) => p.upto < first).at(-1);
      if (before) write({ prune: before });
      for (const row of this.#db.prepare('SELECT seq, prev, hash, body FROM records WHERE seq >= ? AND seq <= ? ORDER BY seq').iterate(first, prune.upto) as Iterable<ChainRow>) {
        write(exportLine(row));
      }
      for (const seal of this.seals()) if (seal.seq >= first && seal.seq <= prune.upto) write({ seal });
      write({ prune });
      writeSync(fd, chunk);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }

  /**
   * A signed snapshot of one session's records as they are now (read-only stores can take one
   * too: the key is read from the data directory). Written to `file` when given (mode 0600).
   */
  snapshot(options: { session: string; trigger: Snapshot['trigger']; reason: string; file?: string }, now = new Date()): SignedSnapshot {
    const key = this.#signing();
    const records = (this.#db.prepare('SELECT seq, prev, hash, body FROM records WHERE session = ? ORDER BY seq').all(options.session) as unknown as ChainRow[]).map(exportLine);
    const head = this.head;
    const snapshot: Snapshot = {
      id: randomUUID(),
      timestamp: now.toISOString(),
      trigger: options.trigger,
      scope: 'session',
      session: options.session,
      reason: options.reason,
      chain_position: { seq: head.seq, head: head.hash },
      records,
      alg: SEAL_ALGORITHM,
      key: key.id,
    };
    const signed: SignedSnapshot = { snapshot, signature: key.sign(canonicalJson(snapshot)) };
    if (options.file) {
      mkdirSync(dirname(options.file), { recursive: true, mode: 0o700 });
      writeFileSync(options.file, `${JSON.stringify(signed)}\n`, { mode: 0o600, flag: 'wx' });
    }
    return signed;
  }

  prunes(): Prune[] {
    return (this.#db.prepare('SELECT upto, head, time, reason, alg, key, signature FROM prunes ORDER BY id').all() as unknown as Prune[]).map((p) => ({ ...p, upto: Number(p.upto) }));
  }

  /** The hash of record `seq`, if the store holds it. */
  hashAt(seq: number): string | undefined {
    return (this.#db.prepare('SELECT hash FROM records WHERE seq = ?').get(seq) as { hash: string } | undefined)?.hash;
  }

  /** Every record row, in sequence order. */
  *rows(): Generator<ChainRow> {
    for (const row of this.#db.prepare('SELECT seq, prev, hash, body FROM records ORDER BY seq').iterate() as Iterable<ChainRow>) {
      yield { seq: Number(row.seq), prev: row.prev, hash: row.hash, body: row.body };
    }
  }

  seals(): Seal[] {
    return (this.#db.prepare('SELECT seq, count, head, time, alg, key, signature FROM seals ORDER BY id').all() as unknown as Seal[]).map((s) => ({ ...s, seq: Number(s.seq), count: Number(s.count) }));
  }

  /** Records matching a filter, newest last. */
  query(filter: { since?: string; until?: string; session?: string; server?: string; tool?: string; decision?: string; afterSeq?: number; limit?: number }): ChainRow[] {
    const where: string[] = [];
    const args: (string | number)[] = [];
    const add = (clause: string, value: string | number | undefined) => {
      if (value === undefined) return;
      where.push(clause);
      args.push(value);
    };
    add('timestamp >= ?', filter.since);
    add('timestamp <= ?', filter.until);
    add('session = ?', filter.session);
    add('server = ?', filter.server);
    add('tool = ?', filter.tool);
    add('decision = ?', filter.decision);
    add('seq > ?', filter.afterSeq);
    const sql = `SELECT seq, prev, hash, body FROM records ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq LIMIT ${Math.max(1, Math.min(filter.limit ?? 1_000_000, 1_000_000))}`;
    return (this.#db.prepare(sql).all(...args) as unknown as ChainRow[]).map((r) => ({ ...r, seq: Number(r.seq) }));
  }

  close(): void {
    // (isOpen needs Node 22.15; the project supports 22.13.)
    if (this.#closed) return;
    this.#closed = true;
    this.#db.close();
  }
}

/** Runs `work`, again after a short pause while SQLite says the database is locked (at most 10 s). */
function whileBusy(work: () => void): void {
  const deadline = Date.now() + 10_000;
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (;;) {
    try {
      return work();
    } catch (error) {
      const busy = /database is locked|SQLITE_BUSY/i.test((error as Error).message);
      if (!busy || Date.now() > deadline) throw error;
      Atomics.wait(pause, 0, 0, 10 + Math.random() * 40);
    }
  }
}

/** A record as a line of an export: its chain fields and the record itself. */
export function exportLine(row: ChainRow): { seq: number; prev: string; hash: string; record: unknown } {
  return { seq: Number(row.seq), prev: row.prev, hash: row.hash, record: JSON.parse(row.body) as unknown };
}

function str(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}
