/**
 * `npm run bench`: what GUARDRAIL costs on the wire, next to the floor and the alternatives.
 *
 * Method
 * - One process tree, one run. The upstream is always the test fixture (SDK 1.x server with
 *   200 extra tools), over stdio or, with `--http 0`, over Streamable HTTP. Targets:
 *     stdio: direct (the fixture), raw relay (bench/stdio-relay.ts: bytes copied, nothing
 *            parsed), guardrail (`guardrail run -- fixture`, default policy);
 *     HTTP:  direct (fixture --http), raw relay (bench/tcp-relay.ts in front of it), guardrail
 *            in front of the stdio fixture (one child per session), guardrail in front of the
 *            HTTP fixture (`--upstream`), and the bridges supergateway (stateful Streamable
 *            HTTP, one child per session) and mcp-proxy (one shared child), when installed.
 *   The gateway runs with the default policy and its decision log on (one JSON line per
 *   request on stderr, which the bench drains like any reader would).
 * - The client is our own (bench/wire-client.ts): JSON-RPC lines with a linear framer on stdio,
 *   keep-alive node:http with JSON and SSE answers on HTTP; cheap and linear (its CPU per call
 *   under load is reported).
 *   Latency is measured from the request's first byte written to its answer parsed.
 * - Each scenario warms every target up, then runs rounds interleaved across targets (the
 *   starting target rotates each round), so drift and noise hit every target alike. The figure
 *   reported is the median over rounds of the per-round statistic (p50/p99 over a round's
 *   samples for the small call, the median of a round's calls otherwise). The bench's own
 *   garbage is collected between rounds, never inside one.
 * - Scenarios: a small `tools/call` (echo) in sequence, `tools/list` of 212 tools, a 1 MB and a
 *   10 MB text result (the `big` tool), and 64 concurrent HTTP sessions, each looping small
 *   calls for a fixed time (calls/s per round, median over rounds). For the latter, CPU per
 *   call comes from /proc/<pid>/stat: the middle process (gateway, bridge, relay; the server
 *   itself for direct), all of the target's processes, and the bench client. On a small
 *   machine the three share the cores, so throughput is bounded by their sum per call.
 * - Order: small call, tools/list, 64 sessions, then the large results, last so that the heaps
 *   they grow do not colour the other figures. Under concurrent load servers keep speeding up
 *   for seconds (JIT tiers, young-generation growth), so that warm-up runs until the rate stops
 *   rising (within bounds), and each measured round follows a short unmeasured re-warm, since
 *   a process left idle while the others ran shrinks its heap again.
 * - The CPU other processes used during the run (machine busy time minus ours) is reported:
 *   on a shared machine it is the first thing to look at when figures jump between runs.
 * - Memory: VmRSS of the middle process from /proc/<pid>/status when idle (after start and one
 *   call), its peak sampled every 50 ms under the 64-session load, and VmHWM (lifetime peak,
 *   which includes the 10 MB results) at the end.
 * - Every process started is stopped at the end (or on SIGINT/SIGTERM) by pid, descendants
 *   included; the run checks that none is left.
 *
 *   node bench/run.ts [--quick] [--targets ID,...] [--scenarios ID,...] [--gateway auto|dist|src] [--cpu-prof DIR]
 *
 * Results: a table on stdout and the same data in bench/results/latest.json.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { Agent } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { alive, commandLine, cpuSeconds, descendants, launch, launchedProcesses, machineCpuSeconds, memory, ownCpuSeconds, stopAll, treeCpuSeconds, type Launched } from './processes.ts';
import { added, ms, ratio, renderTable, type Row } from './report.ts';
import { median, quantile } from './stats.ts';
import { HttpSession, PROTOCOL_VERSION, StdioConnection, type Connection } from './wire-client.ts';

const ROOT = resolve(import.meta.dirname, '..');
const NODE = process.execPath;
const FIXTURE = join(ROOT, 'test/fixtures/fixture-server.ts');
const FIXTURE_ARGS = [FIXTURE, '--tools', '200'];
const FIXTURE_TOOLS = 212; // 12 built-in tools + 200 generated
const STDIO_RELAY = join(ROOT, 'bench/stdio-relay.ts');
const TCP_RELAY = join(ROOT, 'bench/tcp-relay.ts');
const RESULTS = join(ROOT, 'bench/results/latest.json');
const SESSIONS = 64;
const MB = 1_000_000;

const TARGETS = {
  smallAddedP50Ms: 0.25,
  sessionsRatio: 0.9,
  tenMbAddedMs: 50,
  // 70 MB before the audit store's writer thread (a second V8 isolate, about 17 MB) was on by default.
  idleRssBytes: 90 * MB,
};

// ---------------------------------------------------------------------------------------------
// Options

const { values: options } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    targets: { type: 'string' },
    scenarios: { type: 'string' },
    gateway: { type: 'string', default: 'auto' },
    'cpu-prof': { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
  strict: true,
});

if (options.help) {
  process.stdout.write(`usage: node bench/run.ts [--quick] [--targets ID,...] [--scenarios ID,...] [--gateway auto|dist|src] [--cpu-prof DIR]

  --quick        fewer and shorter rounds (about a minute and a half)
  --targets      run only these targets (the direct ones always run); ids:
                 stdio-direct stdio-relay stdio-guardrail http-direct http-relay
                 http-guardrail-stdio http-guardrail-http http-supergateway http-mcp-proxy
  --scenarios    run only these scenarios: small list 1mb 10mb sessions (default: all)
  --gateway      dist (built CLI), src (node src/cli/main.ts), auto: dist when it is newer
                 than every source file (default)
  --cpu-prof DIR write a V8 CPU profile of each gateway process to DIR (on exit)
`);
  process.exit(0);
}

const PLAN = options.quick
  ? { rounds: 3, calls: 200, warmCalls: 100, lists: 10, oneMb: 2, tenMbRounds: 3, tenMb: 1, loadRounds: 2, loadMs: 1000, loadRewarmMs: 500, loadWarmMinMs: 1000, loadWarmMaxMs: 3000, loadWarmStepMs: 500 }
  : { rounds: 7, calls: 500, warmCalls: 300, lists: 25, oneMb: 4, tenMbRounds: 7, tenMb: 2, loadRounds: 4, loadMs: 1500, loadRewarmMs: 1000, loadWarmMinMs: 3000, loadWarmMaxMs: 6000, loadWarmStepMs: 1000 };

// The bench's own garbage is collected between rounds so a client pause never lands inside one.
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

/** Set on SIGINT/SIGTERM: the scenarios stop and only the shutdown speaks. */
let aborted = false;
const progress = (line: string) => {
  if (!aborted) process.stderr.write(`bench: ${line}\n`);
};

