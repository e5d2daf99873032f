/**
 * The audit recorder on a real store: records become chained FlowRecords without content; in
 * drop-with-alert mode a full queue drops and counts; in block mode every record is
 * acknowledged once on disk, a full queue makes calls wait for room, and a failing store
 * refuses them (the store's database is closed under it: a real failure of the real part).
 */
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { DatabaseSync } from 'node:sqlite';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createAuditRecorder, flowRecord } from '../../src/audit/audit-recorder.ts';
import type { DecisionRecord } from '../../src/audit/decision-log.ts';
import { AuditStore } from '../../src/audit/store.ts';
import { publicKeyOf, readExport, verifyChain, verifyStore } from '../../src/audit/verify.ts';
import type { AuditConfig } from '../../src/config/config.ts';
import { decision } from '../../src/pipeline/decision.ts';
import { silentLogger } from '../../src/util/logger.ts';

let dir: string;
beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'guardrail-recorder-'))));
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const config = (overrides: Partial<AuditConfig> = {}): AuditConfig => ({
  dir: join(dir, 'audit'),
  sealEvery: 1000,
  sealIntervalMs: 60_000,
  exportSeals: undefined,
  sealWebhooks: [],
  queue: 100,
  onOverload: 'drop-with-alert',
  blockTimeoutMs: 1000,
  maxAgeMs: undefined,
  maxBytes: undefined,
  archive: undefined,
  snapshotOn: [],
  ...overrides,
});

const entry = (i: number, extra: Partial<DecisionRecord> = {}): DecisionRecord => ({
  session: 'session-1',
  direction: 'server-to-client',
  kind: 'result',
  method: 'tools/call',
  id: i,
  server: 'files',
  target: 'read_text_file',
  verdict: 'transform',
  decisions: [
    decision('transform', 'flow', 'information-flow', 'flow.level-default', 'RESTRICTED data from files to the client was transformed (redact:aws-access-key-id)', {
      classification: 'RESTRICTED',
      detectors: { 'aws-access-key-id': 1 },
      transformations: ['redact:aws-access-key-id'],
    }),
  ],
  ...extra,
});

const tick = () => new Promise((r) => setImmediate(r));

function verify() {
  const store = new AuditStore({ dir: join(dir, 'audit'), readonly: true });
  try {
    return { result: verifyStore(store), rows: [...store.rows()] };
  } finally {
    store.close();
  }
}

describe('flow records', () => {
  it('carry the spec fields, the classification and detectors, never content', () => {
    const r = flowRecord(entry(7));
    expect(r).toMatchObject({
      flow_type: 'response',
      source: { type: 'server', id: 'files' },
      destination: { type: 'client', id: 'session-1' },
      operation: 'tools/call',
      resource: 'read_text_file',
      classification: 'RESTRICTED',
      decision: 'transform',
      rule: 'flow.level-default',
      context: { session_id: 'session-1', correlation_id: '7' },
      metadata: { detectors: { 'aws-access-key-id': 1 }, transformations: ['redact:aws-access-key-id'] },
    });
    expect(typeof r.id).toBe('string');
    expect(Number.isNaN(Date.parse(r.timestamp))).toBe(false);
  });
});

/** Until every record handed over is on disk (or failed): the writer thread answers asynchronously. */
async function drained(recorder: { readonly pending: number }): Promise<void> {
  while (recorder.pending > 0) await new Promise((r) => setTimeout(r, 2));
}

/** The store as a reader sees it. */
function stored<T>(read: (store: AuditStore) => T): T {
  const store = new AuditStore({ dir: join(dir, 'audit'), readonly: true });
  try {
    return read(store);
  } finally {
    store.close();
  }
}

/** Makes the real store fail every insert from now on (a trigger, through a second connection). */
function breakStore(): void {
  const db = new DatabaseSync(join(dir, 'audit', 'audit.db'));
  db.exec(`CREATE TRIGGER refuse BEFORE INSERT ON records BEGIN SELECT RAISE(ABORT, 'disk says no'); END;`);
  db.close();
}

