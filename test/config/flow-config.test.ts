/**
 * The `flow:` section through the real loader: what a full section normalises to, the defaults,
 * every way it is refused (each error at its path, all at once, with the file's line), and how
 * the profiles' flow sections layer under the file's own.
 */
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { FlowConfig } from '../../src/config/config.ts';
import { checkConfig, formatIssue, parseConfigText, type ConfigIssue, type LoadResult } from '../../src/config/load.ts';

type Obj = Record<string, unknown>;

const UPSTREAMS = { files: { command: 'node' }, mail: { command: 'node' } };
const HASH_KEY = 'k'.repeat(16) + 'K'.repeat(16);

const load = (flow: Obj | undefined, top: Obj = {}): LoadResult => checkConfig({ upstreams: UPSTREAMS, ...top, ...(flow === undefined ? {} : { flow }) }, { env: {} });

function ok(result: LoadResult): FlowConfig {
  if (!result.ok) throw new Error(`expected the config to load:\n${result.errors.map(formatIssue).join('\n')}`);
  return result.config.flow;
}

function errorsOf(result: LoadResult): readonly ConfigIssue[] {
  if (result.ok) throw new Error('expected the config to be rejected');
  return result.errors;
}

function errorAt(result: LoadResult, path: string): ConfigIssue {
  const errors = errorsOf(result);
  const found = errors.find((e) => e.path === path);
  if (!found) throw new Error(`no error at ${path}; got:\n${errors.map(formatIssue).join('\n')}`);
  return found;
}

