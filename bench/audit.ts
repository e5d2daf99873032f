/**
 * `npm run bench` part 3: what recording costs. On the request path the session hands the
 * recorder its entry, which only queues it (target <= 5 µs p50 per call); at the end of the
 * turn the entries become records and the store hashes, chains and commits them to SQLite with
 * an fsync per batch (µs per record, and records per second sustained).
 *
 *   node bench/audit.ts [--quick]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAuditRecorder, flowRecord } from '../src/audit/audit-recorder.ts';
import type { DecisionRecord } from '../src/audit/decision-log.ts';
import { AuditStore } from '../src/audit/store.ts';
import { decision } from '../src/pipeline/decision.ts';
import { silentLogger } from '../src/util/logger.ts';
import { quantile } from './stats.ts';

const quick = process.argv.includes('--quick');
const entry: DecisionRecord = {
  session: '3f6c1a52-9d1e-4c6b-8a55-0b1c2d3e4f50',
  direction: 'client-to-server',
  kind: 'request',
  method: 'tools/call',
  id: 42,
  server: 'files',
  target: 'read_text_file',
  verdict: 'allow',
  decisions: [decision('allow', 'flow', 'information-flow', 'flow.classified', 'INTERNAL data to files (read_text_file)', { classification: 'INTERNAL', detectors: { 'ip-address': 1 } })],
};

// The real recorder: on the request path `record` only queues the entry; at the end of the turn
// the entries become records (keyed hashes of the arguments) and one transaction writes them.
const message = { jsonrpc: '2.0' as const, id: 42, method: 'tools/call', params: { name: 'read_text_file', arguments: { path: '/srv/data/notes/today.md', head: 20 } } };
const recorderDir = mkdtempSync(join(tmpdir(), 'guardrail-bench-recorder-'));
const recorder = createAuditRecorder(
  { dir: recorderDir, sealEvery: 1e9, sealIntervalMs: 3_600_000, exportSeals: undefined, queue: 1e9, onOverload: 'drop-with-alert', blockTimeoutMs: 1000, maxAgeMs: undefined, maxBytes: undefined },
  silentLogger,
);
const perCall: number[] = [];
const perRecordOff: number[] = [];
for (let batch = 0; batch < (quick ? 30 : 150); batch++) {
  const start = performance.now();
  for (let i = 0; i < 1000; i++) recorder.record(entry, { message });
  perCall.push(((performance.now() - start) / 1000) * 1000);
  const flushStart = performance.now();
  await new Promise((r) => setImmediate(r));
  perRecordOff.push(((performance.now() - flushStart) / 1000) * 1000);
}
await recorder.close();
rmSync(recorderDir, { recursive: true, force: true });
console.log(`audit: recording on the request path ${quantile(perCall, 0.5).toFixed(2)} µs p50 per call (target <= 5 µs)`);
console.log(`audit: writing at the end of the turn ${quantile(perRecordOff, 0.5).toFixed(1)} µs p50 per record (hashes, chain, SQLite, fsync per batch of 1000)`);

// Off the request path: sustained appends in batches, each batch one fsync'd transaction.
const dir = mkdtempSync(join(tmpdir(), 'guardrail-bench-audit-'));
const store = new AuditStore({ dir });
for (const size of [64, 256, 1024]) {
  const batch = Array.from({ length: size }, () => flowRecord(entry));
  const total = quick ? 20_000 : 100_000;
  const start = performance.now();
  for (let written = 0; written < total; written += size) store.append(batch);
  const seconds = (performance.now() - start) / 1000;
  console.log(`audit: ${String(size).padStart(4)} records per batch: ${Math.round(total / seconds).toLocaleString('en')} records/s sustained to SQLite (fsync per batch)`);
}
const sealStart = performance.now();
store.seal();
console.log(`audit: one seal (Ed25519) ${(performance.now() - sealStart).toFixed(1)} ms`);
store.close();
rmSync(dir, { recursive: true, force: true });