describe('drop-with-alert', () => {
  it('writes the records of one turn in one batch, chained, sealed on close', async () => {
    const recorder = await createAuditRecorder(config(), silentLogger);
    for (let i = 0; i < 10; i++) expect(recorder.record(entry(i))).toBeUndefined();
    expect(recorder.pending).toBe(10);
    await tick();
    // Handed to the writer thread at the end of the turn, still counted until it is on disk.
    expect(recorder.pending).toBe(10);
    await drained(recorder);
    expect(stored((s) => s.count)).toBe(10);
    await recorder.close();
    const { result, rows } = verify();
    expect(result).toMatchObject({ ok: true, records: 10, unsealed: 0 });
    expect(JSON.parse(rows[3]!.body)).toMatchObject({ sequence: 4, context: { correlation_id: '3' } });
  });

  it('drops and counts records beyond the queue, which counts the records with the writer too', async () => {
    const recorder = await createAuditRecorder(config({ queue: 3 }), silentLogger);
    for (let i = 0; i < 5; i++) recorder.record(entry(i));
    expect(recorder.dropped).toBe(2);
    await tick();
    recorder.record(entry(5));
    expect(recorder.dropped).toBe(3);
    await drained(recorder);
    recorder.record(entry(6));
    expect(recorder.dropped).toBe(3);
    await recorder.close();
    expect(verify().result.records).toBe(4);
  });

  it('seals once sealEvery records were written since the last seal (after the batch that passes it)', async () => {
    const recorder = await createAuditRecorder(config({ sealEvery: 4 }), silentLogger);
    for (let i = 0; i < 3; i++) recorder.record(entry(i));
    await drained(recorder);
    expect(stored((s) => s.seals())).toHaveLength(0);
    for (let i = 3; i < 5; i++) recorder.record(entry(i));
    // The writer answers for the batch first, then seals.
    await expect.poll(() => stored((s) => s.seals().map((seal) => seal.seq))).toEqual([5]);
    recorder.record(entry(5));
    await recorder.close();
    expect(verify().result).toMatchObject({ ok: true, seals: 2, unsealed: 0 });
  });

  it('counts the records of a batch the store refused as dropped', async () => {
    const recorder = await createAuditRecorder(config(), silentLogger);
    breakStore();
    for (let i = 0; i < 3; i++) recorder.record(entry(i));
    await drained(recorder);
    expect(recorder.dropped).toBe(3);
    await recorder.close();
  });
});

