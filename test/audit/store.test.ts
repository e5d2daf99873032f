/**
 * The tamper-evident store on a real SQLite file: every kind of tampering an attacker with
 * write access to the database could do is made with SQL, and `verifyChain` must name it and
 * the record it happened at.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AuditStore, GENESIS, linkHash, sealingKey, type StoredRecord } from '../../src/audit/store.ts';
import { publicKeyOf, readExport, readSeals, verifyChain, verifySnapshot, verifyStore } from '../../src/audit/verify.ts';

const record = (i: number): StoredRecord => ({
  id: `r${i}`,
  timestamp: new Date(Date.UTC(2026, 10, 21, 12, 0, i)).toISOString(),
  flow_type: 'request',
  operation: 'tools/call',
  resource: `tool-${i % 3}`,
  decision: i % 5 === 0 ? 'deny' : 'allow',
  context: { session_id: `s${i % 2}` },
});

let dir: string;
let sealsFile: string;

/** 20 records, sealed after 10 and after 20. */
function fill(): void {
  const store = new AuditStore({ dir, exportSeals: sealsFile });
  store.append(Array.from({ length: 10 }, (_, i) => record(i + 1)));
  store.seal();
  store.append(Array.from({ length: 10 }, (_, i) => record(i + 11)));
  store.seal();
  store.close();
}

function verify(options: { exported?: boolean } = {}) {
  const store = new AuditStore({ dir, readonly: true });
  try {
    return verifyStore(store, { exported: options.exported ? readSeals(sealsFile) : [] });
  } finally {
    store.close();
  }
}

function sql(statement: string, ...args: (string | number)[]): void {
  const db = new DatabaseSync(join(dir, 'audit.db'));
  db.prepare(statement).run(...args);
  db.close();
}

function row(seq: number): { body: string; prev: string; hash: string } {
  const db = new DatabaseSync(join(dir, 'audit.db'));
  const r = db.prepare('SELECT body, prev, hash FROM records WHERE seq = ?').get(seq) as { body: string; prev: string; hash: string };
  db.close();
  return r;
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'guardrail-audit-'));
  sealsFile = join(dir, 'seals.jsonl');
  fill();
});

afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('an intact store', () => {
  it('verifies: every record chained, both seals signed and matching', () => {
    const result = verify({ exported: true });
    expect(result).toMatchObject({ ok: true, records: 20, seals: 4, unsealed: 0, breaks: [] });
  });

  it('continues the chain after it is reopened', () => {
    const store = new AuditStore({ dir });
    expect(store.head.seq).toBe(20);
    store.append([record(21)]);
    store.close();
    expect(verify()).toMatchObject({ ok: true, records: 21, unsealed: 1 });
  });

  it('keeps the sealing key private to its owner', async () => {
    const { statSync } = await import('node:fs');
    expect(statSync(join(dir, 'seal-key.pem')).mode & 0o077).toBe(0);
  });
});

