/**
 * FlowPolicy.decide on its own, with configs from the real loader: which side of a flow is the
 * source and which the destination in each direction, globs on server, tool, resource and
 * client, trust and capability conditions, taint conditions, levels and min_classification,
 * detectors, priority tiers, most restrictive within a tier, level defaults and the lockdown.
 */
import { describe, expect, it } from 'vitest';
import type { FlowConfig } from '../../src/config/config.ts';
import { checkConfig, formatIssue } from '../../src/config/load.ts';
import type { LevelName } from '../../src/flow/levels.ts';
import { FlowPolicy, type Flow } from '../../src/flow/policy.ts';

type Obj = Record<string, unknown>;

function policy(flow: Obj, top: Obj = {}): FlowPolicy {
  const result = checkConfig({ upstreams: { files: { command: 'node' } }, ...top, flow }, { env: {} });
  if (!result.ok) throw new Error(`expected the config to load:\n${result.errors.map(formatIssue).join('\n')}`);
  return new FlowPolicy(result.config.flow as FlowConfig);
}

/** A flow from a server to the client unless the overrides say otherwise. */
function flow(overrides: Partial<Flow> = {}): Flow {
  return {
    fromClient: false,
    server: 'files',
    tool: 'read_file',
    resource: undefined,
    client: 'claude-desktop',
    trust: 0.5,
    capabilities: new Set(),
    taint: undefined,
    carriesTainted: false,
    egress: false,
    ...overrides,
  };
}

/** The id of the rule that decides for RESTRICTED data of the AWS detector (or the default). */
const ruleFor = (p: FlowPolicy, f: Flow, level: LevelName = 'RESTRICTED', detector: string | undefined = 'aws-access-key-id') => p.decide(f, level, detector).rule;

const one = (rule: Obj) => policy({ rules: [{ id: 'r', action: 'deny', ...rule }] });

describe('level defaults', () => {
  it('standard: allow PUBLIC, INTERNAL and SENSITIVE; redact RESTRICTED', () => {
    const p = policy({});
    expect(p.decide(flow(), 'PUBLIC', undefined)).toEqual({ action: 'allow', transformation: 'redact', rule: 'level-default' });
    expect(p.decide(flow(), 'INTERNAL', 'ip-address').action).toBe('allow');
    expect(p.decide(flow(), 'SENSITIVE', 'email').action).toBe('allow');
    expect(p.decide(flow(), 'RESTRICTED', 'jwt')).toEqual({ action: 'transform', transformation: 'redact', rule: 'level-default' });
  });

  it("a level's transformations are picked per detector, the general one for the rest", () => {
    const p = policy({ levels: { SENSITIVE: { action: 'transform', transformations: ['tokenize:email', 'hash'] } } });
    expect(p.decide(flow(), 'SENSITIVE', 'email').transformation).toBe('tokenize');
    expect(p.decide(flow(), 'SENSITIVE', 'iban').transformation).toBe('hash');
  });

  it('a transformation for one detector only leaves the others redacted', () => {
    const p = policy({ levels: { RESTRICTED: { action: 'transform', transformations: ['drop:private-key'] } } });
    expect(p.decide(flow(), 'RESTRICTED', 'private-key').transformation).toBe('drop');
    expect(p.decide(flow(), 'RESTRICTED', 'jwt').transformation).toBe('redact');
  });
});