describe('block', () => {
  it('acknowledges each record once its batch is on disk, and records everything', async () => {
    const recorder = await createAuditRecorder(config({ onOverload: 'block' }), silentLogger);
    expect(recorder.recordsEverything).toBe(true);
    const acks = [0, 1, 2].map((i) => recorder.record(entry(i)) as Promise<void>);
    expect(acks.every((a) => a instanceof Promise)).toBe(true);
    // Not on disk yet: nothing was written in this turn.
    expect(stored((s) => s.count)).toBe(0);
    await Promise.all(acks);
    expect(stored((s) => s.count)).toBe(3);
    await recorder.close();
  });

  it('makes a call wait for room in a full queue, then takes it', async () => {
    const recorder = await createAuditRecorder(config({ onOverload: 'block', queue: 1 }), silentLogger);
    const first = recorder.record(entry(1)) as Promise<void>;
    const second = recorder.record(entry(2)) as Promise<void>;
    expect(recorder.pending).toBe(1);
    await first;
    await second;
    expect(stored((s) => s.count)).toBe(2);
    await recorder.close();
  });

  it('under a burst bigger than the queue, makes every call wait its turn and records all of them, in order', async () => {
    const recorder = await createAuditRecorder(config({ onOverload: 'block', queue: 8 }), silentLogger);
    let most = 0;
    const acks: Promise<void>[] = [];
    for (let i = 0; i < 200; i++) {
      acks.push(recorder.record(entry(i)) as Promise<void>);
      most = Math.max(most, recorder.pending);
    }
    await Promise.all(acks);
    expect(most).toBe(8);
    expect(recorder.dropped).toBe(0);
    await recorder.close();
    const { result, rows } = verify();
    expect(result).toMatchObject({ ok: true, records: 200 });
    expect(rows.map((r) => Number((JSON.parse(r.body) as { context: { correlation_id: string } }).context.correlation_id))).toEqual(Array.from({ length: 200 }, (_, i) => i));
  });

  it('refuses a call that waited for room longer than block_timeout', async () => {
    const recorder = await createAuditRecorder(config({ onOverload: 'block', queue: 1, blockTimeoutMs: 50 }), silentLogger);
    // The writer is kept busy: its thread holds a batch SQLite cannot commit while another
    // connection holds the write lock (the writer waits on the lock, as it would for a slow disk).
    const db = new DatabaseSync(join(dir, 'audit', 'audit.db'));
    db.exec('BEGIN IMMEDIATE');
    const first = recorder.record(entry(1)) as Promise<void>;
    const second = recorder.record(entry(2)) as Promise<void>;
    await expect(second).rejects.toThrow(/stayed full for 50 ms/);
    db.exec('ROLLBACK');
    db.close();
    await first;
    await recorder.close();
    expect(verify().result.records).toBe(1);
  });

  it('refuses calls whose records the store cannot write', async () => {
    const recorder = await createAuditRecorder(config({ onOverload: 'block' }), silentLogger);
    breakStore();
    await expect(recorder.record(entry(1)) as Promise<void>).rejects.toThrow(/audit store failed: disk says no/);
    expect(recorder.dropped).toBe(0);
    await recorder.close();
  });

  it('refuses queued and waiting calls alike when the store fails', async () => {
    const recorder = await createAuditRecorder(config({ onOverload: 'block', queue: 1 }), silentLogger);
    breakStore();
    const first = recorder.record(entry(1)) as Promise<void>;
    const second = recorder.record(entry(2)) as Promise<void>;
    await expect(first).rejects.toThrow(/audit store failed/);
    await expect(second).rejects.toThrow(/audit store failed/);
    await recorder.close();
  });
});

describe('the writer thread', () => {
  it('runs retention with each seal, archiving what it removes', async () => {
    const archive = join(dir, 'archive');
    const recorder = await createAuditRecorder(config({ sealEvery: 5, maxAgeMs: 0, archive }), silentLogger);
    for (let i = 0; i < 12; i++) {
      recorder.record(entry(i));
      // Records one turn apart, so each batch is older than the next seal.
      await drained(recorder);
    }
    await recorder.close();
    const { result } = verify();
    expect(result, JSON.stringify(result.breaks)).toMatchObject({ ok: true });
    expect(result.prunedUpTo).toBeGreaterThan(0);
    const key = publicKeyOf(join(dir, 'audit'));
    const archived = readdirSync(archive).map((f) => readExport(join(archive, f)));
    expect(archived.length).toBeGreaterThan(0);
    for (const segment of archived) expect(verifyChain(segment.rows, segment.seals, key, [], segment.prunes).ok).toBe(true);
    // Archived and kept together: every record, once.
    expect(archived.reduce((n, segment) => n + segment.rows.length, 0) + result.records).toBe(12);
  });

  it('refuses to start when the store cannot be opened', async () => {
    const file = join(dir, 'a-file');
    writeFileSync(file, 'x');
    await expect(createAuditRecorder(config({ dir: join(file, 'audit') }), silentLogger)).rejects.toThrow(/ENOTDIR|not a directory/);
  });

  it('when it dies, fails the batches it held, and the next batch starts a new one that continues the chain', async () => {
    const recorder = await createAuditRecorder(config({ onOverload: 'block' }), silentLogger);
    await recorder.record(entry(1));
    const held = recorder.record(entry(2)) as Promise<void>;
    await tick();
    await recorder.writer.terminate();
    await expect(held).rejects.toThrow(/audit store failed: the audit writer thread stopped/);
    // Restarts are at most one a second.
    await new Promise((r) => setTimeout(r, 1100));
    await recorder.record(entry(3));
    await recorder.close();
    const { result, rows } = verify();
    expect(result).toMatchObject({ ok: true });
    // Record 2 may or may not be on disk: the thread can commit a batch and be stopped before
    // its answer arrives. Either way its call was refused (above): a refused call can have its
    // record, an answered one cannot lack it.
    const ids = rows.map((r) => (JSON.parse(r.body) as { context: { correlation_id: string } }).context.correlation_id);
    expect([['1', '3'], ['1', '2', '3']]).toContainEqual(ids);
  });
});

