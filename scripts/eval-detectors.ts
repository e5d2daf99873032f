/**
 * Scores the flow detectors against test/flow/corpus (`node scripts/eval-detectors.ts`): a table
 * per detector (cases expecting it, TP, FP, FN, precision, recall, F2) with micro-averaged
 * totals, then every case whose found set differs from its expectation, then the disputed cases
 * for information. Exits 1 when a target is missed (recall >= 0.98, precision >= 0.95 for every
 * secret detector, payment-card, iban and us-ssn). The counting lives in test/flow/metrics.ts,
 * shared with test/flow/detectors.corpus.test.ts.
 */
import { scanText } from '../src/flow/scan.ts';
import { loadCorpus } from '../test/flow/corpus.ts';
import { missedTargets, misses, report, tally, type Outcome } from '../test/flow/metrics.ts';

const corpus = loadCorpus();
const found = (text: string): string[] => [...new Set(scanText(text).map((f) => f.detector))].sort();
const outcomes: Outcome[] = corpus.cases.map((c) => ({ name: c.name, text: c.text, expect: c.expect, found: found(c.text) }));

process.stdout.write(`${report(outcomes)}\n`);

const disputed = misses(corpus.disputed.map((c) => ({ name: c.name, text: c.text, expect: c.expect, found: found(c.text) })));
process.stdout.write(`\n${corpus.disputed.length} disputed cases (not scored); ${disputed.length} differ from the corpus's reading${disputed.length ? ':' : '.'}\n`);
for (const d of disputed) process.stdout.write(`  - ${d.name}: reading [${d.expect.join(', ')}], found [${[...new Set(d.found)].join(', ')}]\n`);

const missed = missedTargets(tally(outcomes));
if (missed.length > 0) {
  process.stderr.write(`\nTargets missed:\n${missed.map((m) => `  ${m}`).join('\n')}\n`);
  process.exitCode = 1;
} else {
  process.stdout.write('\nAll targets met.\n');
}
