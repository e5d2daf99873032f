/**
 * The one event bus every stage's decisions go through (seed 000 §10.8), with subscriptions by
 * type (globs) and minimum severity. A subscriber that throws is cut off from that event, never
 * from the gateway's work.
 */
import { randomUUID } from 'node:crypto';
import { compileGlobs } from '../access/globs.ts';
import { EVENT_TYPES, SEVERITY_RANK, type EventTypeName, type Severity } from './taxonomy.ts';

export interface SecurityEvent {
  readonly id: string;
  readonly time: string;
  readonly type: EventTypeName;
  readonly severity: Severity;
  /** One sentence, never content. */
  readonly message: string;
  readonly session?: string;
  readonly server?: string;
  readonly tool?: string;
  readonly method?: string;
  /** The rule that decided (a decision's rule, or a correlation rule's id). */
  readonly rule?: string;
  /** Names, counts, levels: what the decision's evidence holds. */
  readonly detail?: Readonly<Record<string, unknown>>;
}

export type EventInput = Omit<SecurityEvent, 'id' | 'time' | 'severity'> & { readonly severity?: Severity };

export interface Subscription {
  /** Type globs (`event.security.flow_control.*`); all types when absent. */
  readonly types?: readonly string[];
  readonly minSeverity?: Severity;
}

export type EventHandler = (event: SecurityEvent) => void;

export class EventBus {
  readonly #subscribers: { matches: (e: SecurityEvent) => boolean; handler: EventHandler }[] = [];
  #emitted = 0;

  get emitted(): number {
    return this.#emitted;
  }

  subscribe(subscription: Subscription, handler: EventHandler): () => void {
    const types = subscription.types ? compileGlobs(subscription.types) : undefined;
    const min = SEVERITY_RANK[subscription.minSeverity ?? 'info'];
    const entry = { matches: (e: SecurityEvent) => SEVERITY_RANK[e.severity] >= min && (types === undefined || types.matches(e.type) !== undefined), handler };
    this.#subscribers.push(entry);
    return () => {
      const at = this.#subscribers.indexOf(entry);
      if (at !== -1) this.#subscribers.splice(at, 1);
    };
  }

  /**
   * An event a subscriber raises while another is being delivered (a correlation alert) waits
   * until that one has reached every subscriber: each sink sees a cause before its alert.
   */
  readonly #queue: SecurityEvent[] = [];
  #delivering = false;

  emit(input: EventInput): SecurityEvent {
    const event: SecurityEvent = { id: randomUUID(), time: new Date().toISOString(), severity: input.severity ?? EVENT_TYPES[input.type].severity, ...withoutSeverity(input) };
    this.#emitted++;
    this.#queue.push(event);
    if (this.#delivering) return event;
    this.#delivering = true;
    try {
      for (let next = this.#queue.shift(); next; next = this.#queue.shift()) this.#deliver(next);
    } finally {
      this.#delivering = false;
    }
    return event;
  }

  #deliver(event: SecurityEvent): void {
    for (const s of this.#subscribers) {
      if (!s.matches(event)) continue;
      try {
        s.handler(event);
      } catch {
        // A failing subscriber is its own problem (sinks report their own failures).
      }
    }
  }
}

function withoutSeverity(input: EventInput): Omit<EventInput, 'severity'> {
  const { severity: _severity, ...rest } = input;
  return rest;
}
