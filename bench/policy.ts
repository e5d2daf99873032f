/**
 * `npm run bench` part 1: what the policy costs per call, in process. The built-in stages
 * (request filter, argument schema, argument guards, action limiter) run on a typical
 * `tools/call` the way the session runs them, timed in batches; the figure is the median per
 * call over batches, in microseconds (target: policy and guards together <= 10 µs p50).
 *
 *   node bench/policy.ts [--quick]
 */
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { argumentSchema } from '../src/access/argument-schema.ts';
import { requestFilter } from '../src/access/request-filter.ts';
import type { ServerPolicy } from '../src/config/config.ts';
import { parseConfigText } from '../src/config/load.ts';
import { argumentGuards } from '../src/guards/argument-guards.ts';
import { actionLimiter } from '../src/limits/action-limiter.ts';
import { Pipeline, type PipelineInput } from '../src/pipeline/pipeline.ts';
import type { Stage } from '../src/pipeline/stage.ts';
import { SecurityContext } from '../src/pipeline/security-context.ts';
import { decodeFrame } from '../src/protocol/frame.ts';
import { quantile } from './stats.ts';

const quick = process.argv.includes('--quick');
const BATCH = 1000;
const BATCHES = quick ? 50 : 300;

const dir = realpathSync(mkdtempSync(join(tmpdir(), 'guardrail-bench-policy-')));
mkdirSync(join(dir, 'data/notes'), { recursive: true });
writeFileSync(join(dir, 'data/notes/today.md'), '# today\n');

const yaml = `
upstreams:
  files:
    command: node
    policy:
      tools: { deny: [move_file] }
      guards: [{ preset: filesystem, roots: ["${dir}/data"] }]
      rate_limits: [{ scope: session, rate: 1000000/s }]
  web:
    command: node
    policy:
      guards: [{ preset: fetch, hosts: ["*.example.com", "93.184.216.34"] }]
`;
const loaded = parseConfigText(yaml, { source: join(dir, 'guardrail.yaml') });
if (!loaded.ok) throw new Error(loaded.errors.map((e) => e.message).join('\n'));
const policies = new Map<string, ServerPolicy>(loaded.config.upstreams.map((u) => [u.name, u.policy]));
const guards = argumentGuards(policies);
await guards.prepare();
const filter = requestFilter({ maxDepth: 64, policies });
const schema = argumentSchema({ servers: new Set(policies.keys()) });
const limiter = actionLimiter({ rules: new Map([...policies].map(([name, p]) => [name, p.limits])) });
const session = new SecurityContext({ sessionId: 'bench', transport: 'stdio' });

const frame = (text: string) => {
  const decoded = decodeFrame(Buffer.from(text));
  if (!decoded.ok) throw new Error(decoded.reason);
  return decoded.frame;
};
const at = (server: string, target: string, text: string, method = 'tools/call', direction: PipelineInput['direction'] = 'client-to-server'): PipelineInput => {
  const f = frame(text);
  return { direction, era: 'legacy', kind: f.kind, method, frame: f, session, server, target, request: undefined };
};

// The schemas the stage learns from a listing, as in a session.
const listing = { jsonrpc: '2.0', id: 0, result: { tools: [
  { name: 'read_text_file', inputSchema: { type: 'object', properties: { path: { type: 'string' }, head: { type: 'number' }, tail: { type: 'number' } }, required: ['path'], additionalProperties: false } },
  { name: 'fetch', inputSchema: { type: 'object', properties: { url: { type: 'string', format: 'uri' }, max_length: { type: 'integer' } }, required: ['url'] } },
] } };

const cases: Array<{ label: string; stages: Stage[]; input: PipelineInput }> = [
  { label: 'request filter only', stages: [filter], input: at('files', 'read_text_file', `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"read_text_file","arguments":{"path":"${dir}/data/notes/today.md"}}}`) },
  { label: 'filter + schema + path guard (file exists)', stages: [filter, schema, guards.stage], input: at('files', 'read_text_file', `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"read_text_file","arguments":{"path":"${dir}/data/notes/today.md"}}}`) },
  { label: 'filter + schema + path guard (new file)', stages: [filter, schema, guards.stage], input: at('files', 'read_text_file', `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"read_text_file","arguments":{"path":"notes/tomorrow.md"}}}`) },
  { label: 'filter + schema + path guard + rate limit', stages: [filter, schema, guards.stage, limiter], input: at('files', 'read_text_file', `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"read_text_file","arguments":{"path":"${dir}/data/notes/today.md"}}}`) },
  { label: 'filter + schema + URL guard (literal IP)', stages: [filter, schema, guards.stage], input: at('web', 'fetch', '{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"fetch","arguments":{"url":"https://93.184.216.34/index.html"}}}') },
];

for (const c of cases) {
  const pipeline = new Pipeline(c.stages);
  pipeline.run(at(c.input.server!, '', JSON.stringify({ ...listing, result: { tools: listing.result.tools } }), 'tools/list', 'server-to-client'));
  // Warm up, then time batches.
  // A stage that answers with a promise (the limiter) is awaited, as the session does.
  const once = async () => {
    const outcome = pipeline.run(c.input);
    return outcome instanceof Promise ? (await outcome).verdict : outcome.verdict;
  };
  for (let i = 0; i < 20_000; i++) await once();
  const perCall: number[] = [];
  let verdict = '';
  for (let b = 0; b < BATCHES; b++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < BATCH; i++) verdict = await once();
    perCall.push(Number(process.hrtime.bigint() - start) / BATCH / 1000);
  }
  process.stdout.write(`${c.label.padEnd(46)} ${quantile(perCall, 0.5).toFixed(2).padStart(6)} µs p50  ${quantile(perCall, 0.99).toFixed(2).padStart(6)} µs p99  (${verdict})\n`);
}
rmSync(dir, { recursive: true, force: true });
