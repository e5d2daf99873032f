/**
 * `guardrail audit verify`: walks the chain and the seals of a store and names the first
 * record that was edited, deleted, inserted or reordered, and a truncated tail, by sequence
 * number. Works on a store (read-only) or on an export (JSON lines with the chain fields), so
 * a copy can be checked away from the gateway.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { canonicalJson } from '../util/canonical-json.ts';
import { GENESIS, keyId, linkHash, verifyPrune, verifySeal, verifySnapshotSignature, type AuditStore, type ChainRow, type Prune, type Seal, type SignedSnapshot } from './store.ts';

export type BreakKind = 'edited' | 'deleted' | 'inserted' | 'reordered' | 'truncated' | 'seal-signature' | 'seal-mismatch' | 'unknown-key' | 'prune-signature';

export interface Break {
  readonly kind: BreakKind;
  /** The record's sequence number (for a seal, the sequence it covers). */
  readonly seq: number;
  readonly detail: string;
}

export interface Verification {
  readonly ok: boolean;
  readonly records: number;
  readonly seals: number;
  /** Records after the last seal: intact as a chain, but not yet signed. */
  readonly unsealed: number;
  /** Records removed by retention (a signed prune entry), up to this sequence. */
  readonly prunedUpTo: number;
  readonly breaks: readonly Break[];
}

/** The public key that checks a store's seals: `seal-key.pub.pem` in its directory unless given. */
export function publicKeyOf(dir: string, file?: string): KeyObject | undefined {
  const path = file ?? join(dir, 'seal-key.pub.pem');
  return existsSync(path) ? createPublicKey(readFileSync(path)) : undefined;
}

/** A whole store: its records, its seals and prune entries, and seals kept elsewhere. */
export function verifyStore(store: AuditStore, options: { publicKey?: KeyObject | undefined; exported?: readonly Seal[] } = {}): Verification {
  const publicKey = 'publicKey' in options ? options.publicKey : publicKeyOf(store.dir);
  return verifyChain(store.rows(), store.seals(), publicKey, options.exported ?? [], store.prunes());
}

/**
 * Checks rows (in the order the store gives them, by sequence) and seals. `exported` are seals
 * kept in a second place: each must match the store too, so a rewritten store with new seals
 * is still caught.
 */
