/**
 * The decision log: one JSON line per recorded decision, written in batches (one write per turn
 * of the event loop), nothing lost at close, only refusals with `include: denials`, and a file
 * sink that appends.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { createDecisionLog, type DecisionRecord } from '../../src/audit/decision-log.ts';
import { decision } from '../../src/pipeline/decision.ts';
import { silentLogger } from '../../src/util/logger.ts';

class Capture extends Writable {
  readonly writes: string[] = [];
  override _write(chunk: Buffer, _encoding: string, done: () => void): void {
    this.writes.push(chunk.toString());
    done();
  }
}

const allow = (id: number): DecisionRecord => ({ session: 's', direction: 'client-to-server', kind: 'request', method: 'tools/call', id, server: 'files', target: 'read_file', verdict: 'allow', decisions: [] });
const deny = (id: number): DecisionRecord => ({
  ...allow(id),
  verdict: 'deny',
  decisions: [decision('deny', 'request-filter', 'request-control', 'request-filter.tool-denied', 'the tool is not allowed', { tool: 'write_file' })],
});
const tick = () => new Promise((resolve) => setImmediate(resolve));
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('decision log', () => {
  it('writes the records of one turn of the event loop in one write, one JSON line each', async () => {
    const out = new Capture();
    const log = createDecisionLog({ sink: 'stderr', path: undefined, include: 'all' }, silentLogger, out);
    for (let id = 1; id <= 5; id++) log.record(allow(id));
    expect(out.writes).toEqual([]);
    await tick();
    expect(out.writes).toHaveLength(1);
    const lines = out.writes[0]!.trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => l.id)).toEqual([1, 2, 3, 4, 5]);
    expect(lines.map((l) => l.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(lines[0]).toMatchObject({ type: 'guardrail.decision', session: 's', method: 'tools/call', verdict: 'allow' });
    log.record(allow(6));
    await tick();
    expect(out.writes).toHaveLength(2);
    await log.close();
  });

  it('writes what is pending when closed', async () => {
    const out = new Capture();
    const log = createDecisionLog({ sink: 'stderr', path: undefined, include: 'all' }, silentLogger, out);
    log.record(deny(1));
    await log.close();
    expect(out.writes.join('')).toContain('"rule":"request-filter.tool-denied"');
    await tick();
    expect(out.writes).toHaveLength(1);
  });

  it('records only refusals and transformations with include: denials', async () => {
    const out = new Capture();
    const log = createDecisionLog({ sink: 'stderr', path: undefined, include: 'denials' }, silentLogger, out);
    log.record(allow(1));
    log.record(deny(2));
    log.record({ ...allow(3), verdict: 'transform' });
    await log.close();
    const ids = out.writes.join('').trimEnd().split('\n').map((l) => (JSON.parse(l) as { id: number }).id);
    expect(ids).toEqual([2, 3]);
  });

  it('appends to a file sink, creating its folder', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'guardrail-log-'));
    dirs.push(dir);
    const path = join(dir, 'nested', 'decisions.jsonl');
    for (const id of [1, 2]) {
      const log = createDecisionLog({ sink: 'file', path, include: 'all' }, silentLogger);
      log.record(deny(id));
      await log.close();
    }
    const ids = readFileSync(path, 'utf8').trimEnd().split('\n').map((l) => (JSON.parse(l) as { id: number }).id);
    expect(ids).toEqual([1, 2]);
  });
});
