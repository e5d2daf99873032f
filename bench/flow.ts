/**
 * `npm run bench` part 2: what information-flow scanning costs. The full default detector set
 * (and the decoding of encoded blocks) runs over tool results of 1 MB and 10 MB, of two kinds:
 * a mix of prose, JSON rows, code and log lines with numbers everywhere, and real source and
 * documentation text (the JavaScript, TypeScript, Markdown and JSON files of node_modules), and
 * one character repeated (the gateway bench's payload).
 * Measured twice: the scanner on the bare text, and the whole flow stage on a `tools/call`
 * result carrying it (text and structuredContent, as the filesystem server sends). Target: a
 * 10 MB result adds <= 50 ms (>= 200 MB/s). Also the stage on a small result (per call, µs).
 *
 *   node bench/flow.ts [--quick]
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseConfigText } from '../src/config/load.ts';
import { flowStage } from '../src/flow/flow-stage.ts';
import { scanText } from '../src/flow/scan.ts';
import { SecurityContext } from '../src/pipeline/security-context.ts';
import type { StageContext } from '../src/pipeline/stage.ts';
import { frameOf } from '../src/protocol/frame.ts';
import { quantile } from './stats.ts';

const quick = process.argv.includes('--quick');
const ROUNDS = quick ? 3 : 7;

function mixed(bytes: number): string {
  const words = 'the quick brown fox jumps over lazy dog server request response value config error timeout user file path data result count index name version'.split(' ');
  let seed = 7;
  const r = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  const w = () => words[Math.floor(r() * words.length)]!;
  const lines: string[] = [];
  let n = 0;
  while (n < bytes) {
    const k = r();
    const line =
      k < 0.4
        ? `${Array.from({ length: 12 }, w).join(' ')}.`
        : k < 0.6
          ? JSON.stringify({ id: Math.floor(r() * 1e6), name: w(), created: '2024-01-15T10:20:30Z', size: Math.floor(r() * 1e9), ok: true })
          : k < 0.8
            ? `  const ${w()}Value = compute(${Math.floor(r() * 1000)}, "${w()}"); // v1.2.${Math.floor(r() * 9)}`
            : `2024-03-0${Math.floor(r() * 9)} 12:3${Math.floor(r() * 9)}:00 INFO request id=${Math.floor(r() * 1e9).toString(16)} took ${Math.floor(r() * 900)}ms status=200 path=/api/v1/items/${Math.floor(r() * 1e5)}`;
    lines.push(line);
    n += line.length + 1;
  }
  return lines.join('\n').slice(0, bytes);
}

function source(bytes: number): string {
  const parts: string[] = [];
  let n = 0;
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      if (n >= bytes) return;
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (/\.(js|ts|md|json)$/.test(entry.name) && statSync(path).size < 200_000) {
        const text = readFileSync(path, 'utf8');
        parts.push(text);
        n += text.length;
      }
    }
  };
  walk(resolve(import.meta.dirname, '../node_modules'));
  return parts.join('\n').slice(0, bytes);
}

const config = parseConfigText('upstreams: { files: { command: node } }\n', { source: join(process.cwd(), 'guardrail.yaml') });
if (!config.ok) throw new Error(config.errors.map((e) => e.message).join('\n'));
const stage = flowStage({ config: config.config.flow });
const session = new SecurityContext({ sessionId: 'bench', transport: 'stdio' });

function stageContext(text: string): StageContext {
  const message = { jsonrpc: '2.0' as const, id: 1, result: { content: [{ type: 'text', text }], structuredContent: { content: text } } };
  return {
    direction: 'server-to-client',
    era: 'legacy',
    kind: 'result',
    method: 'tools/call',
    frame: frameOf(message),
    session,
    server: 'files',
    target: 'read_text_file',
    request: { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'read_text_file', arguments: { path: '/x' } } },
  };
}

function time(run: () => unknown): number {
  const samples: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const start = performance.now();
    run();
    samples.push(performance.now() - start);
  }
  return quantile(samples, 0.5);
}

// As in a running gateway, the expressions first meet small messages: V8 compiles a regular
// expression with the first texts it runs on as a sample, and a pass tuned on the wrong sample
// can be several times slower on a big text.
const small = stageContext('{"path":"/srv/data/notes/today.md","size":1234,"modified":"2026-11-20T10:00:00Z"}');
for (let i = 0; i < 5000; i++) stage.evaluate(small);

console.log('information-flow scanning (full default detector set), p50 over %d rounds', ROUNDS);
console.log('text      size   scanner ms   MB/s   stage ms (text + structuredContent)');
for (const [name, make] of [
  ['mixed', mixed],
  ['source', source],
  ['x', (n: number) => 'x'.repeat(n)],
] as const) {
  for (const mb of [1, 10]) {
    const text = make(mb * 1_000_000);
    scanText(text);
    const scan = time(() => scanText(text));
    const context = stageContext(text);
    stage.evaluate(context);
    const whole = time(() => stage.evaluate(context));
    console.log(`${name.padEnd(8)} ${String(mb).padStart(3)} MB   ${scan.toFixed(1).padStart(8)}   ${(mb / (scan / 1000)).toFixed(0).padStart(5)}   ${whole.toFixed(1).padStart(8)}`);
  }
}

const perCall: number[] = [];
for (let batch = 0; batch < (quick ? 20 : 100); batch++) {
  const start = performance.now();
  for (let i = 0; i < 1000; i++) stage.evaluate(small);
  perCall.push(((performance.now() - start) / 1000) * 1000);
}
console.log(`flow stage on a small tools/call result: ${quantile(perCall, 0.5).toFixed(2)} µs p50`);