describe('source and destination', () => {
  it('from a server: the server, its tool and resource are the source; the client is the destination', () => {
    const bySource = one({ source: { server: 'fil*' } });
    expect(ruleFor(bySource, flow())).toBe('r');
    expect(ruleFor(bySource, flow({ server: 'mail' }))).toBe('level-default');
    const byDestination = one({ destination: { client: 'claude-*' } });
    expect(ruleFor(byDestination, flow())).toBe('r');
    expect(ruleFor(byDestination, flow({ client: 'cursor' }))).toBe('level-default');
    // The server is never the destination of its own results, nor the client their source.
    expect(ruleFor(one({ destination: { server: 'files' } }), flow())).toBe('level-default');
    expect(ruleFor(one({ source: { client: 'claude-*' } }), flow())).toBe('level-default');
  });

  it('from the client: the client is the source; the server, its tool and resource the destination', () => {
    const toClient = flow({ fromClient: true });
    expect(ruleFor(one({ source: { client: 'claude-desktop' } }), toClient)).toBe('r');
    expect(ruleFor(one({ destination: { server: 'files' } }), toClient)).toBe('r');
    expect(ruleFor(one({ destination: { tool: 'read_*' } }), toClient)).toBe('r');
    expect(ruleFor(one({ source: { server: 'files' } }), toClient)).toBe('level-default');
    expect(ruleFor(one({ destination: { client: 'claude-desktop' } }), toClient)).toBe('level-default');
  });

  it('tool and resource globs match the names the server uses; `*` crosses `/` in a URI', () => {
    const byTool = one({ source: { tool: 'read_{file,text_file}' } });
    expect(ruleFor(byTool, flow({ tool: 'read_text_file' }))).toBe('r');
    expect(ruleFor(byTool, flow({ tool: 'read_media_file' }))).toBe('level-default');
    const byResource = one({ source: { resource: 'file:///srv/secrets/*' } });
    expect(ruleFor(byResource, flow({ tool: undefined, resource: 'file:///srv/secrets/prod/db.env' }))).toBe('r');
    expect(ruleFor(byResource, flow({ tool: undefined, resource: 'file:///srv/public/index.html' }))).toBe('level-default');
  });

  it('globs are case-sensitive and match whole names', () => {
    const p = one({ source: { server: 'files' } });
    expect(ruleFor(p, flow({ server: 'Files' }))).toBe('level-default');
    expect(ruleFor(p, flow({ server: 'files-2' }))).toBe('level-default');
  });

  it('a side the flow does not have (no tool, no client name) does not match a glob, not even `*`', () => {
    expect(ruleFor(one({ source: { tool: '*' } }), flow({ tool: undefined }))).toBe('level-default');
    expect(ruleFor(one({ destination: { client: '*' } }), flow({ client: undefined }))).toBe('level-default');
    expect(ruleFor(one({ destination: { client: '*' } }), flow())).toBe('r');
  });

  it('every key of an endpoint must match', () => {
    const p = one({ source: { server: 'files', tool: 'read_*' } });
    expect(ruleFor(p, flow())).toBe('r');
    expect(ruleFor(p, flow({ tool: 'write_file' }))).toBe('level-default');
    expect(ruleFor(p, flow({ server: 'mail' }))).toBe('level-default');
  });
});

describe('conditions', () => {
  it('required_trust_level: the session trust must be at least the level', () => {
    const p = one({ conditions: { required_trust_level: 0.8 } });
    expect(ruleFor(p, flow({ trust: 0.8 }))).toBe('r');
    expect(ruleFor(p, flow({ trust: 1 }))).toBe('r');
    expect(ruleFor(p, flow({ trust: 0.79 }))).toBe('level-default');
  });

  it('required_capabilities: the session must hold every one', () => {
    const p = one({ conditions: { required_capabilities: ['fs.read', 'net.fetch'] } });
    expect(ruleFor(p, flow({ capabilities: new Set(['fs.read', 'net.fetch', 'x']) }))).toBe('r');
    expect(ruleFor(p, flow({ capabilities: new Set(['fs.read']) }))).toBe('level-default');
    expect(ruleFor(p, flow())).toBe('level-default');
  });

  it('tainted: the session holds data at that level or above', () => {
    const p = one({ conditions: { tainted: 'SENSITIVE' } });
    expect(ruleFor(p, flow())).toBe('level-default');
    expect(ruleFor(p, flow({ taint: 'INTERNAL' }))).toBe('level-default');
    expect(ruleFor(p, flow({ taint: 'SENSITIVE' }))).toBe('r');
    expect(ruleFor(p, flow({ taint: 'RESTRICTED' }))).toBe('r');
  });

  it('carries_tainted and egress match their value, true or false', () => {
    expect(ruleFor(one({ conditions: { carries_tainted: true } }), flow({ carriesTainted: true }))).toBe('r');
    expect(ruleFor(one({ conditions: { carries_tainted: true } }), flow())).toBe('level-default');
    expect(ruleFor(one({ conditions: { carries_tainted: false } }), flow())).toBe('r');
    expect(ruleFor(one({ conditions: { carries_tainted: false } }), flow({ carriesTainted: true }))).toBe('level-default');
    expect(ruleFor(one({ conditions: { egress: true } }), flow({ egress: true }))).toBe('r');
    expect(ruleFor(one({ conditions: { egress: false } }), flow({ egress: true }))).toBe('level-default');
  });

  it('all conditions must hold together', () => {
    const p = one({ conditions: { tainted: 'SENSITIVE', egress: true, carries_tainted: true, required_trust_level: 0.2 } });
    const all = { taint: 'SENSITIVE', egress: true, carriesTainted: true, trust: 0.5 } as const;
    expect(ruleFor(p, flow(all))).toBe('r');
    expect(ruleFor(p, flow({ ...all, egress: false }))).toBe('level-default');
    expect(ruleFor(p, flow({ ...all, carriesTainted: false }))).toBe('level-default');
    expect(ruleFor(p, flow({ ...all, taint: undefined }))).toBe('level-default');
    expect(ruleFor(p, flow({ ...all, trust: 0.1 }))).toBe('level-default');
  });
});

