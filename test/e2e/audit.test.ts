/**
 * The audit trail end to end: the gateway (a real CLI process) in front of the test fixture
 * server writes a hash-chained, sealed store; `guardrail audit …` (real processes) verifies,
 * queries and exports it; SQL edits to the store are named by sequence number; a gateway
 * killed with SIGKILL during a burst leaves a store that verifies, and a restarted gateway
 * continues its chain.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DatabaseSync } from 'node:sqlite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, FIXTURE, NODE, workspace, type Workspace } from '../helpers/gateway.ts';
import { RawStdio } from '../helpers/raw.ts';

function audit(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(NODE, [CLI, 'audit', ...args], { encoding: 'utf8', timeout: 30_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('the audit store of a running gateway', () => {
  let dir: string;
  let ws: Workspace;
  let store: string;
  let seals: string;
  let hook: Server;
  const posted: string[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'guardrail-audit-e2e-'));
    store = join(dir, 'audit');
    seals = join(dir, 'seals.jsonl');
    // A second place over HTTP: a webhook on loopback that keeps what it is sent.
    hook = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        posted.push(body);
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
    const hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/seals`;
    ws = workspace({
      upstreams: { fx: { command: NODE, args: [FIXTURE], policy: { tools: { deny: ['delete_file'] } } } },
      audit: { dir: store, seal_every: 5, export_seals: [seals, { url: hookUrl }] },
      events: { sinks: [{ type: 'audit', min_severity: 'medium' }] },
    });
    const raw = new RawStdio(['--config', ws.config]);
    await raw.initialize();
    for (let i = 0; i < 12; i++) raw.send({ jsonrpc: '2.0', id: i, method: 'tools/call', params: { name: 'echo', arguments: { text: `call ${i}` } } });
    raw.send({ jsonrpc: '2.0', id: 'denied', method: 'tools/call', params: { name: 'delete_file', arguments: { path: '/tmp/x' } } });
    for (let i = 0; i < 12; i++) await raw.response(i);
    expect(((await raw.response('denied')) as { error: { code: number } }).error.code).toBe(-32010);
    expect(await raw.end()).toBe(0);
  });

  afterAll(() => {
    hook?.close();
    ws?.remove();
    rmSync(dir, { recursive: true, force: true });
  });

  it('verifies, with seals in the store and in the second places (a file and a webhook)', () => {
    const r = audit('verify', '--store', store, '--seals', seals, '--json');
    expect(r.status, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout) as { ok: boolean; records: number; seals: number; unsealed: number };
    expect(result.ok).toBe(true);
    // initialize, the 13 calls and their answers at least; sealed every 5 and on close.
    expect(result.records).toBeGreaterThanOrEqual(14);
    expect(result.unsealed).toBe(0);
    const exported = readFileSync(seals, 'utf8').trim().split('\n');
    expect(exported.length).toBe(result.seals / 2);
    // The webhook got the same seals; saved as lines, they check the store like the file does.
    const bySeq = (lines: string[]) => lines.map((l) => JSON.parse(l) as { seq: number }).sort((a, b) => a.seq - b.seq);
    expect(bySeq(posted)).toEqual(bySeq(exported));
    const received = join(dir, 'received-seals.jsonl');
    writeFileSync(received, posted.join('\n'));
    expect(audit('verify', '--store', store, '--seals', received).status).toBe(0);
  });

  it('answers queries by decision and tool, as JSON lines or a table', () => {
    const denied = audit('query', '--store', store, '--decision', 'deny');
    expect(denied.status).toBe(0);
    const records = denied.stdout.trim().split('\n').map((l) => JSON.parse(l) as { operation: string; resource: string; rule: string; context: { session_id: string } });
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ operation: 'tools/call', resource: 'delete_file', rule: 'request-filter.tool-denied' });
    const table = audit('query', '--store', store, '--tool', 'echo', '--format', 'table', '--limit', '3');
    expect(table.stdout.trim().split('\n')).toHaveLength(3);
    expect(table.stdout).toContain('tools/call');
  });

  it('keeps security events in the same chain, as internal records', () => {
    const r = audit('query', '--store', store, '--decision', 'event');
    const events = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { flow_type: string; operation: string; severity: string; rule: string });
    expect(events).toEqual([expect.objectContaining({ flow_type: 'internal', operation: 'event.security.request.denied', severity: 'medium', rule: 'request-filter.tool-denied' })]);
  });

  it('exports JSON lines that verify away from the gateway, with the public key', () => {
    const out = join(dir, 'export.jsonl');
    expect(audit('export', '--store', store, '--out', out).status).toBe(0);
    const lines = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { seq?: number; hash?: string; seal?: unknown });
    expect(lines[0]).toMatchObject({ seq: 1 });
    expect(lines.some((l) => l.seal !== undefined)).toBe(true);
    const r = audit('verify', '--export', out, '--public-key', join(store, 'seal-key.pub.pem'));
    expect(r.status, r.stdout).toBe(0);
  });

  it('signs one session\'s records into a forensic snapshot that verifies alone, and names tampering in it', () => {
    const denied = JSON.parse(audit('query', '--store', store, '--decision', 'deny').stdout.trim()) as { context: { session_id: string } };
    const session = denied.context.session_id;
    const file = join(dir, 'snapshot.json');
    const taken = audit('snapshot', '--store', store, '--session', session, '--out', file);
    expect(taken.status, taken.stderr).toBe(0);
    const signed = JSON.parse(readFileSync(file, 'utf8')) as { snapshot: { trigger: string; records: { seq: number; record: { decision: string } }[] } };
    expect(signed.snapshot.trigger).toBe('request');
    expect(signed.snapshot.records.length).toBeGreaterThanOrEqual(14);
    // Alone, with only the public key (no store at hand).
    const alone = audit('verify', '--snapshot', file, '--store', join(dir, 'nowhere'), '--public-key', join(store, 'seal-key.pub.pem'));
    expect(alone.status, alone.stdout).toBe(0);
    expect(alone.stdout).toContain('ok: signed');
    // A record's decision changed: its hash no longer matches, nor does the signature.
    const tampered = join(dir, 'snapshot-tampered.json');
    writeFileSync(tampered, readFileSync(file, 'utf8').replace('"decision":"deny"', '"decision":"allow"'));
    const broken = audit('verify', '--snapshot', tampered, '--store', store);
    expect(broken.status).toBe(1);
    expect(broken.stdout).toContain('the signature does not verify');
    expect(broken.stdout).toMatch(/BROKEN: record \d+ does not hash to its place/);
    expect(audit('snapshot', '--store', store, '--session', 'no-such-session').status).toBe(2);
  });

  it('names an edited record by its sequence number and exits 1', () => {
    const copy = join(dir, 'tampered');
    spawnSync('cp', ['-r', store, copy]);
    const db = new DatabaseSync(join(copy, 'audit.db'));
    db.prepare(`UPDATE records SET body = replace(body, '"deny"', '"allow"') WHERE decision = 'deny'`).run();
    const seq = Number((db.prepare(`SELECT seq FROM records WHERE decision = 'deny'`).get() as { seq: number }).seq);
    db.close();
    const r = audit('verify', '--store', copy);
    expect(r.status).toBe(1);
    expect(r.stdout).toContain(`BROKEN at ${seq} (edited)`);
  });
});

describe('audit command usage', () => {
  it('exits 2 with a message for a missing subcommand, a missing store or a bad option', () => {
    expect(audit()).toMatchObject({ status: 2, stderr: expect.stringContaining('verify, export, query, tail or snapshot') as unknown });
    expect(audit('verify', '--store', '/nonexistent/guardrail-audit')).toMatchObject({ status: 2, stderr: expect.stringContaining('no audit data directory') as unknown });
    expect(audit('query', '--store', '/nonexistent/guardrail-audit')).toMatchObject({ status: 2, stderr: expect.stringContaining('no audit data directory') as unknown });
    expect(audit('query', '--store', '.', '--format', 'xml')).toMatchObject({ status: 2, stderr: expect.stringContaining('json or table') as unknown });
  });
});

describe('a gateway killed with SIGKILL during a burst', () => {
  let dir: string;
  let ws: Workspace;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'guardrail-audit-kill-'));
    ws = workspace({ upstreams: { fx: { command: NODE, args: [FIXTURE] } }, audit: { dir: join(dir, 'audit'), seal_every: 50 } });
  });

  afterAll(() => {
    ws?.remove();
    rmSync(dir, { recursive: true, force: true });
  });

  it('leaves a store that verifies, and a restarted gateway continues the chain', async () => {
    const store = join(dir, 'audit');
    const first = new RawStdio(['--config', ws.config]);
    await first.initialize();
    for (let i = 0; i < 2000; i++) first.send({ jsonrpc: '2.0', id: i, method: 'tools/call', params: { name: 'echo', arguments: { text: `burst ${i}` } } });
    await first.response(300);
    first.process.kill('SIGKILL');
    await new Promise((r) => first.process.once('exit', r));
    // The fixture server was the gateway's child, in its process group: gone with it or soon after.
    expect(existsSync(join(store, 'audit.db'))).toBe(true);
    const afterKill = audit('verify', '--store', store, '--json');
    expect(afterKill.status, afterKill.stdout).toBe(0);
    const before = JSON.parse(afterKill.stdout) as { records: number; ok: boolean };
    expect(before.records).toBeGreaterThan(0);

    const second = new RawStdio(['--config', ws.config]);
    await second.initialize();
    second.send({ jsonrpc: '2.0', id: 'again', method: 'tools/call', params: { name: 'echo', arguments: { text: 'after restart' } } });
    await second.response('again');
    expect(await second.end()).toBe(0);
    const afterRestart = audit('verify', '--store', store, '--json');
    expect(afterRestart.status, afterRestart.stdout).toBe(0);
    expect((JSON.parse(afterRestart.stdout) as { records: number }).records).toBeGreaterThan(before.records);
  });
});

describe('block mode: nothing is forwarded unrecorded', () => {
  let dir: string;
  let ws: Workspace;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'guardrail-audit-block-'));
    ws = workspace({ upstreams: { fx: { command: NODE, args: [FIXTURE] } }, audit: { dir: join(dir, 'audit'), on_overload: 'block' } });
  });

  afterAll(() => {
    ws?.remove();
    rmSync(dir, { recursive: true, force: true });
  });

  it('has the request and the answer of every call the client saw answered, after SIGKILL', async () => {
    const store = join(dir, 'audit');
    const raw = new RawStdio(['--config', ws.config]);
    await raw.initialize();
    for (let i = 0; i < 1000; i++) raw.send({ jsonrpc: '2.0', id: i, method: 'tools/call', params: { name: 'echo', arguments: { text: `burst ${i}` } } });
    await raw.response(200);
    raw.process.kill('SIGKILL');
    await new Promise((r) => raw.process.once('exit', r));
    const answered = raw.messages.filter((m) => typeof m.id === 'number' && 'result' in m).map((m) => String(m.id));
    answered.push('200');
    const verified = audit('verify', '--store', store, '--json');
    expect(verified.status, verified.stdout).toBe(0);
    const records = audit('query', '--store', store).stdout.trim().split('\n').map((l) => JSON.parse(l) as { flow_type: string; context: { correlation_id?: string } });
    const requests = new Set(records.filter((r) => r.flow_type === 'request').map((r) => r.context.correlation_id));
    const responses = new Set(records.filter((r) => r.flow_type === 'response').map((r) => r.context.correlation_id));
    const missing = answered.filter((id) => !requests.has(id) || !responses.has(id));
    expect(missing).toEqual([]);
  });
});

describe('two gateways sharing one store', () => {
  let dir: string;
  let ws: Workspace;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'guardrail-audit-shared-'));
    ws = workspace({ upstreams: { fx: { command: NODE, args: [FIXTURE] } }, audit: { dir: join(dir, 'audit'), seal_every: 40 } });
  });

  afterAll(() => {
    ws?.remove();
    rmSync(dir, { recursive: true, force: true });
  });

  it('write one chain together (two clients starting the same config), and it verifies', async () => {
    const store = join(dir, 'audit');
    const gateways = [new RawStdio(['--config', ws.config]), new RawStdio(['--config', ws.config])];
    await Promise.all(gateways.map((g) => g.initialize()));
    const calls = 300;
    for (let i = 0; i < calls; i++) for (const g of gateways) g.send({ jsonrpc: '2.0', id: i, method: 'tools/call', params: { name: 'echo', arguments: { text: `shared ${i}` } } });
    for (const g of gateways) for (let i = 0; i < calls; i++) await g.response(i);
    expect(await Promise.all(gateways.map((g) => g.end()))).toEqual([0, 0]);

    const r = audit('verify', '--store', store, '--json');
    expect(r.status, r.stdout).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: true, unsealed: 0 });
    const records = audit('query', '--store', store, '--tool', 'echo')
      .stdout.trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { flow_type: string; context: { instance: string } });
    const requests = records.filter((rec) => rec.flow_type === 'request');
    expect(requests).toHaveLength(2 * calls);
    // Both processes wrote, and their records say which one did.
    const instances = new Set(requests.map((rec) => rec.context.instance));
    expect([...instances].map((i) => Number(i.split('@')[0])).sort()).toEqual(gateways.map((g) => g.process.pid).sort());
  });
});

describe('the audit store is on by default', () => {
  let dir: string;
  let ws: Workspace;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'guardrail-audit-default-'));
  });

  afterAll(() => {
    ws?.remove();
    rmSync(dir, { recursive: true, force: true });
  });

  const env = () => ({ ...process.env, GUARDRAIL_DATA_DIR: join(dir, 'data') });
  const cli = (...args: string[]) => spawnSync(NODE, [CLI, ...args], { encoding: 'utf8', timeout: 30_000, env: env() });

  it('in the user\'s data directory when the config names none, found there by the audit commands', async () => {
    ws = workspace({ upstreams: { fx: { command: NODE, args: [FIXTURE] } } });
    const raw = new RawStdio(['--config', ws.config], { env: env() });
    await raw.initialize();
    raw.send({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', arguments: { text: 'by default' } } });
    await raw.response(1);
    expect(await raw.end()).toBe(0);
    expect(existsSync(join(dir, 'data', 'audit', 'audit.db'))).toBe(true);
    // No --store: the commands read the same default store.
    const verified = cli('audit', 'verify', '--json');
    expect(verified.status, verified.stderr).toBe(0);
    expect(JSON.parse(verified.stdout)).toMatchObject({ ok: true, unsealed: 0 });
    const query = cli('audit', 'query', '--tool', 'echo');
    expect(query.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { flow_type: string }).flow_type)).toContain('request');
    // --config: the store that config writes to.
    expect(cli('audit', 'query', '--config', ws.config, '--tool', 'echo').stdout).toBe(query.stdout);
  });

  it('is off with audit: false, and the audit commands say so for that config', async () => {
    const off = workspace({ upstreams: { fx: { command: NODE, args: [FIXTURE] } }, audit: false });
    try {
      const other = join(dir, 'off');
      const raw = new RawStdio(['--config', off.config], { env: { ...process.env, GUARDRAIL_DATA_DIR: other } });
      await raw.initialize();
      expect(await raw.end()).toBe(0);
      expect(existsSync(other)).toBe(false);
      const r = cli('audit', 'verify', '--config', off.config);
      expect(r.status).toBe(2);
      expect(r.stderr).toContain('audit: false');
    } finally {
      off.remove();
    }
  });

  it('refuses to start, saying what to do, when the store cannot be opened', () => {
    const blocked = join(dir, 'a-file');
    writeFileSync(blocked, 'not a directory');
    const bad = workspace({ upstreams: { fx: { command: NODE, args: [FIXTURE] } }, audit: { dir: join(blocked, 'audit') } });
    try {
      const r = spawnSync(NODE, [CLI, 'run', '--config', bad.config], { encoding: 'utf8', timeout: 30_000, input: '' });
      expect(r.status).not.toBe(0);
      expect(r.stderr).toContain(`cannot open the audit store in ${join(blocked, 'audit')}`);
      expect(r.stderr).toContain('audit: false');
    } finally {
      bad.remove();
    }
  });
});
