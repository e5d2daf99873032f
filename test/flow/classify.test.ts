/**
 * Classification rules (seed 001 §3.2.2), normalised by the real loader so that defaults
 * (weight 1, threshold 1, confidence 0.8) are the real ones: regex, exact and keyword patterns,
 * weights against the threshold, findings that carry the rule id, level and confidence, and the
 * pluggable semantic classifier. The semantic tests run in file order: the registry is per
 * process and has no way to unregister, so the test without a classifier comes first.
 */
import { describe, expect, it } from 'vitest';
import type { ClassificationRuleConfig } from '../../src/config/config.ts';
import { checkConfig, formatIssue } from '../../src/config/load.ts';
import { compileClassificationRules, registerSemanticClassifier, type Classifier } from '../../src/flow/classify.ts';

type Obj = Record<string, unknown>;

function rules(list: Obj[]): readonly ClassificationRuleConfig[] {
  const result = checkConfig({ upstreams: { files: { command: 'node' } }, flow: { classification_rules: list } }, { env: {} });
  if (!result.ok) throw new Error(`expected the config to load:\n${result.errors.map(formatIssue).join('\n')}`);
  return result.config.flow.classificationRules;
}

const classifier = (list: Obj[]): Classifier => compileClassificationRules(rules(list));
/** One rule with these patterns, RESTRICTED unless said otherwise. */
const rule = (patterns: Obj[], extra: Obj = {}): Classifier => classifier([{ id: 'r', patterns, classification: 'RESTRICTED', ...extra }]);
const matched = (c: Classifier, text: string) => c.classify(text).map((f) => text.slice(f.start, f.end));

describe('findings', () => {
  it('carry the rule id, its level and confidence, and the span of the match', () => {
    const c = classifier([{ id: 'project-codes', patterns: [{ type: 'regex', value: 'PRJ-\\d{4}' }], classification: 'SENSITIVE', confidence: 0.65 }]);
    const text = 'See PRJ-0042 and PRJ-1337.';
    expect(c.classify(text)).toEqual([
      { detector: 'project-codes', start: 4, end: 12, level: 'SENSITIVE', confidence: 0.65 },
      { detector: 'project-codes', start: 17, end: 25, level: 'SENSITIVE', confidence: 0.65 },
    ]);
  });

  it('default to confidence 0.8', () => {
    expect(rule([{ type: 'exact', value: 'Bluebird' }]).classify('Bluebird')).toEqual([{ detector: 'r', start: 0, end: 8, level: 'RESTRICTED', confidence: 0.8 }]);
  });

  it('are UTF-16 offsets after non-ASCII text', () => {
    const text = '🚀 Déploiement: Bluebird';
    const [f] = rule([{ type: 'keyword', value: 'bluebird' }]).classify(text);
    expect(text.slice(f!.start, f!.end)).toBe('Bluebird');
  });

  it('come from every rule that reaches its threshold, each under its own id', () => {
    const c = classifier([
      { id: 'codename', patterns: [{ type: 'keyword', value: 'bluebird' }], classification: 'RESTRICTED' },
      { id: 'finance', priority: 5, patterns: [{ type: 'keyword', value: 'payroll' }], classification: 'SENSITIVE' },
      { id: 'absent', patterns: [{ type: 'keyword', value: 'kestrel' }], classification: 'SENSITIVE' },
    ]);
    const findings = c.classify('bluebird payroll');
    expect(findings.map((f) => [f.detector, f.level]).sort()).toEqual([
      ['codename', 'RESTRICTED'],
      ['finance', 'SENSITIVE'],
    ]);
  });

  it('an empty rule list says so and finds nothing', () => {
    const c = compileClassificationRules([]);
    expect(c.empty).toBe(true);
    expect(c.classify('anything at all')).toEqual([]);
    expect(rule([{ type: 'exact', value: 'x' }]).empty).toBe(false);
  });
});