describe('content', () => {
  const call = (path: string, extra: Record<string, unknown> = {}) => ({
    message: { jsonrpc: '2.0' as const, id: 3, method: 'tools/call', params: { name: 'read_text_file', arguments: { path, ...extra }, _meta: { progressToken: 7 } } },
  });
  const request = (rule = 'request-filter.allowed'): DecisionRecord => ({
    session: 's',
    direction: 'client-to-server',
    kind: 'request',
    method: 'tools/call',
    id: 3,
    server: 'files',
    target: 'read_text_file',
    verdict: 'allow',
    decisions: [decision('allow', 'flow', 'information-flow', rule, 'r')],
  });
  const bodies = () => verify().rows.map((r) => JSON.parse(r.body) as { metadata: { content_hashes?: { arguments: Record<string, string> }; content?: unknown } });

  it('keeps keyed hashes of each argument, not the arguments: equal values stay joinable', async () => {
    const recorder = await createAuditRecorder(config(), silentLogger);
    recorder.record(request(), call('/srv/secret-plans.md'));
    recorder.record(request(), call('/srv/secret-plans.md', { head: 5 }));
    recorder.record(request(), call('/srv/other.md'));
    await recorder.close();
    const [a, b, c] = bodies();
    expect(a!.metadata.content_hashes!.arguments.path).toMatch(/^[0-9a-f]{16}$/);
    expect(b!.metadata.content_hashes!.arguments.path).toBe(a!.metadata.content_hashes!.arguments.path);
    expect(c!.metadata.content_hashes!.arguments.path).not.toBe(a!.metadata.content_hashes!.arguments.path);
    expect(Object.keys(b!.metadata.content_hashes!.arguments).sort()).toEqual(['head', 'path']);
    expect(verify().rows.some((r) => r.body.includes('secret-plans'))).toBe(false);
  });

  it('keys the hashes per data directory: another store gives other hashes for the same value', async () => {
    const first = await createAuditRecorder(config(), silentLogger);
    first.record(request(), call('/srv/a.md'));
    await first.close();
    const hashA = bodies()[0]!.metadata.content_hashes!.arguments.path;
    const other = mkdtempSync(join(tmpdir(), 'guardrail-recorder-other-'));
    const second = await createAuditRecorder(config({ dir: join(other, 'audit') }), silentLogger);
    second.record(request(), call('/srv/a.md'));
    await second.close();
    const store = new AuditStore({ dir: join(other, 'audit'), readonly: true });
    const hashB = (JSON.parse([...store.rows()][0]!.body) as { metadata: { content_hashes: { arguments: { path: string } } } }).metadata.content_hashes.arguments.path;
    store.close();
    rmSync(other, { recursive: true, force: true });
    expect(hashB).not.toBe(hashA);
  });

  it('keeps the content of messages a rule with include_content decided, every finding redacted', async () => {
    const key = `AKIA${'QWERTYUIOPASDFGH'.split('').reverse().join('')}`;
    const recorder = await createAuditRecorder(config(), silentLogger, { includeContent: new Set(['flow.keep-content']) });
    recorder.record(request('flow.keep-content'), call(`/srv/notes.md`, { note: `key ${key} for ops@corp-mail.io` }));
    recorder.record(request(), call('/srv/plain.md'));
    await recorder.close();
    const [kept, plain] = bodies();
    expect(kept!.metadata.content).toEqual({ name: 'read_text_file', arguments: { path: '/srv/notes.md', note: 'key [REDACTED:aws-access-key-id] for [REDACTED:email]' }, _meta: { progressToken: 7 } });
    expect(plain!.metadata.content).toBeUndefined();
  });
});
