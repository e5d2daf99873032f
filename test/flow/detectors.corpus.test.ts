/**
 * The flow detectors against their corpus (test/flow/corpus/*.yaml): every case must report
 * exactly its expected set of detector ids; every finding must be well formed; and over the whole
 * corpus each targeted detector must reach recall >= 0.98 and precision >= 0.95. Disputed cases
 * (judgement calls) are printed, not asserted. `node scripts/eval-detectors.ts` prints the same
 * scores as a table.
 */
import { describe, expect, it } from 'vitest';
import { scanText, type Finding } from '../../src/flow/scan.ts';
import { loadCorpus, type FlowCase } from './corpus.ts';
import { DETECTORS, missedTargets, misses, report, tally, type Outcome } from './metrics.ts';

const corpus = loadCorpus();
const LEVELS = new Set(['PUBLIC', 'INTERNAL', 'SENSITIVE', 'RESTRICTED']);

const idsOf = (findings: readonly Finding[]): string[] => [...new Set(findings.map((f) => f.detector))].sort();

function describeCase(c: FlowCase, found: readonly string[]): string {
  return `case "${c.name}" (${c.file}, section ${c.about})\n  text:     ${JSON.stringify(c.text)}\n  expected: [${c.expect.join(', ')}]\n  found:    [${found.join(', ')}]`;
}

/** What every finding must look like, whatever the text. */
function expectWellFormed(text: string, findings: readonly Finding[], context: string): void {
  for (const f of findings) {
    const where = `${context}\n  finding: ${JSON.stringify(f)}`;
    expect(DETECTORS, where).toContain(f.detector);
    expect(Number.isInteger(f.start) && Number.isInteger(f.end), where).toBe(true);
    expect(f.start >= 0 && f.start < f.end && f.end <= text.length, where).toBe(true);
    expect(LEVELS.has(f.level), where).toBe(true);
    expect(f.confidence >= 0 && f.confidence <= 1, where).toBe(true);
    expect(f.encoding === undefined || f.encoding === 'base64' || f.encoding === 'percent', where).toBe(true);
    if (f.detector === 'ip-address') expect(f.level, where).toBe('INTERNAL');
  }
}

describe('flow detectors: corpus cases', () => {
  it.each(corpus.cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const findings = scanText(c.text);
    const found = idsOf(findings);
    const context = describeCase(c, found);
    expectWellFormed(c.text, findings, context);
    expect(found, context).toEqual(c.expect);
    if (c.encoding !== undefined) for (const f of findings) expect(f.encoding, `${context}\n  every finding should come from ${c.encoding} content`).toBe(c.encoding);
  });
});

describe('flow detectors: scores over the corpus', () => {
  const outcomes = (): Outcome[] => corpus.cases.map((c) => ({ name: c.name, text: c.text, expect: c.expect, found: idsOf(scanText(c.text)) }));

  it('meets recall >= 0.98 and precision >= 0.95 for every secret detector, payment-card, iban and us-ssn', () => {
    const all = outcomes();
    expect(missedTargets(tally(all)), report(all)).toEqual([]);
  });

  it('reports the disputed cases (judgement calls: printed, not asserted)', () => {
    const disputed = corpus.disputed.map((c) => ({ c, found: idsOf(scanText(c.text)) }));
    const differing = misses(disputed.map(({ c, found }) => ({ name: c.name, text: c.text, expect: c.expect, found })));
    const lines = disputed
      .filter(({ c }) => differing.some((m) => m.name === c.name))
      .map(({ c, found }) => `  - ${c.name}: corpus reading [${c.expect.join(', ')}], scanner [${found.join(', ')}]\n      ${c.note}`);
    if (lines.length > 0) console.info(`${lines.length} of ${disputed.length} disputed cases differ from the corpus's reading:\n${lines.join('\n')}`);
    expect(disputed.length).toBe(corpus.disputed.length);
  });
});