describe('tampering', () => {
  it('names an edited record', () => {
    sql("UPDATE records SET body = replace(body, '\"allow\"', '\"deny\"') WHERE seq = 7");
    const { ok, breaks } = verify();
    expect(ok).toBe(false);
    expect(breaks[0]).toMatchObject({ kind: 'edited', seq: 7 });
  });

  it('names an edited record whose hash was recomputed (the next record still follows the original)', () => {
    const r = row(7);
    const body = r.body.replace('"allow"', '"deny"');
    sql('UPDATE records SET body = ?, hash = ? WHERE seq = 7', body, linkHash(r.prev, 7, body));
    expect(verify().breaks[0]).toMatchObject({ kind: 'edited', seq: 7 });
  });

  it('names a deleted record', () => {
    sql('DELETE FROM records WHERE seq = 7');
    expect(verify().breaks[0]).toMatchObject({ kind: 'deleted', seq: 7 });
  });

  it('names deleted records when the rest was renumbered', () => {
    sql('DELETE FROM records WHERE seq = 7');
    for (let seq = 8; seq <= 20; seq++) sql('UPDATE records SET seq = ? WHERE seq = ?', seq - 1, seq);
    expect(verify().breaks[0]).toMatchObject({ kind: 'deleted', seq: 7 });
  });

  it('names an inserted record, even one linked properly to the record before it', () => {
    for (let seq = 20; seq >= 7; seq--) sql('UPDATE records SET seq = ? WHERE seq = ?', seq + 1, seq);
    const prev = row(6).hash;
    const body = JSON.stringify({ ...record(99), sequence: 7 });
    sql("INSERT INTO records (seq, timestamp, body, prev, hash) VALUES (7, '2026-11-21T12:00:06.500Z', ?, ?, ?)", body, prev, linkHash(prev, 7, body));
    expect(verify().breaks[0]).toMatchObject({ kind: 'inserted', seq: 7 });
  });

  it('names reordered records', () => {
    const a = row(7);
    const b = row(8);
    sql('UPDATE records SET body = ?, prev = ?, hash = ? WHERE seq = 7', b.body, b.prev, b.hash);
    sql('UPDATE records SET body = ?, prev = ?, hash = ? WHERE seq = 8', a.body, a.prev, a.hash);
    expect(verify().breaks[0]).toMatchObject({ kind: 'reordered', seq: 7 });
  });

  it('names a truncated tail by the first record that is gone', () => {
    sql('DELETE FROM records WHERE seq >= 15');
    const { ok, breaks } = verify();
    expect(ok).toBe(false);
    expect(breaks).toContainEqual(expect.objectContaining({ kind: 'truncated', seq: 15 }));
  });

  it('names an altered seal', () => {
    sql('UPDATE seals SET count = count + 1 WHERE seq = 10');
    expect(verify().breaks[0]).toMatchObject({ kind: 'seal-signature', seq: 10 });
  });

  it('catches a rewrite of the whole chain with new seals through the exported ones', () => {
    // The attacker rewrites every record, recomputes every hash, and replaces the seals in the
    // database with ones they cannot sign (they do not have the key) or removes them.
    let prev = GENESIS;
    for (let seq = 1; seq <= 20; seq++) {
      const body = row(seq).body.replace('"allow"', '"deny"');
      const hash = linkHash(prev, seq, body);
      sql('UPDATE records SET body = ?, prev = ?, hash = ? WHERE seq = ?', body, prev, hash, seq);
      prev = hash;
    }
    sql('DELETE FROM seals');
    expect(verify().ok).toBe(true); // the database alone now looks consistent…
    const withExport = verify({ exported: true });
    expect(withExport.ok).toBe(false); // …the seals kept elsewhere do not
    expect(withExport.breaks[0]).toMatchObject({ kind: 'seal-mismatch', seq: 10 });
  });

  it('refuses seals made with another key', () => {
    writeFileSync(sealsFile, readSeals(sealsFile).map((s) => JSON.stringify({ ...s, key: 'ffffffffffffffff' })).join('\n'));
    expect(verify({ exported: true }).breaks[0]).toMatchObject({ kind: 'unknown-key' });
  });
});

