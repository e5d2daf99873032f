/**
 * The Dynamic Security Context (seed 000 §10.4): one mutable object per downstream session that
 * every stage can read and update: trust score, threat level, the capability set the session
 * holds, and a bounded history of recent security events. Later layers (trust scoring,
 * adaptive quotas, correlation) drive it; the gateway core only creates it and keeps it per
 * session.
 */

export type ThreatLevel = 'low' | 'medium' | 'high' | 'critical';

export interface SecurityEvent {
  readonly time: number;
  readonly type: string;
  readonly detail?: Readonly<Record<string, unknown>>;
}

export interface ClientIdentity {
  name?: string;
  version?: string;
  protocolVersion?: string;
  capabilities?: Record<string, unknown>;
}

export interface SecurityContextOptions {
  sessionId: string;
  transport: 'stdio' | 'http';
  initialTrust?: number;
  historySize?: number;
}

export class SecurityContext {
  readonly sessionId: string;
  readonly transport: 'stdio' | 'http';
  readonly createdAt = Date.now();
  /** 0 (untrusted) … 1 (fully trusted). */
  trustScore: number;
  threatLevel: ThreatLevel = 'low';
  /** Capabilities this session currently holds; stages may attenuate them (seed 000 §6.2). */
  readonly capabilities = new Set<string>();
  client: ClientIdentity = {};
  /** Per-stage state, keyed by stage name, so stages do not step on each other. */
  readonly state = new Map<string, unknown>();
  readonly #history: SecurityEvent[] = [];
  readonly #historySize: number;

  constructor(options: SecurityContextOptions) {
    this.sessionId = options.sessionId;
    this.transport = options.transport;
    this.trustScore = options.initialTrust ?? 0.5;
    this.#historySize = options.historySize ?? 64;
  }

  /** Appends to the bounded event history (oldest dropped first). */
  note(type: string, detail?: Record<string, unknown>): void {
    const event: SecurityEvent = detail === undefined ? { time: Date.now(), type } : { time: Date.now(), type, detail };
    this.#history.push(event);
    if (this.#history.length > this.#historySize) this.#history.shift();
  }

  get recentEvents(): readonly SecurityEvent[] {
    return this.#history;
  }
}
