/**
 * Loads a guard corpus (test/guards/corpus/*.yaml; README.md there gives the shape): the cases
 * with the file's defaults merged in (shallowly), option keys turned from the YAML's snake_case
 * into the guards' camelCase.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

export interface CorpusCase {
  readonly name: string;
  readonly input: unknown;
  readonly options: Record<string, unknown>;
  readonly verdict: 'allow' | 'deny';
  readonly rule?: string;
  readonly note?: string;
}

export interface Corpus {
  readonly guard: string;
  readonly cases: readonly CorpusCase[];
  readonly disputed: readonly CorpusCase[];
  /** Top-level keys besides guard/defaults/cases/disputed (path: `tree`, url: `resolve`). */
  readonly extra: Readonly<Record<string, unknown>>;
}

const camel = (key: string): string => key.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

export function camelKeys(options: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(options).map(([k, v]) => [camel(k), v]));
}

export function loadCorpus(name: string): Corpus {
  const doc = parse(readFileSync(join(import.meta.dirname, 'corpus', `${name}.yaml`), 'utf8')) as Record<string, unknown>;
  const defaults = (doc.defaults ?? {}) as Record<string, unknown>;
  const read = (list: unknown): CorpusCase[] =>
    ((list ?? []) as Array<Record<string, unknown>>).map((c) => ({
      name: String(c.name),
      input: c.input,
      options: camelKeys({ ...defaults, ...((c.options ?? {}) as Record<string, unknown>) }),
      verdict: c.verdict as 'allow' | 'deny',
      ...(c.rule === undefined ? {} : { rule: String(c.rule) }),
      ...(c.note === undefined ? {} : { note: String(c.note) }),
    }));
  const { guard, defaults: _d, cases, disputed, ...extra } = doc;
  return { guard: String(guard), cases: read(cases), disputed: read(disputed), extra };
}