// ---------------------------------------------------------------------------------------------
// Targets

type MetricId = 'callP50' | 'callP99' | 'list200' | 'result1MB' | 'result10MB';

interface LoadRound {
  readonly calls: number;
  readonly errors: number;
  readonly seconds: number;
  readonly callsPerSecond: number;
  readonly middleCpuSeconds: number;
  /** CPU of every process of the target (middle, upstream servers, their children). */
  readonly targetCpuSeconds: number;
  /** CPU the bench process (the client) spent in the round. */
  readonly clientCpuSeconds: number;
}

interface Target {
  readonly id: string;
  readonly label: string;
  readonly transport: 'stdio' | 'http';
  readonly role: 'direct' | 'relay' | 'gateway' | 'bridge';
  readonly description: string;
  /** HTTP targets in front of the stdio fixture (the others reach the HTTP fixture). */
  readonly stdioUpstream: boolean;
  /** Starts the processes and opens `main`. */
  readonly start: (t: Target) => Promise<void>;
  /** The process whose memory and CPU are reported (the server itself for direct). */
  middle?: Launched;
  /** The session the sequential scenarios use. */
  main?: Connection;
  /** HTTP: where new sessions are opened. */
  url?: URL;
  agent?: Agent;
  error?: string;
  rounds: Partial<Record<MetricId, number[]>>;
  load: { openSeconds?: number; warmSeconds?: number; rounds: LoadRound[]; warmErrors: number };
  memory: { idle?: number; loadPeak?: number; lifetimePeak?: number };
}

