/**
 * Security events end to end: the gateway (a real CLI process) in front of the test fixture
 * server, with an OCSF file sink. A secret in a tool result, then a call to a tool marked as
 * egress, raise the built-in critical correlation alert; five refused calls raise the high one.
 */
import { randomInt } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, eventually, FIXTURE, NODE, workspace, type Workspace } from '../helpers/gateway.ts';
import { RawStdio } from '../helpers/raw.ts';

/** OCSF events from a sink file, as written so far. */
function readEvents<T>(file: string): T[] {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as T);
  } catch {
    return [];
  }
}

/** A gateway (real CLI process) with an OCSF file sink and its own audit store, in a fresh directory. */
async function gatewayWithEvents(prefix: string, config: Record<string, unknown>): Promise<{ dir: string; file: string; ws: Workspace; raw: RawStdio }> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const file = join(dir, 'events.jsonl');
  const ws = workspace({ ...config, audit: { dir: join(dir, 'audit') }, events: { sinks: [{ type: 'file', path: file, format: 'ocsf' }] } });
  const raw = new RawStdio(['--config', ws.config]);
  await raw.initialize();
  return { dir, file, ws, raw };
}

describe('security events from a running gateway', () => {
  let dir: string;
  let ws: Workspace;
  let raw: RawStdio;
  let file: string;
  const key = `AKIA${Array.from({ length: 16 }, () => 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'[randomInt(32)]).join('')}`;
  type Ocsf = { class_uid: number; severity_id: number; metadata: { event_code: string }; unmapped: { rule?: string }; actor?: { session: { uid: string } } };
  const events = () => readEvents<Ocsf>(file);

  beforeAll(async () => {
    ({ dir, file, ws, raw } = await gatewayWithEvents('guardrail-events-', {
      upstreams: { fx: { command: NODE, args: [FIXTURE], policy: { tools: { deny: ['delete_file'] } } } },
      flow: { egress: [{ server: 'fx', tools: ['write_file'] }] },
    }));
  });

  afterAll(async () => {
    await raw?.end();
    ws?.remove();
    rmSync(dir, { recursive: true, force: true });
  });

  it('raises a critical alert when a secret is followed by an egress call in the same session', async () => {
    raw.send({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', arguments: { text: `id=${key}` } } });
    const echoed = (await raw.response(1)) as { result?: { content?: { text: string }[] } };
    expect(echoed.result?.content?.[0]?.text, JSON.stringify(echoed)).toContain('[REDACTED:aws-access-key-id]');
    raw.send({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'write_file', arguments: { path: '/tmp/out' } } });
    await raw.response(2);
    const alert = await eventually(() => events().find((e) => e.metadata.event_code === 'event.security.correlation.alert' && e.unmapped.rule === 'secret-then-egress'), 10_000, 'the alert');
    expect(alert).toMatchObject({ class_uid: 2004, severity_id: 5 });
    const codes = events().map((e) => e.metadata.event_code);
    expect(codes).toContain('event.security.data.secret_seen');
    expect(codes).toContain('event.security.flow_control.transformed');
    expect(codes).toContain('event.security.flow_control.egress');
    // The alert preserved the session's records in a signed forensic snapshot, egress call included.
    const snapshots = join(dir, 'audit', 'snapshots');
    const taken = await eventually(() => (existsSync(snapshots) ? readdirSync(snapshots)[0] : undefined), 10_000, 'the snapshot');
    const snapshot = JSON.parse(readFileSync(join(snapshots, taken), 'utf8')) as { snapshot: { trigger: string; reason: string; records: { record: { resource?: string } }[] } };
    expect(snapshot.snapshot).toMatchObject({ trigger: 'incident', reason: expect.stringContaining('secret-then-egress') as unknown });
    expect(snapshot.snapshot.records.map((r) => r.record.resource)).toEqual(expect.arrayContaining(['echo', 'write_file']));
    const verified = spawnSync(NODE, [CLI, 'audit', 'verify', '--snapshot', join(snapshots, taken), '--store', join(dir, 'audit')], { encoding: 'utf8' });
    expect(verified.status, verified.stdout).toBe(0);
  });

  it('raises a high alert after five refused calls', async () => {
    for (let i = 10; i < 15; i++) raw.send({ jsonrpc: '2.0', id: i, method: 'tools/call', params: { name: 'delete_file', arguments: { path: '/tmp/x' } } });
    for (let i = 10; i < 15; i++) expect(((await raw.response(i)) as { error: { code: number } }).error.code).toBe(-32010);
    const alert = await eventually(() => events().find((e) => e.unmapped.rule === 'repeated-refusals'), 10_000, 'the alert');
    expect(alert).toMatchObject({ class_uid: 2004, severity_id: 4 });
    expect(events().filter((e) => e.metadata.event_code === 'event.security.request.denied')).toHaveLength(5);
  });
});

describe('events about servers', () => {
  let dir: string;
  let ws: Workspace;
  let raw: RawStdio;
  let file: string;
  type Ocsf = { class_uid: number; activity_id: number; severity_id: number; metadata: { event_code: string }; unmapped: { detail?: Record<string, unknown> }; app?: { name: string } };
  const events = () => readEvents<Ocsf>(file);

  beforeAll(async () => {
    ({ dir, file, ws, raw } = await gatewayWithEvents('guardrail-events-servers-', {
      upstreams: { fx: { command: NODE, args: [FIXTURE, '--rug-pull'], restart: { initial_delay: 10 } } },
    }));
  });

  afterAll(async () => {
    await raw?.end();
    ws?.remove();
    rmSync(dir, { recursive: true, force: true });
  });

  it('reports a tool whose description changed after it was listed, once', async () => {
    raw.send({ jsonrpc: '2.0', id: 1, method: 'tools/list' });
    await raw.response(1);
    raw.send({ jsonrpc: '2.0', id: 2, method: 'tools/list' });
    await raw.response(2);
    expect(events().filter((e) => e.metadata.event_code === 'event.security.tool.changed')).toHaveLength(0);
    raw.send({ jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'rug_pull', arguments: {} } });
    await raw.response(3);
    for (const id of [4, 5]) {
      raw.send({ jsonrpc: '2.0', id, method: 'tools/list' });
      const listed = (await raw.response(id)) as { result: { tools: { name: string; description: string }[] } };
      // Observed, not refused: the listing passes as the server wrote it.
      expect(listed.result.tools.find((t) => t.name === 'write_file')?.description).toContain('id_rsa');
    }
    const changed = await eventually(() => events().find((e) => e.metadata.event_code === 'event.security.tool.changed'), 10_000, 'the event');
    expect(changed).toMatchObject({ class_uid: 2004, severity_id: 3, unmapped: { detail: { changes: [{ tool: 'write_file', changed: ['description'] }] } } });
    expect(events().filter((e) => e.metadata.event_code === 'event.security.tool.changed')).toHaveLength(1);
  });

  it('reports a server restart as an application lifecycle event', async () => {
    raw.send({ jsonrpc: '2.0', id: 'crash', method: 'tools/call', params: { name: 'crash', arguments: {} } });
    await raw.response('crash');
    const restarted = await eventually(() => events().find((e) => e.metadata.event_code === 'event.security.upstream.restarted'), 10_000, 'the event');
    expect(restarted).toMatchObject({ class_uid: 6002, activity_id: 5, severity_id: 2, app: { name: 'fx' }, unmapped: { detail: { attempt: 1 } } });
  });
});