describe('retention', () => {
  it('removes records older than max_age under a signed prune entry that verify accepts, seals included', () => {
    const store = new AuditStore({ dir });
    // Records 1-20 are from 2026-11-21 12:00:01-20; keep those after 12:00:12.
    const now = new Date(Date.UTC(2026, 10, 21, 12, 0, 12) + 5 * 60_000);
    expect(store.retain({ maxAgeMs: 5 * 60_000 }, now)).toBe(11);
    expect(store.count).toBe(9);
    store.close();
    const result = verify({ exported: true });
    expect(result).toMatchObject({ ok: true, records: 9, prunedUpTo: 11, unsealed: 0 });
  });

  it('removes the oldest records while the records take more than max_size, never the newest', () => {
    const store = new AuditStore({ dir });
    store.append(Array.from({ length: 2000 }, (_, i) => ({ ...record(i + 21), padding: 'x'.repeat(200) })));
    const upto = store.retain({ maxBytes: 200_000 });
    expect(upto).toBeGreaterThan(20);
    expect(store.count).toBeGreaterThan(0);
    expect(store.count).toBeLessThan(2020);
    expect(store.retain({ maxBytes: 1 })).toBe(2019); // all but the newest
    store.close();
    expect(verify()).toMatchObject({ ok: true, records: 1, prunedUpTo: 2019 });
  });

  it('rotates removed records into archive files that verify on their own and join the store\'s chain', () => {
    const archive = join(dir, 'archive');
    const store = new AuditStore({ dir });
    // Records 1-20 are from 12:00:01-20: first remove 1-5, then 6-12.
    expect(store.retain({ maxAgeMs: 0, archive }, new Date(Date.UTC(2026, 10, 21, 12, 0, 6)))).toBe(5);
    expect(store.retain({ maxAgeMs: 0, archive }, new Date(Date.UTC(2026, 10, 21, 12, 0, 13)))).toBe(12);
    store.close();
    const files = readdirSync(archive).sort();
    expect(files).toEqual(['audit-000000000001-000000000005.jsonl', 'audit-000000000006-000000000012.jsonl']);
    const key = publicKeyOf(dir)!;
    const segments = files.map((f) => readExport(join(archive, f)));
    // The first starts at the beginning; the second continues from the first's closing entry.
    expect(verifyChain(segments[0]!.rows, segments[0]!.seals, key, [], segments[0]!.prunes)).toMatchObject({ ok: true, records: 5, unsealed: 0 });
    expect(verifyChain(segments[1]!.rows, segments[1]!.seals, key, [], segments[1]!.prunes)).toMatchObject({ ok: true, records: 7, prunedUpTo: 5, unsealed: 0 });
    expect(segments[1]!.rows[0]!.prev).toBe(segments[0]!.rows.at(-1)!.hash);
    // The store goes on from the last archived record.
    expect(verify({ exported: true })).toMatchObject({ ok: true, records: 8, prunedUpTo: 12 });
    expect(row(13).prev).toBe(segments[1]!.rows.at(-1)!.hash);
    // An archived record edited is caught in the archive.
    const tampered = join(archive, files[1]!);
    writeFileSync(tampered, readFileSync(tampered, 'utf8').replace('"r8"', '"r8-edited"'));
    const broken = readExport(tampered);
    expect(verifyChain(broken.rows, broken.seals, key, [], broken.prunes).breaks[0]).toMatchObject({ kind: 'edited', seq: 8 });
  });

  it('removes nothing when the archive cannot be written', () => {
    const blocked = join(dir, 'a-file');
    writeFileSync(blocked, 'x');
    const store = new AuditStore({ dir });
    expect(() => store.retain({ maxAgeMs: 0, archive: join(blocked, 'archive') }, new Date(Date.UTC(2026, 10, 21, 12, 0, 6)))).toThrow(/ENOTDIR|EEXIST/);
    expect(store.count).toBe(20);
    store.close();
    expect(verify()).toMatchObject({ ok: true, records: 20, prunedUpTo: 0 });
  });

  it('does not let a deletion pass for retention: a forged prune entry is refused', () => {
    const store = new AuditStore({ dir });
    store.retain({ maxAgeMs: 0 }, new Date(Date.UTC(2026, 10, 21, 12, 0, 5)));
    store.close();
    sql("UPDATE prunes SET upto = 8, head = (SELECT hash FROM records WHERE seq = 8)");
    sql('DELETE FROM records WHERE seq <= 8');
    const { ok, breaks } = verify();
    expect(ok).toBe(false);
    expect(breaks[0]).toMatchObject({ kind: 'prune-signature' });
  });

  it('still names a deletion right after the pruned range', () => {
    const store = new AuditStore({ dir });
    store.retain({ maxAgeMs: 0 }, new Date(Date.UTC(2026, 10, 21, 12, 0, 5)));
    store.close();
    sql('DELETE FROM records WHERE seq = 5');
    expect(verify().breaks[0]).toMatchObject({ kind: 'deleted', seq: 5 });
  });
});