// The audit store is on by default: the gateways measured here write theirs to a scratch
// directory, not the user's (the cost of recording is part of what is measured).
if (process.env.GUARDRAIL_DATA_DIR === undefined) {
  const scratch = (process.env.GUARDRAIL_DATA_DIR = mkdtempSync(join(tmpdir(), 'guardrail-bench-data-')));
  process.once('exit', () => rmSync(scratch, { recursive: true, force: true }));
}
const gatewayEntry = chooseGateway(options.gateway);
const gatewayNodeArgs = options['cpu-prof'] === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${resolve(options['cpu-prof'])}`];
const gatewayCommand = [...gatewayNodeArgs, gatewayEntry.path, 'run', '--log-level', 'warn'];

function target(id: string, label: string, transport: Target['transport'], role: Target['role'], description: string, start: Target['start']): Target {
  const stdioUpstream = transport === 'http' && /guardrail-stdio|supergateway|mcp-proxy/.test(id);
  return { id, label, transport, role, description, stdioUpstream, start, rounds: {}, load: { rounds: [], warmErrors: 0 }, memory: {} };
}

const all: Target[] = [
  target('stdio-direct', 'direct', 'stdio', 'direct', 'the fixture on stdio', async (t) => {
    await stdioTarget(t, NODE, FIXTURE_ARGS);
  }),
  target('stdio-relay', 'raw relay', 'stdio', 'relay', 'stdio-relay.ts -> fixture', async (t) => {
    await stdioTarget(t, NODE, [STDIO_RELAY, NODE, ...FIXTURE_ARGS]);
  }),
  target('stdio-guardrail', 'guardrail', 'stdio', 'gateway', 'guardrail run -- fixture', async (t) => {
    await stdioTarget(t, NODE, [...gatewayCommand, '--', NODE, ...FIXTURE_ARGS]);
  }),
  target('http-direct', 'direct', 'http', 'direct', 'fixture --http', async (t) => {
    const fixture = await httpFixture(`${t.id} fixture`);
    t.middle = fixture.process;
    await httpTarget(t, fixture.url);
  }),
  target('http-relay', 'raw relay (TCP)', 'http', 'relay', 'tcp-relay.ts -> fixture --http', async (t) => {
    const fixture = await httpFixture(`${t.id} fixture`);
    t.middle = launch(t.id, NODE, [TCP_RELAY, fixture.url.port], { stdio: false });
    const port = (await t.middle.waitFor(/listening (\d+)/, 30_000))[1]!;
    await httpTarget(t, new URL(`http://127.0.0.1:${port}/mcp`));
  }),
  target('http-guardrail-stdio', 'guardrail -> stdio', 'http', 'gateway', 'guardrail --listen http -- fixture (a child per session)', async (t) => {
    const port = await freePort();
    t.middle = launch(t.id, NODE, [...gatewayCommand, '--listen', `http://127.0.0.1:${port}/mcp`, '--', NODE, ...FIXTURE_ARGS], { stdio: false });
    await httpTarget(t, new URL(`http://127.0.0.1:${port}/mcp`));
  }),
  target('http-guardrail-http', 'guardrail -> HTTP', 'http', 'gateway', 'guardrail --listen http --upstream fixture --http', async (t) => {
    const fixture = await httpFixture(`${t.id} fixture`);
    const port = await freePort();
    t.middle = launch(t.id, NODE, [...gatewayCommand, '--listen', `http://127.0.0.1:${port}/mcp`, '--upstream', fixture.url.href], { stdio: false });
    await httpTarget(t, new URL(`http://127.0.0.1:${port}/mcp`));
  }),
  target('http-supergateway', 'supergateway', 'http', 'bridge', 'supergateway --stateful --outputTransport streamableHttp (a child per session)', async (t) => {
    const bin = localBin('supergateway');
    const port = await freePort();
    const command = [NODE, ...FIXTURE_ARGS].map(shellQuote).join(' ');
    t.middle = launch(t.id, NODE, [bin, '--stdio', command, '--outputTransport', 'streamableHttp', '--stateful', '--port', String(port), '--logLevel', 'none'], { stdio: false });
    await httpTarget(t, new URL(`http://127.0.0.1:${port}/mcp`));
  }),
  target('http-mcp-proxy', 'mcp-proxy', 'http', 'bridge', 'mcp-proxy -- fixture (one shared child)', async (t) => {
    const bin = localBin('mcp-proxy');
    const port = await freePort();
    t.middle = launch(t.id, NODE, [bin, '--port', String(port), '--host', '127.0.0.1', '--', NODE, ...FIXTURE_ARGS], { stdio: false });
    await httpTarget(t, new URL(`http://127.0.0.1:${port}/mcp`));
  }),
];

const wanted = options.targets === undefined ? undefined : new Set(options.targets.split(',').map((s) => s.trim()));
if (wanted) for (const id of wanted) if (!all.some((t) => t.id === id)) throw new Error(`unknown target "${id}" (see --help)`);
const targets = all.filter((t) => t.role === 'direct' || wanted === undefined || wanted.has(t.id));
const SCENARIOS = ['small', 'list', '1mb', '10mb', 'sessions'] as const;
const scenarios = new Set(options.scenarios === undefined ? SCENARIOS : options.scenarios.split(',').map((s) => s.trim()));
for (const id of scenarios) if (!(SCENARIOS as readonly string[]).includes(id)) throw new Error(`unknown scenario "${id}" (see --help)`);

async function stdioTarget(t: Target, command: string, args: string[]): Promise<void> {
  const p = launch(t.id, command, args, { stdio: true });
  t.middle = p;
  t.main = await deadline(StdioConnection.open(p.child.stdin!, p.child.stdout!), 30_000, `${t.id}: no answer to initialize`).catch((error: Error) => {
    throw new Error(`${error.message}\n${p.output()}`, { cause: error });
  });
}

async function httpFixture(name: string): Promise<{ process: Launched; url: URL }> {
  const p = launch(name, NODE, [...FIXTURE_ARGS, '--http', '0'], { stdio: false });
  return { process: p, url: new URL((await p.waitFor(/listening (http:\S+)/, 30_000))[1]!) };
}

/** Opens the main session once the server answers (it may still be starting). */
async function httpTarget(t: Target, url: URL): Promise<void> {
  t.url = url;
  t.agent = new Agent({ keepAlive: true, maxSockets: SESSIONS * 2 });
  const until = Date.now() + 30_000;
  for (;;) {
    try {
      t.main = await HttpSession.open(url, t.agent);
      return;
    } catch (error) {
      if (t.middle?.exited) throw new Error(`${t.id} exited: ${(error as Error).message}\n${t.middle.output()}`, { cause: error });
      if (Date.now() > until) throw new Error(`${t.id}: no session within 30 s: ${(error as Error).message}\n${t.middle?.output() ?? ''}`, { cause: error });
      await sleep(100);
    }
  }
}

