/**
 * The information-flow stage (seed 001 §3; the Information Gateway Layer): every text a message
 * carries, in both directions, is scanned by the detectors and the classification rules; each
 * kind of finding gets the flow policy's action; the message is allowed, transformed or
 * refused, and the decision names the detectors that fired and the rule that decided. Data the
 * client receives in clear at the taint level or above taints its session, so that rules can
 * stop it leaving through an egress tool; a pseudonym is restored only on its way back to
 * where its value came from (the server, or the client).
 */
import { randomBytes } from 'node:crypto';
import { compileGlobs, type GlobList } from '../access/globs.ts';
import type { FlowConfig } from '../config/config.ts';
import { decision, type Decision } from '../pipeline/decision.ts';
import type { SecurityContext } from '../pipeline/security-context.ts';
import { PASS, type Stage, type StageContext, type StageResult } from '../pipeline/stage.ts';
import { compileClassificationRules, type Classifier } from './classify.ts';
import { leavesOf, withTexts, type Leaf } from './content.ts';
import { DETECTOR_IDS } from './detectors.ts';
import { LEVELS, maxLevel, type LevelName } from './levels.ts';
import { FlowPolicy, type Flow, type Verdict } from './policy.ts';
import { scanText, type Finding } from './scan.ts';
import { keyedHash, TokenVault, transformText, type Span } from './transform.ts';

export const FLOW_STAGE = 'flow';

/** What the stage keeps per session. */
export interface FlowState {
  taint: LevelName | undefined;
  /** Keyed hashes of the values that tainted the session (bounded). */
  readonly tainted: Set<string>;
  readonly vault: TokenVault;
}

const MAX_TAINTED_VALUES = 10_000;
/**
 * What a server answers or sends with content for the model taints; listings and handshakes
 * do not (an address in a tool's description would otherwise taint every session).
 */
const TAINTING = new Set(['tools/call', 'resources/read', 'prompts/get', 'completion/complete', 'notifications/message', 'sampling/createMessage', 'elicitation/create', 'tasks/result']);
/** How far either side of a boundary a split secret is looked for. */
const SEAM = 256;

interface Located {
  readonly finding: Finding;
  /** The leaf and the span in it; a finding across a seam has two parts. */
  readonly parts: readonly { readonly leaf: Leaf; readonly start: number; readonly end: number }[];
  readonly value: string;
}

export interface FlowStageOptions {
  readonly config: FlowConfig;
}