describe('a valid flow section', () => {
  it('normalises every setting', () => {
    const flow = ok(
      load({
        enabled: true,
        emergency_lockdown: false,
        conflict_resolution: 'most_restrictive',
        levels: { SENSITIVE: { action: 'transform', transformations: ['tokenize:email', 'hash'] } },
        detectors: { disable: ['ip-address'], levels: { email: 'RESTRICTED', 'project-codes': 'SENSITIVE' } },
        classification_rules: [
          { id: 'project-codes', description: 'internal codes', priority: 3, patterns: [{ type: 'regex', value: 'PRJ-\\d{4}', weight: 0.5 }, { type: 'keyword', value: 'bluebird' }], threshold: 0.5, classification: 'RESTRICTED', confidence: 0.7 },
        ],
        rules: [
          {
            id: 'no-tainted-egress',
            description: 'no exfiltration',
            priority: 100,
            source: { client: 'claude-*' },
            destination: { server: 'mail', tool: 'send_*' },
            min_classification: 'SENSITIVE',
            detectors: ['email', 'project-codes'],
            conditions: { required_trust_level: 0.5, required_capabilities: ['net'], tainted: 'SENSITIVE', carries_tainted: true, egress: true },
            action: 'deny',
          },
          { id: 'hash-files', source: { server: 'files', resource: 'file:///srv/**' }, classification: ['INTERNAL', 'SENSITIVE'], action: 'transform', transformations: ['hash:email', 'redact'] },
          { id: 'tokenize', action: 'transform' },
        ],
        egress: [{ server: 'mail', tools: ['send_*'] }, { server: 'files' }],
        taint_level: 'INTERNAL',
        hash_key: HASH_KEY,
      }),
    );
    expect(flow).toMatchObject({
      enabled: true,
      emergencyLockdown: false,
      levels: {
        PUBLIC: { action: 'allow', transformations: [] },
        INTERNAL: { action: 'allow', transformations: [] },
        SENSITIVE: { action: 'transform', transformations: ['tokenize:email', 'hash'] },
        RESTRICTED: { action: 'transform', transformations: ['redact'] },
      },
      disabledDetectors: ['ip-address'],
      detectorLevels: { email: 'RESTRICTED', 'project-codes': 'SENSITIVE' },
      classificationRules: [
        { id: 'project-codes', priority: 3, patterns: [{ type: 'regex', value: 'PRJ-\\d{4}', weight: 0.5 }, { type: 'keyword', value: 'bluebird', weight: 1 }], threshold: 0.5, classification: 'RESTRICTED', confidence: 0.7 },
      ],
      egress: [{ server: 'mail', tools: ['send_*'] }, { server: 'files', tools: undefined }],
      taintLevel: 'INTERNAL',
      hashKey: HASH_KEY,
    });
    expect(flow.rules).toEqual([
      {
        id: 'no-tainted-egress',
        priority: 100,
        source: { client: 'claude-*' },
        destination: { server: 'mail', tool: 'send_*' },
        levels: ['SENSITIVE', 'RESTRICTED'],
        detectors: ['email', 'project-codes'],
        conditions: { requiredTrustLevel: 0.5, requiredCapabilities: ['net'], tainted: 'SENSITIVE', carriesTainted: true, egress: true },
        action: 'deny',
        transformations: [],
        includeContent: false,
      },
      {
        id: 'hash-files',
        priority: 0,
        source: { server: 'files', resource: 'file:///srv/**' },
        destination: undefined,
        levels: ['INTERNAL', 'SENSITIVE'],
        detectors: undefined,
        conditions: {},
        action: 'transform',
        transformations: ['hash:email', 'redact'],
        includeContent: false,
      },
      { id: 'tokenize', priority: 0, source: undefined, destination: undefined, levels: undefined, detectors: undefined, conditions: {}, action: 'transform', transformations: ['redact'], includeContent: false },
    ]);
  });

  it('has defaults without a flow section: on, standard levels, no rules, taint at SENSITIVE, a random hash key', () => {
    const flow = ok(load(undefined));
    expect(flow).toMatchObject({
      enabled: true,
      emergencyLockdown: false,
      levels: {
        PUBLIC: { action: 'allow' },
        INTERNAL: { action: 'allow' },
        SENSITIVE: { action: 'allow' },
        RESTRICTED: { action: 'transform', transformations: ['redact'] },
      },
      disabledDetectors: [],
      detectorLevels: {},
      classificationRules: [],
      rules: [],
      egress: [],
      taintLevel: 'SENSITIVE',
      hashKey: undefined,
    });
  });

  it('accepts a safe regular expression, and detector ids that name classification rules', () => {
    const flow = ok(
      load({
        classification_rules: [{ id: 'codes', patterns: [{ type: 'regex', value: '\\bPRJ-\\d{4}\\b' }], classification: 'SENSITIVE' }],
        detectors: { disable: ['codes'], levels: { codes: 'RESTRICTED' } },
        rules: [{ id: 'r', detectors: ['codes'], action: 'deny' }],
      }),
    );
    expect(flow.rules[0]!.detectors).toEqual(['codes']);
  });

  it('takes hash_key from the environment', () => {
    const result = checkConfig({ upstreams: UPSTREAMS, flow: { hash_key: '${FLOW_HASH_KEY}' } }, { env: { FLOW_HASH_KEY: HASH_KEY } });
    expect(ok(result).hashKey).toBe(HASH_KEY);
  });

  it('warns that a semantic pattern matches nothing unless a classifier is registered', () => {
    const result = load({ classification_rules: [{ id: 'medical', patterns: [{ type: 'semantic', value: 'medical information' }], classification: 'SENSITIVE' }] });
    ok(result);
    expect(result.warnings).toEqual([expect.objectContaining({ severity: 'warning', path: 'flow.classification_rules.0.patterns.0', message: expect.stringContaining('semantic classifier') })]);
  });
});

