/**
 * Transparency, measured by the official MCP conformance suite: its server scenarios for both
 * revisions (2025-11-25 and 2026-07-28) run against our conformance server directly and through
 * the gateway (Streamable HTTP in front of a Streamable HTTP upstream) must give the same
 * result for every check.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONFORMANCE_SERVER, NODE, ROOT, startHttpGateway, waitReady, workspace, type RunningGateway, type Workspace } from '../helpers/gateway.ts';

const SUITE = join(ROOT, 'node_modules/@modelcontextprotocol/conformance/dist/index.js');

interface Check {
  id: string;
  name: string;
  status: string;
}

/** Runs the suite; resolves with its exit code and every check keyed by scenario, id, name and occurrence. */
function runSuite(url: URL, requirements: string, out: string): Promise<{ code: number | null; checks: Map<string, string>; log: string }> {
  return new Promise((resolve) => {
    const child = spawn(NODE, [SUITE, 'server', '--url', url.href, '--requirements', requirements, '-o', out, '--timeout', '20000'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    child.stdout.on('data', (d: Buffer) => (log += d.toString()));
    child.stderr.on('data', (d: Buffer) => (log += d.toString()));
    child.once('exit', (code) => {
      const checks = new Map<string, string>();
      for (const dir of readdirSync(out)) {
        const scenario = dir.replace(/^server-/, '').replace(/-\d{4}-\d{2}-\d{2}T[\d-]+Z$/, '');
        const seen = new Map<string, number>();
        for (const check of JSON.parse(readFileSync(join(out, dir, 'checks.json'), 'utf8')) as Check[]) {
          if (check.status === 'INFO') continue;
          const key = `${scenario} ${check.id} ${check.name}`;
          const n = (seen.get(key) ?? 0) + 1;
          seen.set(key, n);
          checks.set(`${key} #${n}`, check.status);
        }
      }
      resolve({ code, checks, log });
    });
  });
}

async function startConformanceServer(): Promise<{ url: URL; stop(): Promise<void> }> {
  const child = spawn(NODE, [CONFORMANCE_SERVER, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const url = await new Promise<URL>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening (\S+)/.exec(out);
      if (m) resolve(new URL(m[1]!));
    });
    child.once('exit', (code) => reject(new Error(`conformance server exited with ${code}`)));
  });
  return {
    url,
    stop: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

describe('the official conformance suite through the gateway', () => {
  let server: Awaited<ReturnType<typeof startConformanceServer>>;
  let ws: Workspace;
  let gateway: RunningGateway;
  const out = mkdtempSync(join(tmpdir(), 'guardrail-conformance-'));

  beforeAll(async () => {
    server = await startConformanceServer();
    ws = workspace({ upstreams: { conformance: { url: server.url.href } } });
    gateway = await startHttpGateway(['--config', ws.config]);
    await waitReady(gateway.url);
  });

  afterAll(async () => {
    await gateway?.stop();
    await server?.stop();
    ws?.remove();
    rmSync(out, { recursive: true, force: true });
  });

  for (const requirements of ['2025-11-25', '2026-07-28']) {
    it(`gives the same result for every ${requirements} check as the server itself`, { timeout: 240_000 }, async () => {
      const direct = await runSuite(server.url, requirements, mkdtempSync(join(out, `direct-${requirements}-`)));
      const through = await runSuite(gateway.url, requirements, mkdtempSync(join(out, `gateway-${requirements}-`)));
      expect(direct.code, direct.log).toBe(0);
      const differences = [...new Set([...direct.checks.keys(), ...through.checks.keys()])]
        .filter((key) => direct.checks.get(key) !== through.checks.get(key))
        .map((key) => `${key}: direct ${direct.checks.get(key) ?? 'absent'}, through the gateway ${through.checks.get(key) ?? 'absent'}`);
      expect(differences, through.log.slice(-4000)).toEqual([]);
      expect(through.code).toBe(0);
      expect(direct.checks.size).toBeGreaterThan(50);
    });
  }
});
