/**
 * Argument guards (seed 002 "Security Policies"; seed 001 §5.2 resource guard): each judges one
 * tool argument a policy points it at (a path, a URL, a command, a query) and finds nothing
 * (allowed) or a finding: the rule that refused it and why. Guards are built by factories that
 * validate and compile their options once (a bad option throws `GuardConfigError` at load); the
 * returned `check` does no parsing of policy and never throws on purpose: the stage that runs it
 * turns an unexpected throw into a deny (fail closed).
 */

export interface GuardFinding {
  /** Stable id, `<guard>.<rule>`, e.g. `path.outside-roots`. */
  readonly rule: string;
  /** One sentence the user can act on; names the argument's offending part, never secrets. */
  readonly reason: string;
  /** What matched: the normalised value, the root, the address class. Never whole payloads. */
  readonly evidence?: Readonly<Record<string, unknown>>;
}

/** What a guard knows about the call it judges. */
export interface GuardCall {
  /** The tool, as the upstream spells it. */
  readonly tool: string;
  /** Where the value sits in the arguments, e.g. `paths[2]` or `options.url`. */
  readonly argument: string;
}

/** `undefined` means allowed. A promise only when the guard truly waits (a DNS lookup, a stat). */
export type GuardResult = GuardFinding | undefined;

export interface ArgumentGuard {
  /** `path`, `url`, `command`, `sql`, … */
  readonly kind: string;
  check(value: unknown, call: GuardCall): GuardResult | Promise<GuardResult>;
}

/** Invalid guard options: reported as a config error at load, with the message as written. */
export class GuardConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GuardConfigError';
  }
}

export function finding(rule: string, reason: string, evidence?: Record<string, unknown>): GuardFinding {
  return evidence === undefined ? { rule, reason } : { rule, reason, evidence };
}