describe('what the loader refuses', () => {
  it('a regular expression that can backtrack catastrophically, at its path and its line', () => {
    const text = stringify({ upstreams: UPSTREAMS, flow: { classification_rules: [{ id: 'as', patterns: [{ type: 'regex', value: '(a+)+$' }], classification: 'SENSITIVE' }] } });
    const result = parseConfigText(text, { env: {}, source: '/etc/guardrail/guardrail.yaml' });
    const e = errorAt(result, 'flow.classification_rules.0.patterns.0.value');
    expect(e.message).toContain('backtrack catastrophically');
    expect(e.file).toBe('/etc/guardrail/guardrail.yaml');
    const lines = text.split('\n');
    expect(lines[e.line! - 1]).toContain('(a+)+$');
  });

  it('other classic ReDoS shapes', () => {
    for (const value of ['(a|a)*$', '^(\\d+)*$', '(x+x+)+y']) {
      const result = load({ classification_rules: [{ id: 'r', patterns: [{ type: 'regex', value }], classification: 'SENSITIVE' }] });
      expect(errorAt(result, 'flow.classification_rules.0.patterns.0.value').message, value).toContain('catastrophically');
    }
  });

  it('an invalid regular expression', () => {
    const result = load({ classification_rules: [{ id: 'r', patterns: [{ type: 'exact', value: '(' }, { type: 'regex', value: '(unclosed' }], classification: 'SENSITIVE' }] });
    expect(errorsOf(result)).toHaveLength(1);
    expect(errorAt(result, 'flow.classification_rules.0.patterns.1.value').message).toContain('not a valid regular expression');
  });

  it('unknown detector ids in detectors.disable, detectors.levels and a rule\'s detectors', () => {
    const result = load({ detectors: { disable: ['email', 'emial'], levels: { 'aws-key': 'INTERNAL' } }, rules: [{ id: 'r', detectors: ['iban', 'ibn'], action: 'deny' }] });
    expect(errorAt(result, 'flow.detectors.disable.1').message).toContain('unknown detector "emial"');
    expect(errorAt(result, 'flow.detectors.levels.aws-key').message).toContain('unknown detector "aws-key"');
    expect(errorAt(result, 'flow.rules.0.detectors.1').message).toContain('unknown detector "ibn"');
    expect(errorsOf(result)).toHaveLength(3);
  });

  it('duplicate rule ids, and a classification rule named like a detector or another rule', () => {
    const result = load({
      classification_rules: [
        { id: 'email', patterns: [{ type: 'keyword', value: 'x' }], classification: 'SENSITIVE' },
        { id: 'codes', patterns: [{ type: 'keyword', value: 'y' }], classification: 'SENSITIVE' },
        { id: 'codes', patterns: [{ type: 'keyword', value: 'z' }], classification: 'SENSITIVE' },
      ],
      rules: [
        { id: 'same', action: 'allow' },
        { id: 'other', action: 'allow' },
        { id: 'same', action: 'deny' },
      ],
    });
    expect(errorAt(result, 'flow.rules.2.id').message).toContain('"same"');
    expect(errorAt(result, 'flow.classification_rules.0.id').message).toContain('"email"');
    expect(errorAt(result, 'flow.classification_rules.2.id').message).toContain('"codes"');
    expect(errorsOf(result)).toHaveLength(3);
  });

  it('classification and min_classification on one rule', () => {
    const result = load({ rules: [{ id: 'r', classification: ['SENSITIVE'], min_classification: 'SENSITIVE', action: 'deny' }] });
    expect(errorAt(result, 'flow.rules.0').message).toContain('not both');
  });

  it('transformations on a rule that does not transform', () => {
    for (const action of ['allow', 'deny']) {
      const result = load({ rules: [{ id: 'r', action, transformations: ['hash'] }] });
      expect(errorAt(result, 'flow.rules.0.transformations').message).toContain('only a transform rule');
    }
  });

  it('a transformation that is not redact, hash, tokenize or drop', () => {
    for (const bad of ['mask', 'hash:Email', 'hash email', 'HASH']) {
      const result = load({ rules: [{ id: 'r', action: 'transform', transformations: ['redact', bad] }] });
      expect(errorAt(result, 'flow.rules.0.transformations.1').message, bad).toContain('redact, hash, tokenize or drop');
    }
    expect(errorAt(load({ levels: { RESTRICTED: { action: 'transform', transformations: ['encrypt'] } } }), 'flow.levels.RESTRICTED.transformations.0').message).toContain('redact, hash, tokenize or drop');
  });

  // The transformation syntax allows any lower-case name after the colon, and nothing checks it
  // against the detectors: a misspelt `hash:emial` is accepted and silently never applies.
  it('a transformation limited to a detector that does not exist', () => {
    const result = load({ rules: [{ id: 'r', action: 'transform', transformations: ['hash:emial', 'redact'] }] });
    expect(errorAt(result, 'flow.rules.0.transformations.0').message).toContain('emial');
  });

  it('a hash_key shorter than 32 characters, an unknown level and an unknown setting', () => {
    const result = load({ hash_key: 'short', taint_level: 'SECRET', rules: [{ id: 'r', action: 'deny', when: 'always' }] });
    expect(errorAt(result, 'flow.hash_key')).toBeDefined();
    expect(errorAt(result, 'flow.taint_level')).toBeDefined();
    expect(errorAt(result, 'flow.rules.0.when').message).toContain('unknown setting');
  });

  it('reports every error at once', () => {
    const result = load({
      detectors: { disable: ['nope'] },
      classification_rules: [{ id: 'r1', patterns: [{ type: 'regex', value: '(a+)+$' }], classification: 'SENSITIVE' }],
      rules: [
        { id: 'x', classification: ['PUBLIC'], min_classification: 'PUBLIC', action: 'deny' },
        { id: 'x', action: 'allow', transformations: ['redact'] },
      ],
    });
    expect(errorsOf(result).map((e) => e.path).sort()).toEqual([
      'flow.classification_rules.0.patterns.0.value',
      'flow.detectors.disable.0',
      'flow.rules.0',
      'flow.rules.1.id',
      'flow.rules.1.transformations',
    ]);
  });
});