export function flowStage(options: FlowStageOptions): Stage & { readonly policy: FlowPolicy; stateOf(session: SecurityContext): FlowState } {
  const config = options.config;
  const policy = new FlowPolicy(config);
  const classifier: Classifier = compileClassificationRules(config.classificationRules.filter((r) => !config.disabledDetectors.includes(r.id)));
  const enabled = new Set([...DETECTOR_IDS].filter((id) => !config.disabledDetectors.includes(id)));
  const hashKey = config.hashKey ? Buffer.from(config.hashKey, 'utf8') : randomBytes(32);
  const egress = new Map<string, GlobList | undefined>(config.egress.map((e) => [e.server, e.tools ? compileGlobs(e.tools) : undefined]));
  const taintAt = LEVELS[config.taintLevel];

  const stateOf = (session: SecurityContext): FlowState => {
    let state = session.state.get(FLOW_STAGE) as FlowState | undefined;
    if (!state) {
      state = { taint: undefined, tainted: new Set(), vault: new TokenVault() };
      session.state.set(FLOW_STAGE, state);
    }
    return state;
  };

  const levelOf = (f: Finding): LevelName => (config.detectorLevels[f.detector] as LevelName | undefined) ?? f.level;
  // The same value however it is spaced or cased: `DE89 3704 …` is `de893704…`.
  const fingerprint = (value: string) => keyedHash(hashKey, value.toLowerCase().replace(/[\s().-]/g, ''));

  // Data the client sends out is searched for base64 everywhere, however long (the exfiltration
  // path); data coming in, up to the scanner's default bound.
  const outbound = { detectors: enabled, fullBase64Search: Number.POSITIVE_INFINITY };
  const inbound = { detectors: enabled };

  function scanLeaf(text: string, fromClient: boolean): Finding[] {
    const found = scanText(text, fromClient ? outbound : inbound);
    return classifier.empty ? found : [...found, ...classifier.classify(text)];
  }

  function locate(leaves: readonly Leaf[], fromClient: boolean): Located[] {
    const out: Located[] = [];
    const seen: { text: string; findings: Finding[] }[] = [];
    for (const leaf of leaves) {
      // The same long text twice (a result's text and its structuredContent) is scanned once.
      const same = leaf.text.length > 4096 ? seen.find((s) => s.text.length === leaf.text.length && s.text === leaf.text) : undefined;
      const findings = same?.findings ?? scanLeaf(leaf.text, fromClient);
      if (!same && leaf.text.length > 4096) seen.push({ text: leaf.text, findings });
      for (const f of findings) out.push({ finding: f, parts: [{ leaf, start: f.start, end: f.end }], value: leaf.text.slice(f.start, f.end) });
    }
    // A secret split across two items of one content array: look across each seam.
    const texts = leaves.filter((l) => l.group !== undefined);
    for (let i = 1; i < texts.length; i++) {
      const a = texts[i - 1]!;
      const b = texts[i]!;
      if (a.group !== b.group) continue;
      const tail = a.text.slice(-SEAM);
      const joined = tail + b.text.slice(0, SEAM);
      for (const f of scanLeaf(joined, fromClient)) {
        if (f.start >= tail.length || f.end <= tail.length) continue;
        const offset = a.text.length - tail.length;
        out.push({
          finding: f,
          parts: [
            { leaf: a, start: offset + f.start, end: a.text.length },
            { leaf: b, start: 0, end: f.end - tail.length },
          ],
          value: joined.slice(f.start, f.end),
        });
      }
    }
    return out;
  }

  const stage: Stage & { readonly policy: FlowPolicy; stateOf(session: SecurityContext): FlowState } = {
    name: FLOW_STAGE,
    layer: 'information-flow',
    scope: { methods: '*', directions: ['client-to-server', 'server-to-client'] },
    policy,
    stateOf,
    evaluate(context: StageContext): StageResult {
      const message = context.frame.message;
      const leaves = leavesOf(message);
      const fromClient = context.direction === 'client-to-server';
      const state = stateOf(context.session);
      const located = leaves.length === 0 ? [] : locate(leaves, fromClient);

      const params = (message as { params?: { name?: unknown; uri?: unknown } }).params;
      const request = context.request?.params as { name?: unknown; uri?: unknown } | undefined;
      const tool = context.method === 'tools/call' ? (context.target ?? str(params?.name) ?? str(request?.name)) : undefined;
      const resource = context.method === 'resources/read' ? (context.target ?? str(params?.uri) ?? str(request?.uri)) : undefined;
      const egressTools = context.server === undefined ? undefined : egress.get(context.server);
      const isEgress =
        fromClient && context.kind === 'request' && context.method === 'tools/call' && context.server !== undefined && egress.has(context.server)
          ? egressTools === undefined || egressTools.matches(tool ?? '') !== undefined
          : false;
      const carriesTainted = fromClient && state.tainted.size > 0 && located.some((l) => state.tainted.has(fingerprint(l.value)));
      const flow: Flow = {
        fromClient,
        server: context.server,
        tool,
        resource,
        client: context.session.client.name,
        trust: context.session.trustScore,
        capabilities: context.session.capabilities,
        taint: state.taint,
        carriesTainted,
        egress: isEgress,
      };

      // The message itself (rules on taint and egress apply even when nothing was found).
      const verdicts = new Map<string, Verdict>();
      const base = policy.decide(flow, 'PUBLIC', undefined);
      let classification: LevelName = 'PUBLIC';
      const counts: Record<string, number> = {};
      for (const l of located) {
        const level = levelOf(l.finding);
        classification = maxLevel(classification, level);
        counts[l.finding.detector] = (counts[l.finding.detector] ?? 0) + 1;
        const key = `${level}|${l.finding.detector}`;
        if (!verdicts.has(key)) verdicts.set(key, policy.decide(flow, level, l.finding.detector));
      }
      const detectors = Object.keys(counts);
      const where = fromClient ? `to ${context.server ?? 'the server'}${tool ? ` (${tool})` : ''}` : `from ${context.server ?? 'the server'} to the client`;
      const evidence = (extra: Record<string, unknown> = {}) => ({ classification, detectors: counts, ...(isEgress ? { egress: true } : {}), ...extra });

      // Refusals first: the message itself, then any kind of finding.
      const refusal = base.action === 'deny' ? { verdict: base, what: 'the message' } : undefined;
      const denied = refusal ?? [...verdicts.entries()].map(([key, v]) => ({ verdict: v, what: key })).find((e) => e.verdict.action === 'deny');
      if (denied) {
        const [level, detector] = denied.what.includes('|') ? denied.what.split('|') : [classification, undefined];
        const carried = detector ? `${level} data (${detector})` : detectors.length > 0 ? `${classification} data (${detectors.join(', ')})` : 'data';
        const because = denied.verdict.rule === 'emergency-lockdown'
          ? 'emergency lockdown is on: nothing above PUBLIC flows'
          : denied.verdict.rule === 'level-default'
            ? `${level} data does not flow by default`
            : `flow rule "${denied.verdict.rule}"${flow.taint && base.action === 'deny' ? ` (the session holds ${flow.taint} data)` : ''}`;
        return {
          effect: 'reject',
          decision: decision('deny', FLOW_STAGE, 'information-flow', `flow.${denied.verdict.rule}`, `refused: ${carried} may not flow ${where}: ${because}`, evidence({ rule: denied.verdict.rule, tainted: flow.taint })),
        };
      }

      // Transformations, per text.
      const spans = new Map<Leaf, Span[]>();
      const applied = new Set<string>();
      let clear: LevelName | undefined;
      for (const l of located) {
        const level = levelOf(l.finding);
        const v = verdicts.get(`${level}|${l.finding.detector}`)!;
        if (v.action !== 'transform') {
          if (!fromClient && LEVELS[level] >= taintAt && TAINTING.has(context.method)) {
            clear = clear === undefined ? level : maxLevel(clear, level);
            if (state.tainted.size < MAX_TAINTED_VALUES) state.tainted.add(fingerprint(l.value));
          }
          continue;
        }
        // A pseudonym of half a value means nothing: a split finding is redacted.
        const transformation = l.parts.length > 1 && v.transformation === 'tokenize' ? 'redact' : v.transformation;
        applied.add(`${transformation}:${l.finding.detector}`);
        for (const part of l.parts) {
          const list = spans.get(part.leaf) ?? [];
          list.push({ start: part.start, end: part.end, detector: l.finding.detector, level, transformation });
          spans.set(part.leaf, list);
        }
      }
      if (clear !== undefined) state.taint = state.taint === undefined ? clear : maxLevel(state.taint, clear);

      // Values come from the server or the client; pseudonyms going back to where their value
      // came from are restored (the ones made just now never are: they go the other way).
      const origin = fromClient ? undefined : context.server;
      const destination = fromClient ? context.server : undefined;
      const edits = new Map<Leaf, string>();
      const transformContext = { hashKey, vault: state.vault, origin };
      let restored = 0;
      let kept = 0;
      for (const leaf of leaves) {
        const list = spans.get(leaf);
        let text = list ? transformText(leaf.text, list, transformContext) : leaf.text;
        if (state.vault.mayHold(text)) {
          const r = state.vault.restore(text, destination);
          restored += r.restored;
          kept += r.kept;
          text = r.text;
        }
        if (text !== leaf.text) edits.set(leaf, text);
      }

      const transformations = [...applied];
      if (edits.size > 0) {
        const reason = transformations.length > 0
          ? `${classification} data ${where} was transformed (${transformations.join(', ')})`
          : `${restored} pseudonym(s) restored for ${destination ?? 'the client'}`;
        return {
          effect: 'mutate',
          message: withTexts(message, edits),
          decision: decision('transform', FLOW_STAGE, 'information-flow', `flow.${ruleOf(verdicts, base)}`, reason, evidence({ transformations, ...(restored ? { restored } : {}), ...(kept ? { pseudonymsKept: kept } : {}) })),
        };
      }
      if (located.length === 0 && kept === 0 && !isEgress) return PASS;
      const d: Decision =
        located.length === 0 && kept === 0
          ? decision('allow', FLOW_STAGE, 'information-flow', 'flow.egress', `a call to ${context.server} (${tool}), a tool that sends data out`, evidence())
          : decision('allow', FLOW_STAGE, 'information-flow', 'flow.classified', `${classification} data ${where} (${detectors.join(', ') || 'pseudonyms'})`, evidence(kept ? { pseudonymsKept: kept } : {}));
      return { effect: 'pass', decision: d };
    },
  };
  return stage;
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** The rule behind a transformation: the first transform verdict's. */
function ruleOf(verdicts: ReadonlyMap<string, Verdict>, base: Verdict): string {
  for (const v of verdicts.values()) if (v.action === 'transform') return v.rule;
  return base.rule === 'level-default' ? 'tokens-restored' : base.rule;
}
