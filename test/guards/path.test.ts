/**
 * The path guard against its corpus (test/guards/corpus/path.yaml), on a real temporary tree
 * with real symlinks, plus property tests: a traversal re-spelled in any mix of encodings and
 * separators never gets out.
 */
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GuardConfigError } from '../../src/guards/guard.ts';
import { pathGuard, type PathGuardOptions } from '../../src/guards/path.ts';
import { loadCorpus, type CorpusCase } from './corpus.ts';

const corpus = loadCorpus('path');
let tmp: string;

beforeAll(() => {
  tmp = realpathSync(mkdtempSync(join(tmpdir(), 'guardrail-path-')));
  for (const [key, value] of Object.entries(corpus.extra.tree as Record<string, unknown>)) {
    const path = join(tmp, key);
    if (value === 'dir') mkdirSync(path, { recursive: true });
    else if (typeof value === 'string') {
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, value);
    } else {
      mkdirSync(dirname(path), { recursive: true });
      symlinkSync((value as { symlink: string }).symlink, path);
    }
  }
});

afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const fill = <T>(value: T): T => JSON.parse(JSON.stringify(value).replaceAll('{tmp}', tmp)) as T;

function judge(c: CorpusCase) {
  const guard = pathGuard(fill(c.options) as unknown as PathGuardOptions);
  return guard.check(fill(c.input), { tool: 'read_file', argument: 'path' }) as ReturnType<typeof guard.check> & object;
}

describe('path guard corpus', () => {
  it.each(corpus.cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const result = judge(c);
    if (c.verdict === 'allow') expect(result).toBeUndefined();
    else expect(result).toMatchObject({ rule: c.rule });
  });

  // Judgement calls: the verdict is certain for all of them; the rule is ours to choose.
  it.each(corpus.disputed.map((c) => [c.name, c] as const))('disputed: %s', (_name, c) => {
    const result = judge(c);
    if (c.verdict === 'allow') expect(result).toBeUndefined();
    else expect(result, c.note).toBeDefined();
  });
});

describe('path guard properties', () => {
  /** One spelling of "..": plain, or any of its percent-encodings, applied 1–3 times. */
  const dotDot = fc.constantFrom('..', '%2e%2e', '%2E%2E', '.%2e', '%2e.', '%252e%252e', '%25252e%25252e');
  const separator = fc.constantFrom('/', '\\', '%2f', '%2F', '%5c', '%252f', '//');

  it('never lets a traversal out of the root, whatever its spelling', () => {
    const guard = pathGuard({ roots: [join(tmp, 'srv/allowed')] });
    fc.assert(
      fc.property(fc.array(fc.tuple(dotDot, separator), { minLength: 2, maxLength: 4 }), fc.constantFrom('secret/passwd', 'allowed_old/secret.txt'), (steps, target) => {
        const input = `${steps.map(([d, s]) => d + s).join('')}${target}`;
        expect(guard.check(input, { tool: 't', argument: 'path' })).toBeDefined();
      }),
    );
  });

  it('keeps allowing plain names inside the root, in any folder depth', () => {
    const guard = pathGuard({ roots: [join(tmp, 'srv/allowed')] });
    const segment = fc.stringMatching(/^[a-zA-Z0-9_-]{1,12}$/);
    fc.assert(
      fc.property(fc.array(segment, { minLength: 1, maxLength: 5 }), (parts) => {
        expect(guard.check(parts.join('/'), { tool: 't', argument: 'path' })).toBeUndefined();
      }),
    );
  });
});

describe('path guard options', () => {
  it('refuses options it cannot honour, at load', () => {
    expect(() => pathGuard({ roots: [] })).toThrow(GuardConfigError);
    expect(() => pathGuard({ roots: ['relative/dir'] })).toThrow(/not an absolute path/);
    expect(() => pathGuard({ roots: ['/srv'], extensions: ['txt'] })).toThrow(/extension/);
    expect(() => pathGuard({ roots: ['/srv'], operation: 'execute' as never })).toThrow(/operation/);
  });

  it('refuses reading a file over max_file_bytes, and allows a smaller one', () => {
    const guard = pathGuard({ roots: [join(tmp, 'srv/allowed')], maxFileBytes: 10 });
    expect(guard.check('notes.txt', { tool: 't', argument: 'path' })).toBeUndefined();
    writeFileSync(join(tmp, 'srv/allowed/big.txt'), 'x'.repeat(11));
    expect(guard.check('big.txt', { tool: 't', argument: 'path' })).toMatchObject({ rule: 'path.too-large', evidence: { size: 11, limit: 10 } });
  });
});
