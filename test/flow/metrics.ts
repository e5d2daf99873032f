/**
 * Scoring of the flow detectors against their corpus: per-detector true/false positives and
 * misses, precision, recall and F2, and the targets the brief sets. One implementation, used by
 * test/flow/detectors.corpus.test.ts and scripts/eval-detectors.ts.
 */

export const SECRET_DETECTORS = [
  'aws-access-key-id',
  'aws-secret-access-key',
  'github-token',
  'gitlab-token',
  'slack-token',
  'slack-webhook',
  'discord-webhook',
  'telegram-bot-token',
  'stripe-key',
  'square-token',
  'openai-api-key',
  'anthropic-api-key',
  'google-api-key',
  'npm-token',
  'private-key',
  'jwt',
  'database-url',
  'generic-secret',
] as const;

export const PII_DETECTORS = ['email', 'phone', 'payment-card', 'iban', 'us-ssn', 'ip-address'] as const;

export const DETECTORS: readonly string[] = [...SECRET_DETECTORS, ...PII_DETECTORS];

/** Detectors held to the targets: every secret detector, and the PII with a checksum or fixed shape. */
export const TARGETED: readonly string[] = [...SECRET_DETECTORS, 'payment-card', 'iban', 'us-ssn'];

export const TARGETS = { recall: 0.98, precision: 0.95 } as const;

/** What one case expected and what the scanner found (detector ids, any order, duplicates allowed). */
export interface Outcome {
  readonly name: string;
  readonly text: string;
  readonly expect: readonly string[];
  readonly found: readonly string[];
}

export interface Tally {
  /** Cases that expect this detector. */
  positives: number;
  tp: number;
  fp: number;
  fn: number;
}

const emptyTally = (): Tally => ({ positives: 0, tp: 0, fp: 0, fn: 0 });

/** Per case and per detector: TP = expected and found, FN = expected not found, FP = found not expected. */
export function tally(outcomes: readonly Outcome[]): Map<string, Tally> {
  const byDetector = new Map<string, Tally>(DETECTORS.map((d) => [d, emptyTally()]));
  for (const outcome of outcomes) {
    const expected = new Set(outcome.expect);
    const found = new Set(outcome.found);
    for (const id of new Set([...expected, ...found])) {
      let t = byDetector.get(id);
      if (t === undefined) byDetector.set(id, (t = emptyTally()));
      if (expected.has(id)) t.positives++;
      if (expected.has(id) && found.has(id)) t.tp++;
      else if (expected.has(id)) t.fn++;
      else t.fp++;
    }
  }
  return byDetector;
}

/** Sum of all detectors' counts (micro-average). */
export function total(tallies: ReadonlyMap<string, Tally>): Tally {
  const sum = emptyTally();
  for (const t of tallies.values()) {
    sum.positives += t.positives;
    sum.tp += t.tp;
    sum.fp += t.fp;
    sum.fn += t.fn;
  }
  return sum;
}

/** 1 when nothing was found (no false positive is possible). */
export const precision = (t: Tally): number => (t.tp + t.fp === 0 ? 1 : t.tp / (t.tp + t.fp));
/** 1 when nothing was expected. */
export const recall = (t: Tally): number => (t.tp + t.fn === 0 ? 1 : t.tp / (t.tp + t.fn));

/** F-beta with beta 2: recall weighs four times as much as precision. */
export function f2(t: Tally): number {
  const p = precision(t);
  const r = recall(t);
  return p + r === 0 ? 0 : (5 * p * r) / (4 * p + r);
}

/** One line per targeted detector that misses a target; empty when every target is met. */
export function missedTargets(tallies: ReadonlyMap<string, Tally>): string[] {
  const missed: string[] = [];
  for (const id of TARGETED) {
    const t = tallies.get(id) ?? emptyTally();
    if (recall(t) < TARGETS.recall) missed.push(`${id}: recall ${recall(t).toFixed(3)} < ${TARGETS.recall} (${t.fn} missed of ${t.tp + t.fn})`);
    if (precision(t) < TARGETS.precision) missed.push(`${id}: precision ${precision(t).toFixed(3)} < ${TARGETS.precision} (${t.fp} false of ${t.tp + t.fp})`);
  }
  return missed;
}

const sortedSet = (ids: readonly string[]): string[] => [...new Set(ids)].sort();

/** Cases whose found set differs from the expected set. */
export const misses = (outcomes: readonly Outcome[]): Outcome[] =>
  outcomes.filter((o) => sortedSet(o.expect).join(',') !== sortedSet(o.found).join(','));

/** The per-detector table, a totals row, and the misses, as plain text. */
export function report(outcomes: readonly Outcome[]): string {
  const tallies = tally(outcomes);
  const header = ['detector', 'cases', 'TP', 'FP', 'FN', 'precision', 'recall', 'F2', ''];
  const row = (id: string, t: Tally, mark: string): string[] => [id, String(t.positives), String(t.tp), String(t.fp), String(t.fn), precision(t).toFixed(3), recall(t).toFixed(3), f2(t).toFixed(3), mark];
  const rows = [...tallies].map(([id, t]) => {
    const targeted = TARGETED.includes(id);
    const ok = recall(t) >= TARGETS.recall && precision(t) >= TARGETS.precision;
    return row(id, t, targeted ? (ok ? 'ok' : 'MISSED TARGET') : '');
  });
  rows.push(row('total (micro)', total(tallies), ''));
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd();
  const lines = [line(header), ...rows.slice(0, -1).map(line), line(rows.at(-1)!)];
  const missList = misses(outcomes);
  lines.push('', `${missList.length} of ${outcomes.length} cases differ from their expectation${missList.length ? ':' : '.'}`);
  for (const m of missList) lines.push(`  - ${m.name}\n      expected [${sortedSet(m.expect).join(', ')}]  found [${sortedSet(m.found).join(', ')}]\n      text: ${JSON.stringify(m.text.length > 300 ? `${m.text.slice(0, 300)}...` : m.text)}`);
  return lines.join('\n');
}
