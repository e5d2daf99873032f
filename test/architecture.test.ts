/**
 * The layering of src/, pinned by the import statements of every file (docs/ARCHITECTURE.md):
 *   - nothing outside src/cli imports src/cli;
 *   - src/protocol imports nothing from other src folders;
 *   - src/pipeline imports only protocol (and util);
 *   - src/transports imports neither proxy/, access/, audit/ nor config/load;
 *   - src/access and src/audit import neither proxy/ nor transports/.
 * Type-only imports count: they couple the layers just the same.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..');
const SRC = join(ROOT, 'src');

interface Edge {
  /** Importing file, relative to src/ (e.g. `pipeline/pipeline.ts`). */
  readonly from: string;
  /** Imported file, relative to src/ (e.g. `protocol/frame.ts`). */
  readonly to: string;
  readonly line: number;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return /\.(ts|mts|cts|js|mjs)$/.test(entry.name) ? [path] : [];
  });
}

/** Every module specifier in `text`: static imports and re-exports (also multi-line), side-effect imports, dynamic import(). */
function specifiers(text: string): Array<{ specifier: string; index: number }> {
  const withoutComments = text.replace(/\/\*[\s\S]*?\*\//g, (m) => m.replace(/[^\n]/g, ' ')).replace(/(^|[^:\\'"`])\/\/.*$/gm, (m, p: string) => p + ' '.repeat(m.length - p.length));
  const found: Array<{ specifier: string; index: number }> = [];
  const patterns = [/\b(?:import|export)\b[^;'"`]*?\bfrom\s*(['"])([^'"]+)\1/g, /\bimport\s*(['"])([^'"]+)\1/g, /\bimport\s*\(\s*(['"])([^'"]+)\1\s*\)/g];
  for (const pattern of patterns) {
    for (const match of withoutComments.matchAll(pattern)) found.push({ specifier: match[2]!, index: match.index });
  }
  return found;
}

function edgesOf(file: string): Edge[] {
  const text = readFileSync(file, 'utf8');
  const from = relative(SRC, file).split('\\').join('/');
  return specifiers(text)
    .filter((s) => s.specifier.startsWith('.'))
    .map((s) => ({
      from,
      to: relative(SRC, resolve(dirname(file), s.specifier)).split('\\').join('/'),
      line: text.slice(0, s.index).split('\n').length,
    }));
}

const files = sourceFiles(SRC);
const edges = files.flatMap(edgesOf);

/** The top-level folder of a path under src/ ('' for files directly in src/). */
const folder = (path: string): string => (path.includes('/') ? path.slice(0, path.indexOf('/')) : '');
const show = (list: Edge[]) => list.map((e) => `src/${e.from}:${e.line} imports src/${e.to}`);

/** Edges out of `from` folders that break `allowed(edge)`. */
function violations(list: Edge[], applies: (e: Edge) => boolean, allowed: (e: Edge) => boolean): string[] {
  return show(list.filter((e) => applies(e) && !allowed(e)));
}

describe('architecture: import rules of src/', () => {
  it('reads the real import graph (guards against a parser that finds nothing)', () => {
    expect(files.length).toBeGreaterThan(30);
    const has = (from: string, to: string) => edges.some((e) => e.from === from && e.to === to);
    expect(has('pipeline/pipeline.ts', 'protocol/frame.ts')).toBe(true);
    expect(has('proxy/gateway.ts', 'access/request-filter.ts')).toBe(true);
    expect(has('cli/main.ts', 'cli/commands/run.ts')).toBe(true); // a dynamic import
    expect(has('index.ts', 'proxy/start.ts')).toBe(true);
    // Every edge points at a file that exists under src/.
    const known = new Set(files.map((f) => relative(SRC, f).split('\\').join('/')));
    expect(edges.filter((e) => !known.has(e.to)).map((e) => `${e.from} -> ${e.to}`)).toEqual([]);
    expect(edges.filter((e) => e.to.startsWith('..'))).toEqual([]);
  });

  it('finds every kind of import statement', () => {
    const sample = [
      "import { a } from './a.ts';",
      "import type { B } from '../b/b.ts';",
      'import {\n  c,\n  d,\n} from "./c.ts";',
      "export { e } from './e.ts';",
      "export * from './f.ts';",
      "import './g.ts';",
      "const h = await import('./h.ts');",
      "// import { no } from './commented.ts';",
      "/* import { no } from './block.ts'; */",
      "const s = 'not an import from here';",
    ].join('\n');
    expect(specifiers(sample).map((s) => s.specifier).sort()).toEqual(['../b/b.ts', './a.ts', './c.ts', './e.ts', './f.ts', './g.ts', './h.ts'].sort());
  });

  it('flags a violating edge (the checks below can fail)', () => {
    const fake: Edge[] = [
      { from: 'protocol/x.ts', to: 'pipeline/y.ts', line: 1 },
      { from: 'protocol/x.ts', to: 'protocol/z.ts', line: 2 },
    ];
    expect(violations(fake, (e) => folder(e.from) === 'protocol', (e) => folder(e.to) === 'protocol')).toEqual(['src/protocol/x.ts:1 imports src/pipeline/y.ts']);
  });

  it('nothing outside src/cli imports src/cli', () => {
    expect(violations(edges, (e) => folder(e.from) !== 'cli', (e) => folder(e.to) !== 'cli')).toEqual([]);
  });

  it('src/protocol imports nothing from other src folders', () => {
    expect(violations(edges, (e) => folder(e.from) === 'protocol', (e) => folder(e.to) === 'protocol')).toEqual([]);
  });

  it('src/pipeline imports only protocol and util', () => {
    expect(violations(edges, (e) => folder(e.from) === 'pipeline', (e) => ['pipeline', 'protocol', 'util'].includes(folder(e.to)))).toEqual([]);
  });

  it('src/transports imports neither proxy/, access/, audit/ nor config/load', () => {
    expect(
      violations(
        edges,
        (e) => folder(e.from) === 'transports',
        (e) => !['proxy', 'access', 'audit'].includes(folder(e.to)) && e.to !== 'config/load.ts',
      ),
    ).toEqual([]);
  });

  it('src/access, src/guards, src/limits and src/audit import neither proxy/ nor transports/', () => {
    expect(violations(edges, (e) => ['access', 'guards', 'limits', 'audit'].includes(folder(e.from)), (e) => !['proxy', 'transports'].includes(folder(e.to)))).toEqual([]);
  });

  it('the running gateway never loads the config tooling (zod, yaml: loaded in a child process, see cli/config-process.ts)', () => {
    // Modules a module loads when it runs: every import except `import type` / `export type`,
    // which type stripping removes. Dynamic imports count too.
    const runtime = new Map<string, string[]>();
    for (const file of files) {
      const text = readFileSync(file, 'utf8');
      const from = relative(SRC, file).split('\\').join('/');
      const typeOnly = new Set([...text.matchAll(/\b(?:import|export)\s+type\b[^;]*?\bfrom\s*(['"])([^'"]+)\1/g)].map((m) => m.index));
      runtime.set(
        from,
        specifiers(text)
          .filter((s) => s.specifier.startsWith('.') && !typeOnly.has(s.index))
          .map((s) => relative(SRC, resolve(dirname(file), s.specifier)).split('\\').join('/')),
      );
    }
    const reach = (start: string): Set<string> => {
      const seen = new Set<string>();
      const todo = [start];
      while (todo.length > 0) {
        const next = todo.pop()!;
        if (seen.has(next)) continue;
        seen.add(next);
        todo.push(...(runtime.get(next) ?? []));
      }
      return seen;
    };
    const loaded = reach('cli/commands/run.ts');
    expect(loaded.has('proxy/gateway.ts')).toBe(true);
    expect(loaded.has('cli/commands/run-config.ts')).toBe(false);
    expect([...loaded].filter((f) => f === 'config/load.ts' || f === 'config/schema.ts' || f === 'config/json-schema.ts' || f === 'config/flow-config.ts')).toEqual([]);
    expect(loaded.has('flow/flow-stage.ts')).toBe(true);
    // …while the loader process does (so the check above is about something real); the
    // regular-expression checker (redos-detector) comes in only with flow-config.ts.
    expect(reach('cli/config-process.ts').has('config/schema.ts')).toBe(true);
    expect(reach('cli/config-process.ts').has('config/flow-config.ts')).toBe(true);
    expect(readFileSync(join(SRC, 'config/flow-config.ts'), 'utf8')).toContain("from 'redos-detector'");
  });
});
