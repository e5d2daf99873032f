/**
 * Normalises the `flow:` section: profile layers merged (levels per level), defaults filled,
 * every glob, detector id and user pattern checked at load. User regular expressions are
 * checked for catastrophic backtracking with redos-detector and refused when they could
 * backtrack exponentially; this runs in the config process, so the gateway never loads it.
 */
import { isSafe } from 'redos-detector';
import { compileGlobs } from '../access/globs.ts';
import { DETECTOR_IDS } from '../flow/detectors.ts';
import { LEVEL_NAMES } from '../flow/levels.ts';
import type { ClassificationRuleConfig, FlowAction, FlowConfig, FlowLevel, FlowRuleConfig } from './config.ts';
import type { RawFlow, RawProfile } from './schema.ts';

type Report = (severity: 'error' | 'warning', path: (string | number)[], message: string) => void;

const DEFAULT_LEVELS: Record<FlowLevel, FlowAction> = { PUBLIC: 'allow', INTERNAL: 'allow', SENSITIVE: 'allow', RESTRICTED: 'transform' };

export function normaliseFlow(layers: readonly RawProfile[], raw: RawFlow | undefined, report: Report): FlowConfig {
  const sections = [...layers.map((l) => l.flow), raw].filter((f): f is RawFlow => f !== undefined);
  const top = Object.assign({}, ...sections) as RawFlow;
  const rawLevels = Object.assign({}, ...sections.map((f) => f.levels ?? {})) as NonNullable<RawFlow['levels']>;
  const pendingDetectorChecks: [string, (string | number)[]][] = [];
  const levels = Object.fromEntries(
    LEVEL_NAMES.map((level) => {
      const entry = rawLevels[level];
      const action = entry?.action ?? DEFAULT_LEVELS[level];
      entry?.transformations?.forEach((t, j) => {
        const only = t.split(':')[1];
        if (only !== undefined) pendingDetectorChecks.push([only, ['flow', 'levels', level, 'transformations', j]]);
      });
      return [level, { action, transformations: action === 'transform' ? (entry?.transformations ?? ['redact']) : [] }];
    }),
  ) as unknown as FlowConfig['levels'];

  // Rules and classification rules of the profile come first, then the file's own.
  const rawClassification = sections.flatMap((f) => f.classification_rules ?? []);
  const rawRules = sections.flatMap((f) => f.rules ?? []);
  const ruleIds = new Set<string>();
  const classificationRules: ClassificationRuleConfig[] = rawClassification.map((rule, i) => {
    const path = ['flow', 'classification_rules', i];
    if (DETECTOR_IDS.has(rule.id) || ruleIds.has(rule.id)) report('error', [...path, 'id'], `"${rule.id}" is already a detector or rule id`);
    ruleIds.add(rule.id);
    rule.patterns.forEach((p, j) => {
      if (p.type === 'regex') checkRegex(p.value, [...path, 'patterns', j, 'value'], report);
      if (p.type === 'semantic') report('warning', [...path, 'patterns', j], 'no semantic classifier ships with GUARDRAIL; this pattern matches only when an embedding program registers one');
    });
    return {
      id: rule.id,
      priority: rule.priority ?? 0,
      patterns: rule.patterns.map((p) => ({ type: p.type, value: p.value, weight: p.weight ?? 1 })),
      threshold: rule.threshold ?? 1,
      classification: rule.classification,
      confidence: rule.confidence ?? 0.8,
    };
  });

  const knownDetector = (id: string, path: (string | number)[]) => {
    if (!DETECTOR_IDS.has(id) && !ruleIds.has(id)) report('error', path, `unknown detector "${id}" (known: ${[...DETECTOR_IDS].join(', ')})`);
  };
  for (const [id, path] of pendingDetectorChecks) knownDetector(id, path);
  const disabledDetectors = top.detectors?.disable ?? [];
  disabledDetectors.forEach((id, i) => knownDetector(id, ['flow', 'detectors', 'disable', i]));
  const detectorLevels = top.detectors?.levels ?? {};
  for (const id of Object.keys(detectorLevels)) knownDetector(id, ['flow', 'detectors', 'levels', id]);

  const rules: FlowRuleConfig[] = rawRules.map((rule, i) => {
    const path = ['flow', 'rules', i];
    if (rule.classification && rule.min_classification) report('error', path, 'set classification or min_classification, not both');
    for (const side of ['source', 'destination'] as const) {
      for (const [key, glob] of Object.entries(rule[side] ?? {})) checkGlob(glob, [...path, side, key], report);
    }
    rule.detectors?.forEach((id, j) => knownDetector(id, [...path, 'detectors', j]));
    const levelsFor = rule.min_classification ? LEVEL_NAMES.slice(LEVEL_NAMES.indexOf(rule.min_classification)) : rule.classification;
    if (rule.action !== 'transform' && rule.transformations) report('error', [...path, 'transformations'], 'only a transform rule has transformations');
    rule.transformations?.forEach((t, j) => {
      const only = t.split(':')[1];
      if (only !== undefined) knownDetector(only, [...path, 'transformations', j]);
    });
    const c = rule.conditions ?? {};
    return {
      id: rule.id,
      priority: rule.priority ?? 0,
      source: rule.source,
      destination: rule.destination,
      levels: levelsFor,
      detectors: rule.detectors,
      conditions: {
        ...(c.required_trust_level === undefined ? {} : { requiredTrustLevel: c.required_trust_level }),
        ...(c.required_capabilities === undefined ? {} : { requiredCapabilities: c.required_capabilities }),
        ...(c.tainted === undefined ? {} : { tainted: c.tainted }),
        ...(c.carries_tainted === undefined ? {} : { carriesTainted: c.carries_tainted }),
        ...(c.egress === undefined ? {} : { egress: c.egress }),
      },
      action: rule.action,
      transformations: rule.action === 'transform' ? (rule.transformations ?? ['redact']) : [],
      includeContent: rule.logging?.include_content ?? false,
    };
  });
  const seen = new Set<string>();
  rules.forEach((r, i) => {
    if (seen.has(r.id)) report('error', ['flow', 'rules', i, 'id'], `two flow rules are named "${r.id}"`);
    seen.add(r.id);
  });

  const egress = (top.egress ?? []).map((e, i) => {
    e.tools?.forEach((g, j) => checkGlob(g, ['flow', 'egress', i, 'tools', j], report));
    return { server: e.server, tools: e.tools };
  });
  const a = top.annotations;
  return {
    enabled: top.enabled ?? true,
    emergencyLockdown: top.emergency_lockdown ?? false,
    levels,
    disabledDetectors,
    detectorLevels,
    classificationRules,
    rules,
    egress,
    taintLevel: top.taint_level ?? 'SENSITIVE',
    hashKey: top.hash_key,
    annotations: a
      ? {
          sign: a.sign ?? false,
          verify: typeof a.verify === 'object' ? { clients: a.verify.clients ?? 'if-present', servers: a.verify.servers ?? 'if-present' } : { clients: a.verify ?? 'if-present', servers: a.verify ?? 'if-present' },
          key: a.key,
          source: a.source,
        }
      : undefined,
  };
}

function checkGlob(glob: string, path: (string | number)[], report: Report): void {
  try {
    compileGlobs([glob]);
  } catch (error) {
    report('error', path, `not a valid glob: ${(error as Error).message}`);
  }
}

function checkRegex(source: string, path: (string | number)[], report: Report): void {
  let re: RegExp;
  try {
    re = new RegExp(source, 'u');
  } catch (error) {
    report('error', path, `not a valid regular expression: ${(error as Error).message}`);
    return;
  }
  try {
    const result = isSafe(re, { timeout: 2000 });
    if (!result.safe) {
      const why =
        result.error === 'hitMaxSteps' || result.error === 'timedOut'
          ? 'it is too complex to prove that it cannot backtrack without bound'
          : 'it can backtrack without bound on some input (unbounded repetition such as +, * or {n,} next to something it overlaps)';
      report('error', path, `the expression can backtrack catastrophically: ${why}; servers choose the text it runs on, so write bounded, unambiguous repetition such as \\s{1,8} or [0-9]{4}`);
    }
  } catch (error) {
    report('error', path, `the expression could not be checked for catastrophic backtracking: ${(error as Error).message}`);
  }
}