function localBin(name: string): string {
  const link = join(ROOT, 'node_modules/.bin', name);
  if (!existsSync(link)) throw new Error(`${name} is not installed (npm install -D ${name})`);
  return realpathSync(link);
}

function shellQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((done) => server.close(() => done()));
  return port;
}

function deadline<T>(promise: Promise<T>, timeoutMs: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(message)), timeoutMs);
    }),
  ]);
}

/** dist/cli/main.js when every src file has a newer build (or when asked), else src/cli/main.ts. */
function chooseGateway(mode: string): { path: string; note: string } {
  const dist = join(ROOT, 'dist/cli/main.js');
  const src = join(ROOT, 'src/cli/main.ts');
  if (mode === 'src') return { path: src, note: 'src/cli/main.ts (asked for)' };
  if (mode !== 'dist' && mode !== 'auto') throw new Error(`--gateway must be auto, dist or src, not "${mode}"`);
  const stale: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) {
        const built = join(ROOT, 'dist', relative(join(ROOT, 'src'), path)).replace(/\.ts$/, '.js');
        if (!existsSync(built) || statSync(built).mtimeMs < statSync(path).mtimeMs) stale.push(relative(ROOT, path));
      }
    }
  };
  walk(join(ROOT, 'src'));
  if (mode === 'dist') {
    if (!existsSync(dist)) throw new Error('dist/cli/main.js does not exist: npm run build');
    return { path: dist, note: stale.length === 0 ? 'dist/cli/main.js' : `dist/cli/main.js (asked for; ${stale.length} source files are newer)` };
  }
  if (stale.length === 0) return { path: dist, note: 'dist/cli/main.js (fresh build)' };
  return { path: src, note: `src/cli/main.ts (dist is stale: ${stale.slice(0, 3).join(', ')}${stale.length > 3 ? ', …' : ''} newer; npm run build to use it)` };
}

// ---------------------------------------------------------------------------------------------
// Calls

type Json = Record<string, unknown>;
const ECHO = { name: 'echo', arguments: { text: 'hello' } };

function textOf(result: unknown): string {
  const content = (result as { content?: Array<{ text?: unknown }> } | undefined)?.content;
  const text = content?.[0]?.text;
  if (typeof text !== 'string') throw new Error(`unexpected result: ${JSON.stringify(result).slice(0, 200)}`);
  return text;
}

async function timed(connection: Connection, method: string, params: Json, check: (result: unknown) => void): Promise<number> {
  const start = performance.now();
  const result = await connection.request(method, params);
  const elapsed = performance.now() - start;
  check(result);
  return elapsed;
}

const smallCall = (c: Connection) =>
  timed(c, 'tools/call', ECHO, (r) => {
    if (textOf(r) !== 'hello') throw new Error(`echo answered ${textOf(r)}`);
  });

const listTools = (c: Connection) =>
  timed(c, 'tools/list', {}, (r) => {
    const tools = (r as { tools?: unknown[] }).tools;
    if (tools?.length !== FIXTURE_TOOLS) throw new Error(`tools/list returned ${tools?.length} tools, not ${FIXTURE_TOOLS}`);
  });

const bigResult = (c: Connection, bytes: number) =>
  timed(c, 'tools/call', { name: 'big', arguments: { bytes } }, (r) => {
    if (textOf(r).length !== bytes) throw new Error(`big returned ${textOf(r).length} characters, not ${bytes}`);
  });

async function repeat(times: number, call: () => Promise<number>): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < times; i++) samples.push(await call());
  return samples;
}

// ---------------------------------------------------------------------------------------------
// Scenarios

const live = (list: readonly Target[]) => list.filter((t) => t.error === undefined);

async function guarded(t: Target, phase: string, run: () => Promise<void>): Promise<void> {
  if (t.error !== undefined || aborted) return;
  try {
    await run();
  } catch (error) {
    t.error = `${phase}: ${(error as Error).message.split('\n')[0]}`;
    progress(`${t.id} failed during ${phase}: ${(error as Error).message}`);
  }
}