describe('levels and detectors', () => {
  it('classification: only the listed levels', () => {
    const p = one({ classification: ['SENSITIVE'] });
    expect(ruleFor(p, flow(), 'SENSITIVE', 'email')).toBe('r');
    expect(ruleFor(p, flow(), 'RESTRICTED', 'jwt')).toBe('level-default');
    expect(ruleFor(p, flow(), 'INTERNAL', 'ip-address')).toBe('level-default');
  });

  it('min_classification: that level and above', () => {
    const p = one({ min_classification: 'SENSITIVE' });
    expect(ruleFor(p, flow(), 'SENSITIVE', 'email')).toBe('r');
    expect(ruleFor(p, flow(), 'RESTRICTED', 'jwt')).toBe('r');
    expect(ruleFor(p, flow(), 'INTERNAL', 'ip-address')).toBe('level-default');
    expect(ruleFor(p, flow(), 'PUBLIC', undefined)).toBe('level-default');
    expect(ruleFor(one({ min_classification: 'PUBLIC' }), flow(), 'PUBLIC', undefined)).toBe('r');
  });

  it('detectors: only findings of those detectors, never the message itself', () => {
    const p = one({ detectors: ['email', 'iban'] });
    expect(ruleFor(p, flow(), 'SENSITIVE', 'iban')).toBe('r');
    expect(ruleFor(p, flow(), 'SENSITIVE', 'phone')).toBe('level-default');
    expect(ruleFor(p, flow(), 'PUBLIC', undefined)).toBe('level-default');
  });

  it('a rule without levels or detectors matches the message itself (PUBLIC, no detector)', () => {
    expect(one({}).decide(flow(), 'PUBLIC', undefined)).toEqual({ action: 'deny', transformation: 'redact', rule: 'r' });
  });
});

describe('order', () => {
  it('a higher priority decides first; a negative priority comes after the default 0', () => {
    const p = policy({
      rules: [
        { id: 'low', priority: -5, action: 'deny' },
        { id: 'zero', detectors: ['email'], action: 'transform', transformations: ['hash'] },
        { id: 'high', priority: 10, detectors: ['iban'], action: 'allow' },
      ],
    });
    expect(p.decide(flow(), 'SENSITIVE', 'iban').rule).toBe('high');
    expect(p.decide(flow(), 'SENSITIVE', 'email')).toEqual({ action: 'transform', transformation: 'hash', rule: 'zero' });
    expect(p.decide(flow(), 'SENSITIVE', 'phone').rule).toBe('low');
  });

  it('the first tier with a match decides, even when a lower tier is more restrictive', () => {
    const p = policy({
      rules: [
        { id: 'deny-all', priority: 1, action: 'deny' },
        { id: 'allow-files', priority: 2, source: { server: 'files' }, action: 'allow' },
      ],
    });
    expect(p.decide(flow(), 'RESTRICTED', 'jwt').rule).toBe('allow-files');
    expect(p.decide(flow({ server: 'mail' }), 'RESTRICTED', 'jwt').rule).toBe('deny-all');
  });

  it('within a tier the most restrictive match wins: deny over transform over allow', () => {
    const rules = [
      { id: 'allow', priority: 3, action: 'allow' },
      { id: 'transform', priority: 3, action: 'transform', transformations: ['tokenize'] },
      { id: 'deny', priority: 3, source: { server: 'mail' }, action: 'deny' },
    ];
    const p = policy({ rules });
    expect(p.decide(flow(), 'SENSITIVE', 'email')).toEqual({ action: 'transform', transformation: 'tokenize', rule: 'transform' });
    expect(p.decide(flow({ server: 'mail' }), 'SENSITIVE', 'email').rule).toBe('deny');
    // The order in the file does not matter within a tier.
    expect(policy({ rules: [...rules].reverse() }).decide(flow(), 'SENSITIVE', 'email').rule).toBe('transform');
  });

  it('within a tier, of two equally restrictive matches the first in the file wins', () => {
    const p = policy({
      rules: [
        { id: 'first', priority: 3, action: 'transform', transformations: ['hash'] },
        { id: 'second', priority: 3, action: 'transform', transformations: ['drop'] },
      ],
    });
    expect(p.decide(flow(), 'SENSITIVE', 'email')).toEqual({ action: 'transform', transformation: 'hash', rule: 'first' });
  });
});

describe('emergency lockdown', () => {
  it('denies every level above PUBLIC before any rule; PUBLIC is still decided by the rules', () => {
    const p = policy({ emergency_lockdown: true, rules: [{ id: 'allow-all', priority: 100, action: 'allow' }, { id: 'deny-public', priority: 50, classification: ['PUBLIC'], action: 'deny' }] });
    for (const level of ['INTERNAL', 'SENSITIVE', 'RESTRICTED'] as const) {
      expect(p.decide(flow(), level, 'email')).toEqual({ action: 'deny', transformation: 'redact', rule: 'emergency-lockdown' });
    }
    expect(p.decide(flow(), 'PUBLIC', undefined).rule).toBe('allow-all');
  });
});