describe('pattern types', () => {
  it('regex: a regular expression with the u flag (Unicode property escapes work)', () => {
    const c = rule([{ type: 'regex', value: '\\p{Lu}{3}-\\d{2}' }]);
    expect(matched(c, 'codes ÄÖÜ-12 and abc-34 and ABC-56')).toEqual(['ÄÖÜ-12', 'ABC-56']);
  });

  it('regex: an expression that can match the empty string yields no empty findings and terminates', () => {
    const c = rule([{ type: 'regex', value: '(?:x{2})?' }]);
    expect(matched(c, 'a xx b')).toEqual(['xx']);
    expect(c.classify('abc')).toEqual([]);
  });

  it('exact: the literal text, case-sensitive, special characters taken literally, also inside words', () => {
    const c = rule([{ type: 'exact', value: 'v1.2 (beta)' }]);
    expect(matched(c, 'ship v1.2 (beta) now')).toEqual(['v1.2 (beta)']);
    expect(matched(c, 'ship v1x2 (beta) now')).toEqual([]);
    expect(matched(c, 'ship V1.2 (BETA) now')).toEqual([]);
    expect(matched(rule([{ type: 'exact', value: 'Bird' }]), 'Bluebird, BlueBird')).toEqual(['Bird']);
  });

  it('keyword: a whole word in any case', () => {
    const c = rule([{ type: 'keyword', value: 'bluebird' }]);
    expect(matched(c, 'Bluebird, BLUEBIRD and (bluebird).')).toEqual(['Bluebird', 'BLUEBIRD', 'bluebird']);
    expect(matched(c, 'bluebirds xbluebird bluebird_v2 bluebird2 éBluebird')).toEqual([]);
  });

  it('keyword: non-ASCII letters in any case, and punctuation in the keyword taken literally', () => {
    expect(matched(rule([{ type: 'keyword', value: 'café' }]), 'CAFÉ, Café, cafés, décafé')).toEqual(['CAFÉ', 'Café']);
    expect(matched(rule([{ type: 'keyword', value: 'c++' }]), 'we use C++ and c++x')).toEqual(['C++']);
    expect(matched(rule([{ type: 'keyword', value: 'a.b' }]), 'axb a.b')).toEqual(['a.b']);
  });
});

describe('weights and threshold', () => {
  const weighted = (threshold: number) =>
    rule(
      [
        { type: 'keyword', value: 'salary', weight: 0.5 },
        { type: 'keyword', value: 'employee', weight: 0.5 },
        { type: 'keyword', value: 'confidential', weight: 1 },
      ],
      { threshold },
    );

  it('classify when the summed weights of the patterns that match reach the threshold', () => {
    expect(weighted(1).classify('salary review')).toEqual([]);
    expect(matched(weighted(1), 'employee salary review').sort()).toEqual(['employee', 'salary']);
    expect(matched(weighted(1), 'confidential memo')).toEqual(['confidential']);
    expect(weighted(2).classify('employee salary review')).toEqual([]);
    expect(weighted(2).classify('confidential employee salary review')).toHaveLength(3);
  });

  it('count a pattern once however often it matches, and report every match', () => {
    const c = weighted(1);
    expect(c.classify('salary salary salary')).toEqual([]);
    expect(matched(c, 'salary, salary, employee')).toHaveLength(3);
  });

  it('default to weight 1 and threshold 1: one pattern is enough', () => {
    const c = rule([{ type: 'keyword', value: 'kestrel' }, { type: 'keyword', value: 'osprey' }]);
    expect(matched(c, 'osprey')).toEqual(['osprey']);
  });

  it('a threshold below 1 classifies on a single light pattern', () => {
    expect(matched(weighted(0.5), 'salary review')).toEqual(['salary']);
  });
});

describe('semantic patterns', () => {
  const semanticRule = () => rule([{ type: 'semantic', value: 'medical information' }], { classification: 'SENSITIVE' });

  it('match nothing while no classifier is registered', () => {
    expect(semanticRule().classify('The patient was diagnosed with asthma.')).toEqual([]);
  });

  it('use the registered classifier, asked with the text and the pattern value, also for rules compiled before', () => {
    const compiledBefore = semanticRule();
    const calls: [string, string][] = [];
    registerSemanticClassifier((text, value) => {
      calls.push([text, value]);
      const at = text.indexOf('diagnosed');
      return at === -1 ? [] : [{ start: at, end: text.length }];
    });
    const text = 'Status: diagnosed with asthma.';
    expect(compiledBefore.classify(text)).toEqual([{ detector: 'r', start: 8, end: text.length, level: 'SENSITIVE', confidence: 0.8 }]);
    expect(calls).toEqual([[text, 'medical information']]);
    expect(semanticRule().classify('Lunch at noon.')).toEqual([]);
  });

  it('the last classifier registered wins, and its spans count towards the threshold with the other patterns', () => {
    registerSemanticClassifier((text) => (text.includes('MRI') ? [{ start: text.indexOf('MRI'), end: text.indexOf('MRI') + 3 }] : []));
    const c = rule(
      [
        { type: 'semantic', value: 'medical information', weight: 0.5 },
        { type: 'keyword', value: 'patient', weight: 0.5 },
      ],
      { classification: 'SENSITIVE' },
    );
    expect(c.classify('MRI booked')).toEqual([]);
    expect(c.classify('diagnosed patient')).toEqual([]);
    expect(matched(c, 'patient MRI booked').sort()).toEqual(['MRI', 'patient']);
  });
});