describe('several writers on one store', () => {
  it('interleaves their batches into one chain: each batch extends the head on disk, not the one it last saw', () => {
    const first = new AuditStore({ dir });
    const second = new AuditStore({ dir });
    // Readers (verify, query, tail) are welcome while they write.
    const reader = new AuditStore({ dir, readonly: true });
    expect(first.append([record(21), record(22)])).toBe(22);
    expect(second.append([record(23)])).toBe(23);
    expect(first.append([record(24)])).toBe(24);
    second.seal();
    expect(first.head.seq).toBe(24);
    expect(reader.head.seq).toBe(24);
    reader.close();
    first.close();
    second.close();
    const result = verify();
    expect(result.breaks).toEqual([]);
    expect(result.records).toBe(24);
    expect(result.unsealed).toBe(0);
  });

  it('opens a new store in several processes at once, each writing into one chain', async () => {
    const { spawn } = await import('node:child_process');
    const fresh = join(dir, 'together');
    // Every process opens the store at the same moment, so their first statements collide.
    const at = Date.now() + 1500;
    const script = `
      const { AuditStore } = await import(${JSON.stringify(new URL('../../src/audit/store.ts', import.meta.url).href)});
      while (Date.now() < ${at});
      const store = new AuditStore({ dir: ${JSON.stringify(fresh)} });
      store.append([{ id: String(process.pid), timestamp: new Date().toISOString(), context: { session_id: String(process.pid) } }]);
      store.close();`;
    const runs = await Promise.all(
      Array.from({ length: 12 }, () =>
        new Promise<{ code: number | null; err: string }>((resolve) => {
          const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'ignore', 'pipe'] });
          let err = '';
          child.stderr.on('data', (d: Buffer) => (err += d.toString()));
          child.on('exit', (code) => resolve({ code, err }));
        }),
      ),
    );
    expect(runs.filter((r) => r.code !== 0).map((r) => r.err)).toEqual([]);
    const store = new AuditStore({ dir: fresh, readonly: true });
    const result = verifyStore(store);
    store.close();
    expect(result).toMatchObject({ ok: true, records: 12 });
  });

  it('makes one sealing key and one hash key when writers start together', async () => {
    const { spawn } = await import('node:child_process');
    const fresh = join(dir, 'fresh');
    const script = `
      const { sealingKey } = await import(${JSON.stringify(new URL('../../src/audit/store.ts', import.meta.url).href)});
      const { contentHashKey } = await import(${JSON.stringify(new URL('../../src/audit/audit-recorder.ts', import.meta.url).href)});
      const { createHash } = await import('node:crypto');
      const { publicKey } = sealingKey(${JSON.stringify(fresh)});
      process.stdout.write(createHash('sha256').update(publicKey.export({ type: 'spki', format: 'der' })).update(contentHashKey(${JSON.stringify(fresh)})).digest('hex'));`;
    const outputs = await Promise.all(
      Array.from({ length: 6 }, () =>
        new Promise<string>((resolve, reject) => {
          const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
          let out = '';
          let err = '';
          child.stdout.on('data', (d: Buffer) => (out += d.toString()));
          child.stderr.on('data', (d: Buffer) => (err += d.toString()));
          child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(err))));
        }),
      ),
    );
    // Every process ended up with the same keys: no one overwrote or half-read another's.
    expect(new Set(outputs).size).toBe(1);
    expect(outputs[0]).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('forensic snapshots', () => {
  it('hold one session\'s records as they stand, and tell when the store no longer has them so', () => {
    const store = new AuditStore({ dir });
    const signed = store.snapshot({ session: 's1', trigger: 'request', reason: 'test' });
    store.close();
    expect(signed.snapshot.records.map((r) => r.seq)).toEqual([1, 3, 5, 7, 9, 11, 13, 15, 17, 19]);
    expect(signed.snapshot.chain_position.seq).toBe(20);
    const key = publicKeyOf(dir);
    const reader = () => new AuditStore({ dir, readonly: true });
    let r = reader();
    expect(verifySnapshot(signed, key, (seq) => r.hashAt(seq))).toEqual({ ok: true, records: 10, problems: [] });
    r.close();
    // The store rewritten after the snapshot (record 5 edited, its hash recomputed).
    const edited = row(5);
    const body = edited.body.replace('"deny"', '"allow"');
    expect(body).not.toBe(edited.body);
    sql('UPDATE records SET body = ?, hash = ? WHERE seq = 5', body, linkHash(edited.prev, 5, body));
    r = reader();
    expect(verifySnapshot(signed, key, (seq) => r.hashAt(seq)).problems).toEqual(['record 5 is no longer the one in the store']);
    r.close();
    // Another key: refused.
    const other = mkdtempSync(join(tmpdir(), 'guardrail-other-key-'));
    sealingKey(other);
    expect(verifySnapshot(signed, publicKeyOf(other)).problems[0]).toMatch(/^made with key/);
    rmSync(other, { recursive: true, force: true });
  });
});
