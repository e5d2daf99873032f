/**
 * `npm run bench` part 3: what recording costs. On the request path the session hands the
 * recorder its entry, which only queues it (target <= 5 µs p50 per call); at the end of the
 * turn the entries become records on the main thread and go to the writer thread, which
 * hashes, chains and commits them to SQLite with an fsync per batch (µs per record on the main
 * thread, and records per second sustained).
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
// the entries become records (keyed hashes of the arguments) and go to the writer thread, which
// chains them and commits them (one transaction, one fsync, per batch).
const message = { jsonrpc: '2.0' as const, id: 42, method: 'tools/call', params: { name: 'read_text_file', arguments: { path: '/srv/data/notes/today.md', head: 20 } } };
const recorderDir = mkdtempSync(join(tmpdir(), 'guardrail-bench-recorder-'));
const recorder = await createAuditRecorder(
  { dir: recorderDir, sealEvery: 1e9, sealIntervalMs: 3_600_000, exportSeals: undefined, sealWebhooks: [], queue: 1e9, onOverload: 'drop-with-alert', blockTimeoutMs: 1000, maxAgeMs: undefined, maxBytes: undefined, archive: undefined, snapshotOn: [] },
  silentLogger,
);
const drained = async () => {
  while (recorder.pending > 0) await new Promise((r) => setTimeout(r, 1));
};
const perCall: number[] = [];
const batches = quick ? 30 : 150;
const sustainedStart = performance.now();
// The main thread's busy time (event-loop utilisation), less the request path's share: what
// building the records and handing them over costs the thread that relays messages.
const eluStart = performance.eventLoopUtilization();
let requestPathMs = 0;
for (let batch = 0; batch < batches; batch++) {
  const start = performance.now();
  for (let i = 0; i < 1000; i++) recorder.record(entry, { message });
  const took = performance.now() - start;
  requestPathMs += took;
  perCall.push((took / 1000) * 1000);
  await new Promise((r) => setImmediate(r));
  // Like a gateway under load: new records keep coming while the writer writes (group commit).
  if (recorder.pending > 4000) await drained();
}
await drained();
const sustained = (batches * 1000) / ((performance.now() - sustainedStart) / 1000);
const busyMs = performance.eventLoopUtilization(eluStart).active - requestPathMs;
await recorder.close();
rmSync(recorderDir, { recursive: true, force: true });
console.log(`audit: recording on the request path ${quantile(perCall, 0.5).toFixed(2)} µs p50 per call (target <= 5 µs)`);
console.log(`audit: main thread off the request path ${((busyMs / (batches * 1000)) * 1000).toFixed(1)} µs per record (record built, arguments hashed, handed to the writer thread)`);
console.log(`audit: through the recorder ${Math.round(sustained).toLocaleString('en')} records/s sustained (batches of 1000; chain and SQLite on the writer thread, no fsync as in drop-with-alert mode)`);

// The store alone (what the writer thread does): sustained appends in batches, each batch one
// fsync'd transaction.
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