describe('profiles', () => {
  it('strict: SENSITIVE and RESTRICTED are denied, PUBLIC and INTERNAL allowed', () => {
    expect(ok(load(undefined, { profile: 'strict' })).levels).toEqual({
      PUBLIC: { action: 'allow', transformations: [] },
      INTERNAL: { action: 'allow', transformations: [] },
      SENSITIVE: { action: 'deny', transformations: [] },
      RESTRICTED: { action: 'deny', transformations: [] },
    });
  });

  it('permissive: RESTRICTED is allowed too', () => {
    expect(ok(load(undefined, { profile: 'permissive' })).levels.RESTRICTED).toEqual({ action: 'allow', transformations: [] });
  });

  it("the file's own levels override one level without losing the profile's others", () => {
    const levels = ok(load({ levels: { SENSITIVE: { action: 'transform', transformations: ['hash'] } } }, { profile: 'strict' })).levels;
    expect(levels.SENSITIVE).toEqual({ action: 'transform', transformations: ['hash'] });
    expect(levels.RESTRICTED).toEqual({ action: 'deny', transformations: [] });
    expect(levels.PUBLIC.action).toBe('allow');
  });

  it('a profile of the file layers over the one it extends, and the file over both', () => {
    const flow = ok(
      load(
        { levels: { PUBLIC: { action: 'allow' } }, taint_level: 'RESTRICTED' },
        { profile: 'locked', profiles: { locked: { extends: 'strict', flow: { levels: { INTERNAL: { action: 'deny' } }, taint_level: 'INTERNAL', emergency_lockdown: true } } } },
      ),
    );
    expect(flow.levels.INTERNAL.action).toBe('deny');
    expect(flow.levels.SENSITIVE.action).toBe('deny');
    expect(flow.levels.RESTRICTED.action).toBe('deny');
    expect(flow.emergencyLockdown).toBe(true);
    expect(flow.taintLevel).toBe('RESTRICTED');
  });

  it("a profile's detectors and egress apply when the file sets none", () => {
    const flow = ok(load(undefined, { profile: 'mine', profiles: { mine: { flow: { detectors: { disable: ['ip-address'] }, egress: [{ server: 'mail' }] } } } }));
    expect(flow.disabledDetectors).toEqual(['ip-address']);
    expect(flow.egress).toEqual([{ server: 'mail', tools: undefined }]);
  });

  // normaliseFlow reads `rules` and `classification_rules` from the file's own section only, so
  // a profile's rules are accepted by the schema and then silently dropped: a deny rule in a
  // shared profile fails open.
  it("a profile's flow rules and classification rules apply", () => {
    const flow = ok(
      load(undefined, {
        profile: 'mine',
        profiles: {
          mine: {
            flow: {
              classification_rules: [{ id: 'codes', patterns: [{ type: 'keyword', value: 'bluebird' }], classification: 'RESTRICTED' }],
              rules: [{ id: 'no-mail', destination: { server: 'mail' }, min_classification: 'SENSITIVE', action: 'deny' }],
            },
          },
        },
      }),
    );
    expect(flow.rules.map((r) => r.id)).toEqual(['no-mail']);
    expect(flow.classificationRules.map((r) => r.id)).toEqual(['codes']);
  });
});

describe('logging.include_content', () => {
  it('is off unless a rule asks for it', () => {
    const flow = ok(load({ rules: [{ id: 'keep', action: 'allow', logging: { include_content: true } }, { id: 'plain', action: 'allow' }] }));
    expect(flow.rules.map((r) => [r.id, r.includeContent])).toEqual([
      ['keep', true],
      ['plain', false],
    ]);
  });
});
