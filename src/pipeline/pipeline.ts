import { frameOf, type Frame } from '../protocol/frame.ts';
import type { MessageKind } from '../protocol/jsonrpc.ts';
import { decision, type Decision } from './decision.ts';
import type { Direction, SettledCall, Stage, StageContext, StageResult } from './stage.ts';

export type Verdict = 'allow' | 'transform' | 'deny';

export interface PipelineOutcome {
  readonly verdict: Verdict;
  /** The message to forward: the original frame when nothing changed it. */
  readonly frame: Frame;
  /** Every decision a stage reported, in stage order; for a deny, the last one is the reject. */
  readonly decisions: readonly Decision[];
}

export type PipelineInput = Omit<StageContext, 'frame'> & { readonly frame: Frame };

/** Observes every outcome; the decision record and, later, the audit layer subscribe here. */
export type OutcomeListener = (input: PipelineInput, outcome: PipelineOutcome) => void;

const KINDS: readonly MessageKind[] = ['request', 'notification', 'result', 'error'];
const DIRECTIONS: readonly Direction[] = ['client-to-server', 'server-to-client'];

const isThenable = <T>(value: T | Promise<T>): value is Promise<T> =>
  typeof (value as { then?: unknown } | null)?.then === 'function';

/**
 * The ordered list of stages every message passes (seed 000 §10.3). Stages are indexed once by
 * direction, kind and method, so a message only meets the stages that declared interest in it.
 * First reject wins; a stage that throws (or whose promise rejects) is a deny that names the
 * stage and the error: fail closed.
 */
export class Pipeline {
  readonly stages: readonly Stage[];
  readonly #byKey = new Map<string, readonly Stage[]>();
  readonly #wildcard = new Map<string, readonly Stage[]>();
  readonly #listeners: OutcomeListener[] = [];

  constructor(stages: readonly Stage[]) {
    const names = new Set<string>();
    for (const stage of stages) {
      if (names.has(stage.name)) throw new Error(`two pipeline stages are named "${stage.name}"`);
      names.add(stage.name);
    }
    this.stages = stages;
    // Pre-compute, per (direction, kind), the stages that apply to every method, and per
    // (direction, kind, method) the ordered list for each method some stage names.
    const methods = new Set<string>();
    for (const stage of stages) if (stage.scope.methods !== '*') for (const m of stage.scope.methods) methods.add(m);
    for (const direction of DIRECTIONS) {
      for (const kind of KINDS) {
        const applies = (s: Stage) => s.scope.directions.includes(direction) && (s.scope.kinds?.includes(kind) ?? true);
        this.#wildcard.set(`${direction}|${kind}`, stages.filter((s) => applies(s) && s.scope.methods === '*'));
        for (const method of methods) {
          this.#byKey.set(
            `${direction}|${kind}|${method}`,
            stages.filter((s) => applies(s) && (s.scope.methods === '*' || s.scope.methods.includes(method))),
          );
        }
      }
    }
  }

  onOutcome(listener: OutcomeListener): void {
    this.#listeners.push(listener);
  }

  stagesFor(direction: Direction, kind: MessageKind, method: string): readonly Stage[] {
    return this.#byKey.get(`${direction}|${kind}|${method}`) ?? this.#wildcard.get(`${direction}|${kind}`) ?? [];
  }

  /** Tells the stages that saw a client request that it has ended (see `Stage.settled`). */
  settled(call: SettledCall): void {
    for (const stage of this.stagesFor('client-to-server', 'request', call.method)) {
      try {
        stage.settled?.(call);
      } catch {
        // Letting go must not fail the session; a stage that cannot is its own problem.
      }
    }
  }

  /**
   * Runs the applicable stages. Returns synchronously when every stage did, so the common path
   * pays for no promise; returns a promise as soon as one stage needs to wait.
   */
  run(input: PipelineInput): PipelineOutcome | Promise<PipelineOutcome> {
    const stages = this.stagesFor(input.direction, input.kind, input.method);
    const outcome = this.#continue(input, stages, 0, input.frame, []);
    if (isThenable(outcome)) return outcome.then((o) => this.#notify(input, o));
    return this.#notify(input, outcome);
  }

  #notify(input: PipelineInput, outcome: PipelineOutcome): PipelineOutcome {
    for (const listener of this.#listeners) {
      try {
        listener(input, outcome);
      } catch {
        // A failing observer must not change what happens to the message; the decision record
        // reports its own write failures.
      }
    }
    return outcome;
  }

  #continue(
    input: PipelineInput,
    stages: readonly Stage[],
    from: number,
    frame: Frame,
    decisions: Decision[],
  ): PipelineOutcome | Promise<PipelineOutcome> {
    for (let i = from; i < stages.length; i++) {
      const stage = stages[i]!;
      const context: StageContext = frame === input.frame ? input : { ...input, frame };
      let result: StageResult | Promise<StageResult>;
      try {
        result = stage.evaluate(context);
      } catch (error) {
        return denyForError(stage, error, frame, decisions);
      }
      if (isThenable(result)) {
        return result.then(
          (settled) => {
            const next = apply(stage, settled, frame, decisions);
            return next.done ? next.outcome : this.#continue(input, stages, i + 1, next.frame, decisions);
          },
          (error: unknown) => denyForError(stage, error, frame, decisions),
        );
      }
      const next = apply(stage, result, frame, decisions);
      if (next.done) return next.outcome;
      frame = next.frame;
    }
    return { verdict: frame === input.frame ? 'allow' : 'transform', frame, decisions };
  }
}

type Step = { done: true; outcome: PipelineOutcome } | { done: false; frame: Frame };

function apply(stage: Stage, result: StageResult, frame: Frame, decisions: Decision[]): Step {
  switch (result?.effect) {
    case 'pass':
      if (result.decision) decisions.push(result.decision);
      return { done: false, frame };
    case 'mutate': {
      const next = frameOf(result.message);
      if (next.kind !== frame.kind) {
        return { done: true, outcome: denyForError(stage, new Error(`stage turned a ${frame.kind} into a ${next.kind}`), frame, decisions) };
      }
      // A stage may rewrite content, never re-address a message: ids are the session's to map.
      if ((next.message as { id?: unknown }).id !== (frame.message as { id?: unknown }).id) {
        return { done: true, outcome: denyForError(stage, new Error('stage changed the message id'), frame, decisions) };
      }
      decisions.push(result.decision);
      return { done: false, frame: next };
    }
    case 'reject':
      decisions.push(result.decision);
      return { done: true, outcome: { verdict: 'deny', frame, decisions } };
    default:
      return { done: true, outcome: denyForError(stage, new Error(`stage returned ${JSON.stringify(result)}`), frame, decisions) };
  }
}

function denyForError(stage: Stage, error: unknown, frame: Frame, decisions: Decision[]): PipelineOutcome {
  const message = error instanceof Error ? error.message : String(error);
  decisions.push(
    decision('deny', stage.name, stage.layer, `${stage.name}.internal-error`, `the ${stage.name} check failed, so the message was refused`, {
      error: message,
    }),
  );
  return { verdict: 'deny', frame, decisions };
}