/** Warms every target up, then runs `rounds` rounds interleaved across targets. */
async function interleaved(title: string, list: readonly Target[], rounds: number, warm: (t: Target) => Promise<void>, round: (t: Target) => Promise<void>): Promise<void> {
  const started = performance.now();
  for (const t of live(list)) await guarded(t, `${title} (warm-up)`, () => warm(t));
  for (let r = 0; r < rounds; r++) {
    const order = live(list);
    const rotated = [...order.slice(r % order.length), ...order.slice(0, r % order.length)];
    for (const t of rotated) {
      collectGarbage();
      await guarded(t, title, () => round(t));
    }
  }
  progress(`${title}: ${rounds} rounds in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

function record(t: Target, metric: MetricId, value: number): void {
  (t.rounds[metric] ??= []).push(value);
}

/** The small sequential scenarios: a small call and tools/list. */
async function smallScenarios(list: readonly Target[]): Promise<void> {
  if (scenarios.has('small')) await interleaved(
    'small tools/call',
    list,
    PLAN.rounds,
    async (t) => void (await repeat(PLAN.warmCalls, () => smallCall(t.main!))),
    async (t) => {
      const samples = await repeat(PLAN.calls, () => smallCall(t.main!));
      record(t, 'callP50', quantile(samples, 0.5));
      record(t, 'callP99', quantile(samples, 0.99));
    },
  );
  if (scenarios.has('list')) await interleaved(
    'tools/list (212 tools)',
    list,
    PLAN.rounds,
    async (t) => void (await repeat(5, () => listTools(t.main!))),
    async (t) => record(t, 'list200', median(await repeat(PLAN.lists, () => listTools(t.main!)))),
  );
}

/** The large results; they run last, so the heaps they grow do not colour the other figures. */
async function largeScenarios(list: readonly Target[]): Promise<void> {
  if (scenarios.has('1mb')) await interleaved(
    '1 MB result',
    list,
    PLAN.rounds,
    async (t) => void (await repeat(2, () => bigResult(t.main!, MB))),
    async (t) => record(t, 'result1MB', median(await repeat(PLAN.oneMb, () => bigResult(t.main!, MB)))),
  );
  if (scenarios.has('10mb')) await interleaved(
    '10 MB result',
    list,
    PLAN.tenMbRounds,
    async (t) => void (await repeat(1, () => bigResult(t.main!, 10 * MB))),
    async (t) => record(t, 'result10MB', median(await repeat(PLAN.tenMb, () => bigResult(t.main!, 10 * MB)))),
  );
}

/** 64 sessions per HTTP target, each looping small calls for a fixed time; rounds interleaved. */
async function sessionsScenario(list: readonly Target[]): Promise<void> {
  const started = performance.now();
  const pools = new Map<Target, HttpSession[]>();
  for (const t of live(list)) {
    await guarded(t, `${SESSIONS} sessions (open)`, async () => {
      const opened = performance.now();
      const sessions: HttpSession[] = [];
      pools.set(t, sessions);
      // Eight at a time: a bridge that spawns a child per session is not flooded.
      for (let i = 0; i < SESSIONS; i += 8) {
        sessions.push(...(await Promise.all(Array.from({ length: Math.min(8, SESSIONS - i) }, () => HttpSession.open(t.url!, t.agent!)))));
      }
      t.load.openSeconds = (performance.now() - opened) / 1000;
      progress(`${t.id}: ${SESSIONS} sessions open in ${t.load.openSeconds.toFixed(1)} s`);
    });
  }
  for (const t of live(list)) {
    await guarded(t, `${SESSIONS} sessions (warm-up)`, async () => {
      // Servers speed up for seconds under concurrent load (JIT tiers, young-generation
      // growth): warm up in steps until the rate stops rising, within bounds.
      const started = performance.now();
      const rates: number[] = [];
      for (;;) {
        const warm = await loadRound(t, pools.get(t)!, PLAN.loadWarmStepMs);
        t.load.warmErrors += warm.errors;
        rates.push(warm.callsPerSecond);
        const elapsed = performance.now() - started;
        const best = Math.max(...rates.slice(0, -1));
        if (elapsed >= PLAN.loadWarmMaxMs || (elapsed >= PLAN.loadWarmMinMs && warm.callsPerSecond <= best * 1.05)) break;
      }
      t.load.warmSeconds = (performance.now() - started) / 1000;
      progress(`${t.id}: warmed up under load in ${t.load.warmSeconds.toFixed(1)} s (calls/s per ${PLAN.loadWarmStepMs / 1000} s step: ${rates.map((r) => r.toFixed(0)).join(' ')})`);
    });
  }
  for (let r = 0; r < PLAN.loadRounds; r++) {
    const order = live(list);
    const rotated = [...order.slice(r % order.length), ...order.slice(0, r % order.length)];
    for (const t of rotated) {
      collectGarbage();
      await guarded(t, `${SESSIONS} sessions`, async () => {
        // A process left idle while the others ran has shrunk its heap again: re-warm first.
        t.load.warmErrors += (await loadRound(t, pools.get(t)!, PLAN.loadRewarmMs)).errors;
        const result = await loadRound(t, pools.get(t)!, PLAN.loadMs);
        t.load.rounds.push(result);
        if (result.calls === 0) throw new Error(`no call succeeded (${result.errors} errors)`);
      });
    }
  }
  progress(`${SESSIONS} sessions: ${PLAN.loadRounds} rounds in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  await Promise.all([...pools.values()].flatMap((sessions) => sessions.map((s) => s.close().catch(() => undefined))));
}

/** CPU seconds used so far by every process of `t` (and their children). */
function targetCpu(t: Target): number {
  return launchedProcesses()
    .filter((p) => p.name === t.id || p.name.startsWith(`${t.id} `))
    .reduce((sum, p) => sum + treeCpuSeconds(p.pid), 0);
}

async function loadRound(t: Target, sessions: readonly HttpSession[], durationMs: number): Promise<LoadRound> {
  const pid = t.middle!.pid;
  const targetBefore = targetCpu(t);
  const sampler = setInterval(() => {
    const rss = memory(pid)?.rss;
    if (rss !== undefined) t.memory.loadPeak = Math.max(t.memory.loadPeak ?? 0, rss);
  }, 50);
  const cpuBefore = cpuSeconds(pid);
  const clientBefore = process.cpuUsage();
  let calls = 0;
  let errors = 0;
  const start = performance.now();
  const end = start + durationMs;
  await Promise.all(
    sessions.map(async (session) => {
      while (performance.now() < end) {
        try {
          if (textOf(await session.request('tools/call', ECHO)) !== 'hello') throw new Error('wrong echo');
          calls++;
        } catch {
          errors++;
          await sleep(10);
        }
      }
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  clearInterval(sampler);
  const client = process.cpuUsage(clientBefore);
  return { calls, errors, seconds, callsPerSecond: calls / seconds, middleCpuSeconds: cpuSeconds(pid) - cpuBefore, targetCpuSeconds: targetCpu(t) - targetBefore, clientCpuSeconds: (client.user + client.system) / 1e6 };
}

// ---------------------------------------------------------------------------------------------
// Report

const METRICS: Array<{ id: MetricId; title: string }> = [
  { id: 'callP50', title: 'call p50' },
  { id: 'callP99', title: 'call p99' },
  { id: 'list200', title: 'tools/list' },
  { id: 'result1MB', title: '1 MB result' },
  { id: 'result10MB', title: '10 MB result' },
];

const value = (t: Target | undefined, metric: MetricId): number | undefined => {
  const rounds = t?.rounds[metric];
  return rounds === undefined || rounds.length === 0 ? undefined : median(rounds);
};
const throughput = (t: Target | undefined): number | undefined =>
  t === undefined || t.load.rounds.length === 0 ? undefined : median(t.load.rounds.map((r) => r.callsPerSecond));
const cpuPerCall = (t: Target, of: 'middleCpuSeconds' | 'targetCpuSeconds' | 'clientCpuSeconds' = 'middleCpuSeconds'): number | undefined => {
  const calls = t.load.rounds.reduce((n, r) => n + r.calls, 0);
  return calls === 0 ? undefined : (t.load.rounds.reduce((s, r) => s + r[of], 0) / calls) * 1e6;
};
const directOf = (t: Target) => targets.find((d) => d.role === 'direct' && d.transport === t.transport);
const TRANSPORT_TITLE = { stdio: 'stdio', http: 'Streamable HTTP' } as const;

function latencyTable(): string {
  const header = [
    ['', ...METRICS.flatMap((m) => [m.title, '', ''])],
    ['target', ...METRICS.flatMap(() => ['ms', '+ms', 'x direct'])],
  ];
  const rows: Row[] = [];
  for (const transport of ['stdio', 'http'] as const) {
    rows.push({ section: `${TRANSPORT_TITLE[transport]}:` });
    for (const t of targets.filter((x) => x.transport === transport)) {
      const direct = directOf(t);
      const cells = METRICS.flatMap((m) => {
        const v = value(t, m.id);
        const base = value(direct, m.id);
        return t === direct ? [ms(v), '', ''] : [ms(v), added(v, base), ratio(v, base)];
      });
      rows.push([`  ${t.label}${t.error === undefined ? '' : ' (failed)'}`, ...cells]);
    }
  }
  return renderTable({ header, rows });
}

function loadTable(): string {
  const header = [
    ['', `${SESSIONS} sessions`, '', 'CPU us/call', '', '', `open ${SESSIONS}`, 'RSS MB', '', ''],
    ['target', 'calls/s', 'x direct', 'middle', 'all', 'client', 's', 'idle', 'load peak', 'life peak'],
  ];
  const rows: Row[] = [];
  for (const transport of ['stdio', 'http'] as const) {
    rows.push({ section: `${TRANSPORT_TITLE[transport]}:` });
    for (const t of targets.filter((x) => x.transport === transport)) {
      const rate = throughput(t);
      const direct = directOf(t);
      const mbs = (bytes: number | undefined) => (bytes === undefined ? '-' : (bytes / MB).toFixed(1));
      rows.push([
        `  ${t.label}${t.error === undefined ? '' : ' (failed)'}`,
        rate === undefined ? '-' : rate.toFixed(0),
        t === direct ? '' : ratio(rate, throughput(direct)),
        ms(cpuPerCall(t), 0),
        ms(cpuPerCall(t, 'targetCpuSeconds'), 0),
        ms(cpuPerCall(t, 'clientCpuSeconds'), 0),
        t.load.openSeconds === undefined ? '-' : t.load.openSeconds.toFixed(1),
        mbs(t.memory.idle),
        mbs(t.memory.loadPeak),
        mbs(t.memory.lifetimePeak),
      ]);
    }
  }
  return renderTable({ header, rows });
}

interface Check {
  readonly target: string;
  readonly goal: string;
  readonly measured: string;
  readonly pass: boolean | undefined;
}

function checks(): Check[] {
  const out: Check[] = [];
  const gateways = targets.filter((t) => t.role === 'gateway');
  const verdict = (v: number | undefined, ok: (v: number) => boolean) => (v === undefined || !Number.isFinite(v) ? undefined : ok(v));
  for (const t of gateways) {
    const direct = directOf(t);
    const p50 = value(t, 'callP50');
    const base = value(direct, 'callP50');
    const addedP50 = p50 === undefined || base === undefined ? undefined : p50 - base;
    out.push({ target: t.id, goal: `small call p50 <= direct + ${TARGETS.smallAddedP50Ms} ms`, measured: `${added(p50, base)} ms`, pass: verdict(addedP50, (v) => v <= TARGETS.smallAddedP50Ms) });
  }
  for (const t of gateways.filter((g) => g.transport === 'http')) {
    const rate = throughput(t);
    const base = throughput(directOf(t));
    const r = rate === undefined || base === undefined ? undefined : rate / base;
    out.push({ target: t.id, goal: `${SESSIONS} sessions >= ${TARGETS.sessionsRatio}x direct calls/s`, measured: r === undefined ? '-' : `${r.toFixed(2)}x`, pass: verdict(r, (v) => v >= TARGETS.sessionsRatio) });
  }
  for (const t of gateways) {
    const v = value(t, 'result10MB');
    const base = value(directOf(t), 'result10MB');
    const extra = v === undefined || base === undefined ? undefined : v - base;
    out.push({ target: t.id, goal: `10 MB result <= direct + ${TARGETS.tenMbAddedMs} ms`, measured: `${added(v, base)} ms`, pass: verdict(extra, (x) => x <= TARGETS.tenMbAddedMs) });
  }
  for (const t of gateways) {
    const idle = t.memory.idle;
    out.push({ target: t.id, goal: `RSS idle <= ${TARGETS.idleRssBytes / MB} MB`, measured: idle === undefined ? '-' : `${(idle / MB).toFixed(1)} MB`, pass: verdict(idle, (v) => v <= TARGETS.idleRssBytes) });
  }
  return out;
}

function checksTable(list: readonly Check[]): string {
  return renderTable({
    header: [['target', 'goal', 'measured', 'result']],
    rows: list.map((c) => [c.target, c.goal, c.measured, c.pass === undefined ? 'n/a' : c.pass ? 'PASS' : 'MISS']),
  });
}

// ---------------------------------------------------------------------------------------------
// Main

async function main(): Promise<number> {
  const began = performance.now();
  const machineBefore = machineCpuSeconds();
  const ownBefore = ownCpuSeconds();
  progress(`gateway: ${gatewayEntry.note}`);
  progress(`starting ${targets.length} targets${options.quick ? ' (quick)' : ''}`);
  await Promise.all(
    targets.map((t) =>
      guarded(t, 'start', async () => {
        await t.start(t);
        await smallCall(t.main!); // "idle" means after start and one call
      }),
    ),
  );
  await sleep(1000);
  for (const t of live(targets)) t.memory.idle = memory(t.middle!.pid)?.rss;
  const skipped = targets.filter((t) => t.error !== undefined);
  for (const t of skipped) progress(`${t.id} is left out: ${t.error}`);
  progress(`started in ${((performance.now() - began) / 1000).toFixed(1)} s`);

  await smallScenarios(targets);
  if (scenarios.has('sessions')) await sessionsScenario(targets.filter((t) => t.transport === 'http'));
  await largeScenarios(targets);
  for (const t of targets) if (t.middle !== undefined && !t.middle.exited) t.memory.lifetimePeak = memory(t.middle.pid)?.hwm;

  for (const t of live(targets)) await t.main!.close().catch(() => undefined);
  await shutdown();
  const seconds = (performance.now() - began) / 1000;
  // What else ran on the machine meanwhile: its busy CPU minus ours (children included).
  const machineAfter = machineCpuSeconds();
  const background = machineAfter.busy - machineBefore.busy - (ownCpuSeconds() - ownBefore);
  const steal = machineAfter.steal - machineBefore.steal;
  const backgroundShare = Math.max(0, background) / (seconds * cpus().length);
  const results = checks();
  const decisions = targets.filter((t) => t.role === 'gateway').map((t) => `${t.id} ${t.middle?.decisions ?? 0}`);

  const out: string[] = [];
  out.push(`GUARDRAIL bench: ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}, gateway ${gatewayEntry.note}`);
  out.push(`protocol ${PROTOCOL_VERSION}; fixture with ${FIXTURE_TOOLS} tools; ${PLAN.rounds} rounds (10 MB: ${PLAN.tenMbRounds}) of ${PLAN.calls} small calls, ${PLAN.lists} lists, ${PLAN.oneMb} x 1 MB, ${PLAN.tenMb} x 10 MB; ${PLAN.loadRounds} x ${PLAN.loadMs / 1000} s of ${SESSIONS} sessions (each after a ${PLAN.loadRewarmMs / 1000} s re-warm)`);
  out.push('');
  out.push('Latency (ms; medians over rounds; +ms and x are against direct on the same transport)');
  out.push(latencyTable());
  const stdioDirect = targets.find((t) => t.role === 'direct' && t.transport === 'stdio');
  const fronted = targets.filter((t) => t.stdioUpstream && value(t, 'callP50') !== undefined);
  if (fronted.length > 0 && value(stdioDirect, 'callP50') !== undefined) {
    // Their "direct" is the SDK's HTTP server, which is slower than its stdio server: the hop
    // alone is better seen against stdio direct.
    const hop = fronted.map((t) => `${t.label} ${added(value(t, 'callP50'), value(stdioDirect, 'callP50'))} ms`);
    out.push(`HTTP in front of the stdio fixture, small call p50 against stdio direct: ${hop.join(', ')}`);
  }
  out.push('');
  out.push(`Throughput and memory (${SESSIONS} concurrent HTTP sessions of sequential small calls)`);
  out.push('middle = the gateway, bridge or relay process (the server itself for direct); all = every process of the target; client = this bench');
  out.push(loadTable());
  out.push('');
  out.push('Targets');
  out.push(checksTable(results));
  out.push('');
  for (const t of targets.filter((x) => x.error !== undefined)) out.push(`${t.id}: ${t.error}`);
  const errors = targets.filter((t) => t.load.rounds.some((r) => r.errors > 0) || t.load.warmErrors > 0);
  for (const t of errors) out.push(`${t.id}: ${t.load.rounds.reduce((n, r) => n + r.errors, t.load.warmErrors)} failed calls under ${SESSIONS}-session load`);
  out.push(`decision records seen on gateway stderr: ${decisions.join(', ') || '-'}`);
  out.push(
    `other processes on the machine used ${Math.max(0, background).toFixed(1)} CPU-s (${(100 * backgroundShare).toFixed(0)}% of its capacity) during the run; steal ${steal.toFixed(1)} s` +
      (backgroundShare > 0.05 ? ' -- figures are noisier than on an idle machine' : ''),
  );
  out.push(`total ${seconds.toFixed(0)} s`);
  process.stdout.write(`${out.join('\n')}\n`);

  mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
  const json = {
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version },
    gateway: gatewayEntry.note,
    quick: options.quick,
    plan: { ...PLAN, sessions: SESSIONS, protocolVersion: PROTOCOL_VERSION, fixtureTools: FIXTURE_TOOLS },
    units: { latency: 'ms', memory: 'bytes', throughput: 'calls/s', cpu: 'microseconds per call' },
    targets: targets.map((t) => {
      const direct = directOf(t);
      return {
        id: t.id,
        label: t.label,
        transport: t.transport,
        role: t.role,
        description: t.description,
        stdioUpstream: t.stdioUpstream,
        ...(t.error === undefined ? {} : { error: t.error }),
        latency: Object.fromEntries(
          METRICS.map((m) => {
            const v = value(t, m.id);
            const base = value(direct, m.id);
            return [m.id, { median: v ?? null, rounds: t.rounds[m.id] ?? [], addedMs: v !== undefined && base !== undefined ? v - base : null, ratioToDirect: v !== undefined && base ? v / base : null }];
          }),
        ),
        sessions:
          t.transport === 'http'
            ? {
                callsPerSecond: throughput(t) ?? null,
                ratioToDirect: throughput(t) !== undefined && throughput(direct) ? throughput(t)! / throughput(direct)! : null,
                middleCpuPerCall: cpuPerCall(t) ?? null,
                targetCpuPerCall: cpuPerCall(t, 'targetCpuSeconds') ?? null,
                clientCpuPerCall: cpuPerCall(t, 'clientCpuSeconds') ?? null,
                openSeconds: t.load.openSeconds ?? null,
                warmSeconds: t.load.warmSeconds ?? null,
                rounds: t.load.rounds,
                warmErrors: t.load.warmErrors,
              }
            : null,
        memory: { idleRss: t.memory.idle ?? null, loadPeakRss: t.memory.loadPeak ?? null, lifetimePeakRss: t.memory.lifetimePeak ?? null },
        ...(t.role === 'gateway' ? { decisionRecords: t.middle?.decisions ?? 0 } : {}),
      };
    }),
    checks: results,
    machineLoad: { otherProcessesCpuSeconds: background, share: backgroundShare, stealSeconds: steal },
    seconds,
  };
  writeFileSync(RESULTS, `${JSON.stringify(json, null, 2)}\n`);
  progress(`wrote ${relative(ROOT, RESULTS)}`);
  return targets.some((t) => t.role === 'direct' && t.error !== undefined) ? 1 : 0;
}

let shuttingDown: Promise<void> | undefined;

/** Stops every process started (once) and reports any that survived. */
function shutdown(): Promise<void> {
  shuttingDown ??= (async () => {
    await stopAll();
    const left = descendants(process.pid).filter(alive);
    for (const pid of left) process.stderr.write(`bench: still running after shutdown: ${pid} ${commandLine(pid)}\n`);
    if (left.length === 0) process.stderr.write('bench: every process started has ended\n');
  })();
  return shuttingDown;
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    progress(`${signal}: stopping every process started`);
    aborted = true;
    void shutdown().finally(() => process.exit(130));
  });
}

main().then(
  async (code) => {
    await shutdown();
    process.exit(code);
  },
  async (error: unknown) => {
    progress(`failed: ${(error as Error).stack ?? String(error)}`);
    await shutdown();
    process.exit(1);
  },
);
