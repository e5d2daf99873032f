/**
 * Loads the flow-detector corpus (test/flow/corpus/*.yaml; README.md there gives the shape and
 * the placeholder grammar): every case with its placeholders expanded into deterministic fakes.
 * A malformed case (unknown detector id, duplicate name, bad placeholder) fails the load.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { expandPlaceholders } from './fakes.ts';
import { DETECTORS } from './metrics.ts';

export interface FlowCase {
  readonly name: string;
  /** The text with placeholders expanded. */
  readonly text: string;
  /** Detector ids that must be reported, and no others. */
  readonly expect: readonly string[];
  readonly note?: string;
  /** When set, every finding in this text must carry this encoding. */
  readonly encoding?: 'base64' | 'percent';
  /** The section the case sits in: the detector it exercises, or `encoded`. */
  readonly about: string;
  readonly file: string;
  /** The text as written in the corpus, placeholders unexpanded. */
  readonly source: string;
}

export interface FlowCorpus {
  readonly cases: readonly FlowCase[];
  /** Judgement calls: reported by the runners, not asserted, not scored. */
  readonly disputed: readonly FlowCase[];
}

export const CORPUS_DIR = join(import.meta.dirname, 'corpus');
const SECTIONS = new Set([...DETECTORS, 'encoded']);

function readCase(raw: unknown, about: string, file: string): FlowCase {
  const c = raw as Record<string, unknown>;
  const where = `${file}: case ${JSON.stringify(c.name)}`;
  if (typeof c.name !== 'string' || c.name === '') throw new Error(`${file}: a case in ${about} has no name`);
  if (typeof c.text !== 'string') throw new Error(`${where}: text must be a string`);
  if (!Array.isArray(c.expect) || !c.expect.every((id) => typeof id === 'string')) throw new Error(`${where}: expect must be a list of detector ids`);
  for (const id of c.expect as string[]) if (!DETECTORS.includes(id)) throw new Error(`${where}: unknown detector id "${id}"`);
  if (c.encoding !== undefined && c.encoding !== 'base64' && c.encoding !== 'percent') throw new Error(`${where}: encoding must be base64 or percent`);
  const known = new Set(['name', 'text', 'expect', 'note', 'encoding', 'about']);
  for (const key of Object.keys(c)) if (!known.has(key)) throw new Error(`${where}: unknown field "${key}"`);
  return {
    name: c.name,
    text: expandPlaceholders(c.text, c.name),
    expect: [...new Set(c.expect as string[])].sort(),
    ...(c.note === undefined ? {} : { note: String(c.note) }),
    ...(c.encoding === undefined ? {} : { encoding: c.encoding as 'base64' | 'percent' }),
    about,
    file,
    source: c.text,
  };
}

/** Every case of every corpus file, in file order. */
export function loadCorpus(dir: string = CORPUS_DIR): FlowCorpus {
  const cases: FlowCase[] = [];
  const disputed: FlowCase[] = [];
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort()) {
    const doc = parse(readFileSync(join(dir, file), 'utf8')) as Record<string, unknown>;
    const sections = (doc.cases ?? {}) as Record<string, unknown>;
    for (const [about, list] of Object.entries(sections)) {
      if (!SECTIONS.has(about)) throw new Error(`${file}: unknown section "${about}" (a detector id or "encoded")`);
      for (const raw of (list ?? []) as unknown[]) cases.push(readCase(raw, about, file));
    }
    for (const raw of (doc.disputed ?? []) as Array<Record<string, unknown>>) {
      const about = String(raw.about ?? '');
      if (!SECTIONS.has(about)) throw new Error(`${file}: disputed case ${JSON.stringify(raw.name)} needs an "about" (a detector id or "encoded")`);
      if (typeof raw.note !== 'string') throw new Error(`${file}: disputed case ${JSON.stringify(raw.name)} needs a note`);
      disputed.push(readCase(raw, about, file));
    }
  }
  const seen = new Set<string>();
  for (const c of [...cases, ...disputed]) {
    // Names seed the fakes, so two cases with one name would share values.
    if (seen.has(c.name)) throw new Error(`${c.file}: duplicate case name "${c.name}"`);
    seen.add(c.name);
  }
  return { cases, disputed };
}
