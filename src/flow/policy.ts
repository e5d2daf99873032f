/**
 * The flow policy engine (seed 001 §3.1): for one kind of data in one flow, the action. Rules
 * are tried in priority order and the first that matches decides; rules of equal priority
 * that all match are resolved to the most restrictive (deny, then transform, then allow). No
 * rule: the level's default action. `emergency_lockdown` denies everything above PUBLIC first.
 */
import { compileGlobs } from '../access/globs.ts';
import type { FlowAction, FlowConfig, FlowEndpoint, FlowRuleConfig } from '../config/config.ts';
import { LEVELS, type LevelName } from './levels.ts';
import type { TransformationName } from './transform.ts';

/** Where data goes and what surrounds it. */
export interface Flow {
  readonly fromClient: boolean;
  readonly server: string | undefined;
  readonly tool: string | undefined;
  readonly resource: string | undefined;
  readonly client: string | undefined;
  readonly trust: number;
  readonly capabilities: ReadonlySet<string>;
  readonly taint: LevelName | undefined;
  readonly carriesTainted: boolean;
  readonly egress: boolean;
}

export interface Verdict {
  readonly action: FlowAction;
  /** For transform: what to apply to this detector's findings. */
  readonly transformation: TransformationName;
  /** The rule id, `level-default`, or `emergency-lockdown`. */
  readonly rule: string;
}

const RESTRICTIVE: Readonly<Record<FlowAction, number>> = { deny: 2, transform: 1, allow: 0 };

type Matcher = (value: string | undefined) => boolean;

interface CompiledRule {
  readonly config: FlowRuleConfig;
  readonly source: readonly [keyof FlowEndpoint, Matcher][];
  readonly destination: readonly [keyof FlowEndpoint, Matcher][];
}

function endpoint(side: FlowEndpoint | undefined): [keyof FlowEndpoint, Matcher][] {
  return Object.entries(side ?? {}).map(([key, glob]) => {
    const match = compileGlobs([glob as string]);
    return [key as keyof FlowEndpoint, (value: string | undefined) => value !== undefined && match.matches(value) !== undefined];
  });
}

export class FlowPolicy {
  readonly #config: FlowConfig;
  /** Rules grouped by priority, highest first. */
  readonly #tiers: readonly (readonly CompiledRule[])[];

  constructor(config: FlowConfig) {
    this.#config = config;
    const byPriority = new Map<number, CompiledRule[]>();
    for (const rule of config.rules) {
      const compiled = { config: rule, source: endpoint(rule.source), destination: endpoint(rule.destination) };
      byPriority.set(rule.priority, [...(byPriority.get(rule.priority) ?? []), compiled]);
    }
    this.#tiers = [...byPriority.entries()].sort((a, b) => b[0] - a[0]).map(([, rules]) => rules);
  }

  /** The action for data at `level` found by `detector` (undefined: the message itself, no finding). */
  decide(flow: Flow, level: LevelName, detector: string | undefined): Verdict {
    if (this.#config.emergencyLockdown && LEVELS[level] > 0) return { action: 'deny', transformation: 'redact', rule: 'emergency-lockdown' };
    for (const tier of this.#tiers) {
      let best: CompiledRule | undefined;
      for (const rule of tier) {
        if (this.#matches(rule, flow, level, detector) && (!best || RESTRICTIVE[rule.config.action] > RESTRICTIVE[best.config.action])) best = rule;
      }
      if (best) return { action: best.config.action, transformation: pick(best.config.transformations, detector), rule: best.config.id };
    }
    const d = this.#config.levels[level];
    return { action: d.action, transformation: pick(d.transformations, detector), rule: 'level-default' };
  }

  #matches(rule: CompiledRule, flow: Flow, level: LevelName, detector: string | undefined): boolean {
    const r = rule.config;
    if (r.levels && !r.levels.includes(level)) return false;
    if (r.detectors && (detector === undefined || !r.detectors.includes(detector))) return false;
    // The client's side of a flow is the client; the other side is a server, its tool or resource.
    const client = { client: flow.client } as Record<keyof FlowEndpoint, string | undefined>;
    const server = { server: flow.server, tool: flow.tool, resource: flow.resource } as Record<keyof FlowEndpoint, string | undefined>;
    const [from, to] = flow.fromClient ? [client, server] : [server, client];
    if (!rule.source.every(([key, match]) => match(from[key]))) return false;
    if (!rule.destination.every(([key, match]) => match(to[key]))) return false;
    const c = r.conditions;
    if (c.requiredTrustLevel !== undefined && flow.trust < c.requiredTrustLevel) return false;
    if (c.requiredCapabilities && !c.requiredCapabilities.every((cap) => flow.capabilities.has(cap))) return false;
    if (c.tainted !== undefined && (flow.taint === undefined || LEVELS[flow.taint] < LEVELS[c.tainted])) return false;
    if (c.carriesTainted !== undefined && flow.carriesTainted !== c.carriesTainted) return false;
    if (c.egress !== undefined && flow.egress !== c.egress) return false;
    return true;
  }
}

/** The first transformation that names this detector or none; redact when none fits. */
function pick(transformations: readonly string[], detector: string | undefined): TransformationName {
  for (const t of transformations) {
    const [name, only] = t.split(':') as [TransformationName, string | undefined];
    if (only === undefined || only === detector) return name;
  }
  return 'redact';
}
