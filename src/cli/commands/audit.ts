/**
 * `guardrail audit verify|export|query|tail`: the auditor's and the incident responder's view
 * of a store. Every command opens the store read-only; none needs the gateway to run.
 */
import { createWriteStream, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { defaultAuditDir } from '../../config/data-dir.ts';
import { AuditStore, exportLine, type ChainRow, type SignedSnapshot } from '../../audit/store.ts';
import { publicKeyOf, readExport, readSeals, verifyChain, verifySnapshot, verifyStore, type Verification } from '../../audit/verify.ts';
import { UsageError } from '../errors.ts';

export interface VerifyOptions {
  readonly store?: string;
  /** Verify an export (JSON lines from `audit export`) instead of a store. */
  readonly export?: string;
  readonly publicKey?: string;
  /** Verify a forensic snapshot (`audit snapshot`, or one the gateway took on an alert). */
  readonly snapshot?: string;
  /** Seals kept in a second place (the `export_seals` file). */
  readonly seals?: string;
  readonly json?: boolean;
  readonly out?: NodeJS.WritableStream;
}

export function auditVerify(options: VerifyOptions): number {
  const out = options.out ?? process.stdout;
  if (options.snapshot) return verifySnapshotFile(options.snapshot, options, out);
  const exported = options.seals ? readSeals(options.seals) : [];
  let result: Verification;
  if (options.export) {
    const { rows, seals, prunes } = readExport(options.export);
    const key = publicKeyOf('', options.publicKey ?? missing('--public-key is needed to check the seals of an export'));
    result = verifyChain(rows, seals, key, exported, prunes);
  } else {
    const dir = options.store ?? defaultAuditDir();
    const store = open(dir);
    try {
      result = verifyStore(store, { publicKey: publicKeyOf(dir, options.publicKey), exported });
    } finally {
      store.close();
    }
  }
  if (options.json) out.write(`${JSON.stringify(result)}\n`);
  else {
    out.write(`${result.records} records, ${result.seals} seals${result.unsealed ? `, ${result.unsealed} records after the last seal` : ''}${result.prunedUpTo ? `, records up to ${result.prunedUpTo} removed by retention` : ''}\n`);
    if (result.ok) out.write('ok: every record is chained and every seal is signed and matches\n');
    for (const b of result.breaks) out.write(`BROKEN at ${b.seq} (${b.kind}): ${b.detail}\n`);
  }
  return result.ok ? 0 : 1;
}

/**
 * A snapshot's signature and records; with the store at hand (given, or the default one when
 * it exists), also that each record is still the one in the chain.
 */
function verifySnapshotFile(file: string, options: VerifyOptions, out: NodeJS.WritableStream): number {
  let signed: SignedSnapshot;
  try {
    signed = JSON.parse(readFileSync(file, 'utf8')) as SignedSnapshot;
  } catch (error) {
    throw new UsageError(`cannot read the snapshot ${file}: ${(error as Error).message}`);
  }
  const dir = options.store ?? defaultAuditDir();
  const store = existsSync(join(dir, 'audit.db')) ? new AuditStore({ dir, readonly: true }) : undefined;
  try {
    const key = publicKeyOf(store ? dir : '', options.publicKey ?? (store ? undefined : missing('--public-key is needed when no store is at hand')));
    const result = verifySnapshot(signed, key, store ? (seq) => store.hashAt(seq) : undefined);
    if (options.json) out.write(`${JSON.stringify(result)}\n`);
    else {
      const s = signed.snapshot;
      out.write(`snapshot ${s.id} (${s.trigger}, ${s.timestamp}): session ${s.session}, ${result.records} records, chain head ${s.chain_position.seq}${store ? `, checked against ${dir}` : ''}\n`);
      if (result.ok) out.write('ok: signed by the store\'s key, and every record hashes to its place\n');
      for (const problem of result.problems) out.write(`BROKEN: ${problem}\n`);
    }
    return result.ok ? 0 : 1;
  } finally {
    store?.close();
  }
}

/** `guardrail audit snapshot`: one session's records, signed, to a file or stdout. */
export function auditSnapshot(options: { store?: string; session?: string; out?: string; stdout?: NodeJS.WritableStream }): number {
  const session = options.session ?? missing('audit snapshot needs --session ID');
  const store = open(options.store ?? defaultAuditDir());
  try {
    const signed = store.snapshot({ session, trigger: 'request', reason: 'requested with guardrail audit snapshot' });
    if (signed.snapshot.records.length === 0) throw new UsageError(`no records of session ${session} in the store`);
    const text = `${JSON.stringify(signed)}\n`;
    if (options.out) writeFileSync(options.out, text, { mode: 0o600 });
    else (options.stdout ?? process.stdout).write(text);
    return 0;
  } finally {
    store.close();
  }
}

/** JSON lines: one `{ seq, prev, hash, record }` per record, then one `{ seal }` per seal and one `{ prune }` per retention entry. */
export function auditExport(options: { store?: string; out?: string; stdout?: NodeJS.WritableStream }): Promise<number> {
  const dir = options.store ?? defaultAuditDir();
  const store = open(dir);
  const out = options.out ? createWriteStream(options.out, { mode: 0o600 }) : (options.stdout ?? process.stdout);
  try {
    for (const row of store.rows()) out.write(`${JSON.stringify(exportLine(row))}\n`);
    for (const seal of store.seals()) out.write(`${JSON.stringify({ seal })}\n`);
    for (const prune of store.prunes()) out.write(`${JSON.stringify({ prune })}\n`);
  } finally {
    store.close();
  }
  return new Promise((resolve) => (options.out ? (out as NodeJS.WritableStream & { end(cb: () => void): void }).end(() => resolve(0)) : resolve(0)));
}

export interface QueryOptions {
  readonly store?: string;
  readonly since?: string;
  readonly until?: string;
  readonly session?: string;
  readonly server?: string;
  readonly tool?: string;
  readonly decision?: string;
  readonly limit?: number;
  readonly format?: 'json' | 'table';
  readonly out?: NodeJS.WritableStream;
}

export function auditQuery(options: QueryOptions): number {
  const store = open(options.store ?? defaultAuditDir());
  try {
    const rows = store.query({
      ...(options.since ? { since: isoTime(options.since) } : {}),
      ...(options.until ? { until: isoTime(options.until) } : {}),
      ...(options.session ? { session: options.session } : {}),
      ...(options.server ? { server: options.server } : {}),
      ...(options.tool ? { tool: options.tool } : {}),
      ...(options.decision ? { decision: options.decision } : {}),
      ...(options.limit ? { limit: options.limit } : {}),
    });
    print(rows, options.format ?? 'json', options.out ?? process.stdout);
  } finally {
    store.close();
  }
  return 0;
}

/** The last `lines` records; with `follow`, then every new one as it is written, until `signal` aborts. */
export async function auditTail(options: { store?: string; lines?: number; follow?: boolean; format?: 'json' | 'table'; out?: NodeJS.WritableStream; signal?: AbortSignal; pollMs?: number }): Promise<number> {
  const dir = options.store ?? defaultAuditDir();
  const out = options.out ?? process.stdout;
  const format = options.format ?? 'json';
  let store = open(dir);
  const head = store.head.seq;
  let after = Math.max(0, head - (options.lines ?? 10));
  const emit = () => {
    const rows = store.query({ afterSeq: after });
    if (rows.length > 0) after = rows.at(-1)!.seq;
    print(rows, format, out);
  };
  emit();
  while (options.follow && !options.signal?.aborted) {
    await new Promise((r) => setTimeout(r, options.pollMs ?? 500));
    // A read-only connection sees the writer's commits when it opens a new read.
    store.close();
    store = open(dir);
    emit();
  }
  store.close();
  return 0;
}

function print(rows: readonly ChainRow[], format: 'json' | 'table', out: NodeJS.WritableStream): void {
  for (const row of rows) {
    const r = JSON.parse(row.body) as Record<string, unknown>;
    if (format === 'json') out.write(`${row.body}\n`);
    else {
      const context = (r.context ?? {}) as { session_id?: string };
      out.write(
        [String(row.seq).padStart(7), String(r.timestamp), String(r.decision).padEnd(9), String(r.operation).padEnd(22), String(r.server ?? '-').padEnd(12), String(r.resource ?? '-').padEnd(24), String(r.classification ?? '').padEnd(10), String(context.session_id ?? '').slice(0, 8), String(r.reason ?? '')].join('  ') +
          '\n',
      );
    }
  }
}

function open(dir: string): AuditStore {
  if (!existsSync(dir)) throw new UsageError(`no audit data directory at ${dir}`);
  return new AuditStore({ dir, readonly: true });
}

function isoTime(value: string): string {
  const relative = /^(\d+)\s*(s|m|h|d)$/.exec(value);
  if (relative) {
    const ms = Number(relative[1]) * { s: 1e3, m: 6e4, h: 3.6e6, d: 8.64e7 }[relative[2] as 's' | 'm' | 'h' | 'd'];
    return new Date(Date.now() - ms).toISOString();
  }
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) throw new UsageError(`not a time: "${value}" (use ISO 8601, or 30m, 2h, 1d for "ago")`);
  return date.toISOString();
}

function missing(message: string): never {
  throw new UsageError(message);
}