export function verifyChain(rows: Iterable<ChainRow>, seals: readonly Seal[], publicKey: KeyObject | undefined, exported: readonly Seal[] = [], prunes: readonly Prune[] = []): Verification {
  const breaks: Break[] = [];
  // Only the hashes a seal or a closing prune entry names are kept: a store of millions of
  // records verifies in memory proportional to its seals.
  const hashes = new Map<number, string>();
  const wanted = new Set<number>([...seals, ...exported].map((seal) => seal.seq));
  const key = publicKey ? keyId(publicKey) : undefined;
  const iterator = rows[Symbol.iterator]();
  const head = iterator.next();
  const firstSeq = head.done ? Infinity : head.value.seq;
  // Retention removed the oldest records under a signed prune entry: the chain starts after the
  // last one before the first row. A prune entry over rows that are here (an archive segment's
  // closing entry) signs its record's hash: it counts as a seal.
  let pruned: Prune | undefined;
  const closing: Prune[] = [];
  for (const prune of prunes) {
    if (key === undefined || prune.key !== key || !verifyPrune(prune, publicKey!)) {
      breaks.push({ kind: 'prune-signature', seq: prune.upto, detail: `the prune entry for records up to ${prune.upto} (${prune.time}) is not signed by this store's key: records were removed without retention` });
      continue;
    }
    if (prune.upto >= firstSeq) {
      closing.push(prune);
      wanted.add(prune.upto);
    }
    else if (!pruned || prune.upto > pruned.upto) pruned = prune;
  }
  let expectedSeq = pruned ? pruned.upto + 1 : 1;
  let prev = pruned ? pruned.head : GENESIS;
  let count = 0;
  let lastSeq = 0;
  let prevPrev = GENESIS;
  // A record that follows one no longer in its place: deleted, or moved further down?
  let displaced: { seq: number; prev: string } | undefined;
  let swapped = false;
  const all: Iterable<ChainRow> = {
    *[Symbol.iterator]() {
      if (!head.done) yield head.value;
      for (let next = iterator.next(); !next.done; next = iterator.next()) yield next.value;
    },
  };
  for (const row of all) {
    count++;
    if (breaks.length === 0) {
      const found = judge(row, expectedSeq, prev, prevPrev);
      if (found) {
        breaks.push(found);
        if (found.kind === 'deleted' && found.seq === row.seq) displaced = { seq: row.seq, prev: row.prev };
      }
    }
    if (wanted.has(row.seq)) hashes.set(row.seq, row.hash);
    // The record the displaced one follows turns up further down: they swapped places.
    if (displaced && row.hash === displaced.prev) swapped = true;
    prevPrev = prev;
    prev = row.hash;
    expectedSeq = row.seq + 1;
    lastSeq = row.seq;
  }
  if (displaced && swapped) {
    breaks[0] = { kind: 'reordered', seq: displaced.seq, detail: `record ${displaced.seq} and a later record swapped places` };
  }
  let lastSealed = pruned?.upto ?? 0;
  for (const seal of [...seals, ...exported]) {
    if (key === undefined || seal.key !== key) {
      breaks.push({ kind: 'unknown-key', seq: seal.seq, detail: `the seal over record ${seal.seq} (${seal.time}) was made with key ${seal.key}, not ${key ?? '(no public key found)'}` });
      continue;
    }
    if (!verifySeal(seal, publicKey!)) {
      breaks.push({ kind: 'seal-signature', seq: seal.seq, detail: `the seal over record ${seal.seq} (${seal.time}) has a signature that does not verify: the seal was altered` });
      continue;
    }
    // A seal over records retention removed: its records are gone by design.
    if (pruned && seal.seq <= pruned.upto) continue;
    if (seal.seq > lastSeq) {
      breaks.push({ kind: 'truncated', seq: lastSeq + 1, detail: `records ${lastSeq + 1} to ${seal.seq} are gone: the seal of ${seal.time} covers ${seal.seq} records' chain, the store ends at ${lastSeq}` });
      continue;
    }
    const at = hashes.get(seal.seq);
    if (at !== seal.head) {
      breaks.push({ kind: 'seal-mismatch', seq: seal.seq, detail: `record ${seal.seq} is not the one sealed at ${seal.time}: the chain up to it was rewritten` });
      continue;
    }
    lastSealed = Math.max(lastSealed, seal.seq);
  }
  for (const prune of closing) {
    if (hashes.get(prune.upto) !== prune.head) {
      breaks.push({ kind: 'seal-mismatch', seq: prune.upto, detail: `record ${prune.upto} is not the one the prune entry of ${prune.time} signed: the chain up to it was rewritten` });
      continue;
    }
    lastSealed = Math.max(lastSealed, prune.upto);
  }
  breaks.sort((a, b) => a.seq - b.seq);
  return { ok: breaks.length === 0, records: count, seals: seals.length + exported.length, unsealed: Math.max(0, lastSeq - lastSealed), prunedUpTo: pruned?.upto ?? 0, breaks };
}

/**
 * The first break at this row, if any. The record's own body says which sequence number it was
 * written with, which tells a renumbering after a deletion or an insertion from an edit.
 */
