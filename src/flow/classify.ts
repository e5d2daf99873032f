/**
 * Classification rules (seed 001 §3.2.2): patterns of type regex, exact or keyword with
 * weights; when the weights of the patterns that match reach the rule's threshold, every match
 * becomes a finding at the rule's level, so that it can be transformed like a detector's. The
 * `semantic` type is a pluggable classifier: an embedding program registers one by name; none
 * ships, because none would run without model weights.
 */
import type { ClassificationRuleConfig } from '../config/config.ts';
import type { LevelName } from './levels.ts';
import type { Finding } from './scan.ts';

/** A classifier for `semantic` patterns: the spans of `text` that mean `value`, or none. */
export type SemanticClassifier = (text: string, value: string) => readonly { readonly start: number; readonly end: number }[];

const semanticClassifiers = new Map<string, SemanticClassifier>();

/** Registers the classifier `semantic` patterns use (one per process; the last one wins). */
export function registerSemanticClassifier(classifier: SemanticClassifier): void {
  semanticClassifiers.set('default', classifier);
}

interface CompiledPattern {
  readonly weight: number;
  spans(text: string): { start: number; end: number }[];
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function compilePattern(type: ClassificationRuleConfig['patterns'][number]['type'], value: string): CompiledPattern['spans'] {
  if (type === 'semantic') return (text) => [...(semanticClassifiers.get('default')?.(text, value) ?? [])];
  // Regexes were checked for catastrophic backtracking when the config was loaded.
  const re =
    type === 'regex' ? new RegExp(value, 'gu') : type === 'exact' ? new RegExp(escape(value), 'g') : new RegExp(`(?<![\\p{L}\\p{N}_])${escape(value)}(?![\\p{L}\\p{N}_])`, 'giu');
  return (text) => {
    const out: { start: number; end: number }[] = [];
    re.lastIndex = 0;
    let m: RegExpExecArray | null;
    while ((m = re.exec(text)) !== null) {
      if (m[0].length === 0) {
        re.lastIndex++;
        continue;
      }
      out.push({ start: m.index, end: m.index + m[0].length });
    }
    return out;
  };
}

export interface Classifier {
  /** Findings for every rule whose score reaches its threshold in `text`. */
  classify(text: string): Finding[];
  readonly empty: boolean;
}

export function compileClassificationRules(rules: readonly ClassificationRuleConfig[]): Classifier {
  const compiled = [...rules]
    .sort((a, b) => b.priority - a.priority)
    .map((rule) => ({ rule, patterns: rule.patterns.map((p) => ({ weight: p.weight, spans: compilePattern(p.type, p.value) })) }));
  return {
    empty: compiled.length === 0,
    classify(text) {
      const findings: Finding[] = [];
      for (const { rule, patterns } of compiled) {
        let score = 0;
        const spans: { start: number; end: number }[] = [];
        for (const pattern of patterns) {
          const found = pattern.spans(text);
          if (found.length === 0) continue;
          score += pattern.weight;
          spans.push(...found);
        }
        if (score < rule.threshold) continue;
        const level: LevelName = rule.classification;
        for (const s of spans) findings.push({ detector: rule.id, start: s.start, end: s.end, level, confidence: rule.confidence });
      }
      return findings;
    },
  };
}
