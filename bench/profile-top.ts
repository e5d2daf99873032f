/**
 * Summarises a V8 CPU profile (from `npm run bench -- --cpu-prof DIR`): the functions with the
 * most self time and the most inclusive time, as shares of the sampled time.
 *
 *   node bench/profile-top.ts FILE.cpuprofile [--top N] [--filter TEXT] [--skip-ms N]
 *
 * `--skip-ms` leaves out the first N ms of the profile (start-up, module loading).
 */
import { readFileSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const { values, positionals } = parseArgs({
  options: { top: { type: 'string', default: '25' }, filter: { type: 'string' }, 'skip-ms': { type: 'string', default: '0' } },
  allowPositionals: true,
});
if (positionals.length !== 1) {
  process.stderr.write('usage: node bench/profile-top.ts FILE.cpuprofile [--top N] [--filter TEXT] [--skip-ms N]\n');
  process.exit(2);
}
const top = Number(values.top);
const profile = JSON.parse(readFileSync(positionals[0]!, 'utf8')) as Profile;
const ROOT = resolve(import.meta.dirname, '..');

const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

const label = (n: ProfileNode): string => {
  const { functionName, url, lineNumber } = n.callFrame;
  const file = url.startsWith('file://') ? relative(ROOT, new URL(url).pathname) : url;
  return `${functionName || '(anonymous)'} ${file ? `${file}:${lineNumber + 1}` : ''}`.trim();
};

const self = new Map<string, number>();
const inclusive = new Map<string, number>();
let total = 0;
let idle = 0;
let clock = 0;
const skipUs = Number(values['skip-ms']) * 1000;
profile.samples.forEach((id, i) => {
  const dt = profile.timeDeltas[i] ?? 0;
  clock += dt;
  if (clock < skipUs) return;
  const node = byId.get(id)!;
  total += dt;
  if (node.callFrame.functionName === '(idle)') idle += dt;
  self.set(label(node), (self.get(label(node)) ?? 0) + dt);
  const seen = new Set<string>();
  for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
    const key = label(byId.get(at)!);
    if (seen.has(key)) continue;
    seen.add(key);
    inclusive.set(key, (inclusive.get(key) ?? 0) + dt);
  }
});

const busy = total - idle;
const print = (title: string, table: Map<string, number>) => {
  process.stdout.write(`${title} (share of ${(busy / 1000).toFixed(0)} ms busy, ${(total / 1000).toFixed(0)} ms sampled)\n`);
  const rows = [...table]
    .filter(([key]) => key !== '(idle)' && key !== '(root)' && (values.filter === undefined || key.includes(values.filter)))
    .sort((a, b) => b[1] - a[1])
    .slice(0, top);
  for (const [key, us] of rows) process.stdout.write(`${((100 * us) / busy).toFixed(1).padStart(6)}%  ${key}\n`);
  process.stdout.write('\n');
};
print('self time', self);
print('inclusive time', inclusive);