function judge(row: ChainRow, expectedSeq: number, prev: string, prevPrev: string): Break | undefined {
  const written = sequenceOf(row.body);
  if (row.seq > expectedSeq) {
    const last = row.seq - 1;
    return { kind: 'deleted', seq: expectedSeq, detail: `record${last > expectedSeq ? `s ${expectedSeq} to ${last} are` : ` ${expectedSeq} is`} missing: the chain jumps from ${expectedSeq - 1} to ${row.seq}` };
  }
  if (row.seq < expectedSeq) return { kind: 'reordered', seq: row.seq, detail: `record ${row.seq} appears again after record ${expectedSeq - 1}` };
  if (row.prev !== prev) {
    if (row.prev === prevPrev) return { kind: 'inserted', seq: row.seq - 1, detail: `record ${row.seq - 1} was inserted: record ${row.seq} still follows record ${row.seq - 2}` };
    if (written !== undefined && written > row.seq) return { kind: 'deleted', seq: row.seq, detail: `records from ${row.seq} were deleted and the rest renumbered: record ${row.seq} was written as ${written}` };
    if (written !== undefined && written < row.seq) return { kind: 'inserted', seq: row.seq, detail: `records were inserted before record ${row.seq} and the rest renumbered: it was written as ${written}` };
    if (written !== row.seq) return { kind: 'reordered', seq: row.seq, detail: `record ${row.seq} holds the record written as ${written ?? 'unknown'}` };
    return { kind: 'edited', seq: row.seq - 1, detail: `record ${row.seq - 1} was changed and its hash recomputed: record ${row.seq} still follows the original` };
  }
  if (linkHash(row.prev, row.seq, row.body) !== row.hash) return { kind: 'edited', seq: row.seq, detail: `record ${row.seq} was changed after it was written (its hash no longer matches its content)` };
  if (written !== row.seq) return { kind: 'reordered', seq: row.seq, detail: `record ${row.seq} holds the record written as ${written ?? 'unknown'}` };
  return undefined;
}

function sequenceOf(body: string): number | undefined {
  try {
    const value = (JSON.parse(body) as { sequence?: unknown }).sequence;
    return typeof value === 'number' ? value : undefined;
  } catch {
    return undefined;
  }
}

/** Seals from a JSON-lines file (the export of `AuditStore.seal`). */
export function readSeals(file: string): Seal[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as Seal);
}

/** An export (`guardrail audit export`, or an archive segment): its records, seals and prune entries. */
export function readExport(file: string): { rows: ChainRow[]; seals: Seal[]; prunes: Prune[] } {
  const rows: ChainRow[] = [];
  const seals: Seal[] = [];
  const prunes: Prune[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const value = JSON.parse(line) as { seq?: number; prev?: string; hash?: string; record?: unknown; seal?: Seal; prune?: Prune };
    if (value.seal) seals.push(value.seal);
    else if (value.prune) prunes.push(value.prune);
    else rows.push({ seq: Number(value.seq), prev: String(value.prev), hash: String(value.hash), body: canonicalJson(value.record) });
  }
  return { rows, seals, prunes };
}

export interface SnapshotVerification {
  readonly ok: boolean;
  readonly records: number;
  /** What is wrong, one sentence each. */
  readonly problems: readonly string[];
}

/**
 * Checks a forensic snapshot: signed by the key, every record hashing to its place (its own
 * content, sequence and predecessor), all of the named session, in order, none after the head
 * it claims. With `chain` (the store's hashes by sequence), each record must also still be the
 * one in the store, unless retention has removed it since.
 */
export function verifySnapshot(signed: SignedSnapshot, publicKey: KeyObject | undefined, chain?: (seq: number) => string | undefined): SnapshotVerification {
  const problems: string[] = [];
  const { snapshot } = signed;
  if (!publicKey || snapshot.key !== keyId(publicKey)) problems.push(`made with key ${snapshot.key}, not ${publicKey ? keyId(publicKey) : '(no public key found)'}`);
  else if (!verifySnapshotSignature(signed, publicKey)) problems.push('the signature does not verify: the snapshot was altered');
  let last = 0;
  for (const line of snapshot.records) {
    const body = canonicalJson(line.record);
    if (linkHash(line.prev, line.seq, body) !== line.hash) problems.push(`record ${line.seq} does not hash to its place: it was altered`);
    const record = line.record as { sequence?: unknown; context?: { session_id?: unknown } };
    if (record.sequence !== line.seq) problems.push(`record ${line.seq} was written as ${String(record.sequence)}`);
    if (record.context?.session_id !== snapshot.session) problems.push(`record ${line.seq} is not of session ${snapshot.session}`);
    if (line.seq <= last) problems.push(`record ${line.seq} is out of order`);
    if (line.seq > snapshot.chain_position.seq) problems.push(`record ${line.seq} is after the head the snapshot names (${snapshot.chain_position.seq})`);
    const stored = chain?.(line.seq);
    if (stored !== undefined && stored !== line.hash) problems.push(`record ${line.seq} is no longer the one in the store`);
    last = line.seq;
  }
  return { ok: problems.length === 0, records: snapshot.records.length, problems };
}
