/**
 * A decision is a value (brief, "principles"): the same object becomes the client's JSON-RPC
 * error data, the audit record, and later the dashboard's and `explain`'s answer.
 */

/** The seeds' five layers under self-explaining names (docs/ARCHITECTURE.md has the mapping). */
export type Layer =
  | 'information-flow' // seed: Information Gateway Layer (IGL)
  | 'trust' // seed: Context Verification Layer (CVL)
  | 'request-control' // seed: Request Control Layer (RCL)
  | 'containment' // seed: Execution Containment Layer (ECL)
  | 'audit'; // seed: Audit & Monitoring Layer (AML)

export type Effect = 'allow' | 'deny' | 'transform';

export interface Decision {
  readonly effect: Effect;
  /** Stable id of the rule that decided, e.g. `request-filter.tool-denied`. */
  readonly rule: string;
  readonly layer: Layer;
  /** The stage that decided. */
  readonly stage: string;
  /** One sentence a user can act on. */
  readonly reason: string;
  /** What the rule looked at: names, sizes, the pattern that matched. Never message content. */
  readonly evidence?: Readonly<Record<string, unknown>>;
  /** The JSON-RPC error code a refused request is answered with (default: policy denied, -32010). */
  readonly code?: number;
}

export function decision(
  effect: Effect,
  stage: string,
  layer: Layer,
  rule: string,
  reason: string,
  evidence?: Record<string, unknown>,
  code?: number,
): Decision {
  const d: { -readonly [K in keyof Decision]: Decision[K] } = { effect, rule, layer, stage, reason };
  if (evidence !== undefined) d.evidence = evidence;
  if (code !== undefined) d.code = code;
  return d;
}
