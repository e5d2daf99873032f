/**
 * The argument-guard stage (request control): for a `tools/call` (or a `resources/read`) on its
 * way to a server, every guard the server's policy points at the call judges the arguments it
 * selects; the first finding refuses the call with its rule. Guards are compiled once, when the
 * gateway starts (`prepare`); a guard kind's module is loaded only when some policy uses it.
 */
import type { GuardEntry, ServerPolicy } from '../config/config.ts';
import { compileGlobs, type GlobList } from '../access/globs.ts';
import { decision } from '../pipeline/decision.ts';
import { PASS, type Stage, type StageContext, type StageResult } from '../pipeline/stage.ts';
import { detectArguments, operationOf } from './detect.ts';
import { GuardConfigError, type ArgumentGuard, type GuardResult } from './guard.ts';

export const ARGUMENT_GUARDS = 'argument-guard';

type Factory = (options: never) => ArgumentGuard;

/** Loads a guard kind's factory on first use (the SQL parser, for one, is large). */
const FACTORIES: Record<GuardEntry['guard'], () => Promise<Factory>> = {
  path: async () => (await import('./path.ts')).pathGuard,
  url: async () => (await import('./url.ts')).urlGuard,
  command: async () => (await import('./command.ts')).commandGuard,
  sql: async () => (await import('./sql.ts')).sqlGuard,
};

type Step = { readonly key: string } | { readonly index: number } | { readonly each: true };

type Selectors = ReadonlyArray<{ readonly text: string; readonly steps: readonly Step[] }>;

interface CompiledGuard {
  readonly entry: GuardEntry;
  readonly tools: GlobList | undefined;
  readonly selectors: Selectors;
  readonly guard: ArgumentGuard;
  /** With `detect`: per tool, the selectors found in its schema and the guard for its operation. */
  readonly detected?: Map<string, { readonly selectors: Selectors; readonly guard: ArgumentGuard }>;
  readonly factory?: Factory;
}

export interface ArgumentGuards {
  readonly stage: Stage;
  /** Loads and compiles every guard; throws a GuardConfigError naming the entry that cannot compile. */
  prepare(): Promise<void>;
}

export function argumentGuards(policies: ReadonlyMap<string, ServerPolicy>): ArgumentGuards {
  let compiled: Map<string, CompiledGuard[]> | undefined;
  const needed = [...policies.values()].some((p) => p.guards.length > 0);

  const stage: Stage = {
    name: ARGUMENT_GUARDS,
    layer: 'request-control',
    scope: { methods: ['tools/call', 'resources/read', 'tools/list'], directions: ['client-to-server', 'server-to-client'], kinds: ['request', 'result'] },
    evaluate(context) {
      if (!needed || context.server === undefined) return PASS;
      if (!compiled) throw new Error('the argument guards are not compiled yet');
      const guards = compiled.get(context.server);
      if (!guards || guards.length === 0) return PASS;
      if (context.direction === 'server-to-client') {
        if (context.method === 'tools/list' && context.kind === 'result') learn(guards, (context.frame.message as { result?: { tools?: unknown } }).result?.tools);
        return PASS;
      }
      if (context.method === 'tools/list') return PASS;
      return judge(context, guards);
    },
  };

  return {
    stage,
    async prepare() {
      const out = new Map<string, CompiledGuard[]>();
      for (const [server, policy] of policies) {
        const list: CompiledGuard[] = [];
        for (const entry of policy.guards) {
          try {
            const factory = await FACTORIES[entry.guard]();
            list.push({
              entry,
              tools: entry.tools === undefined ? undefined : compileGlobs(entry.tools),
              selectors: entry.arguments.map((text) => ({ text, steps: parseSelector(text) })),
              // A detecting path guard gets its operation per tool; compiled here to fail at start.
              guard: factory((entry.detect && entry.guard === 'path' ? { operation: 'read', ...entry.options } : entry.options) as never),
              ...(entry.detect ? { detected: new Map(), factory } : {}),
            });
          } catch (error) {
            throw new GuardConfigError(`${entry.source}: ${(error as Error).message}`);
          }
        }
        out.set(server, list);
      }
      compiled = out;
    },
  };
}

/** Detecting entries read each listed tool's input schema: which arguments, which operation. */
function learn(guards: readonly CompiledGuard[], tools: unknown): void {
  if (!Array.isArray(tools)) return;
  for (const compiled of guards) {
    if (!compiled.detected || !compiled.factory) continue;
    for (const tool of tools as Array<{ name?: unknown; inputSchema?: unknown }>) {
      if (typeof tool?.name !== 'string') continue;
      if (compiled.tools && compiled.tools.matches(tool.name) === undefined) continue;
      const selectors = detectArguments(compiled.entry.guard, tool.inputSchema).map((text) => ({ text, steps: parseSelector(text) }));
      if (selectors.length === 0) {
        compiled.detected.delete(tool.name);
        continue;
      }
      const options = compiled.entry.guard === 'path' && compiled.entry.options.operation === undefined ? { ...compiled.entry.options, operation: operationOf(tool.name) } : compiled.entry.options;
      try {
        compiled.detected.set(tool.name, { selectors, guard: compiled.factory(options as never) });
      } catch {
        // The options compiled at start; a per-tool variant that does not is judged with the base guard.
        compiled.detected.set(tool.name, { selectors, guard: compiled.guard });
      }
    }
  }
}

function judge(context: StageContext, guards: readonly CompiledGuard[]): StageResult | Promise<StageResult> {
  const params = ((context.frame.message as { params?: Record<string, unknown> }).params ?? {}) as Record<string, unknown>;
  const isCall = context.method === 'tools/call';
  const tool = context.target ?? '';
  const pending: Array<Promise<StageResult>> = [];
  for (const compiled of guards) {
    if ((compiled.entry.on === 'tools/call') !== isCall) continue;
    if (isCall && compiled.tools && compiled.tools.matches(tool) === undefined) continue;
    // A resource is judged by its URI as the server will receive it (without the namespace prefix).
    const root = isCall ? params.arguments : { ...params, uri: context.target };
    const detected = compiled.detected?.get(tool);
    const selectors = compiled.detected ? (detected?.selectors ?? []) : compiled.selectors;
    const guard = detected?.guard ?? compiled.guard;
    for (const selector of selectors) {
      for (const { value, label } of select(root, selector.steps)) {
        const call = { tool, argument: label };
        const result = guard.check(value, call);
        if (result instanceof Promise) {
          // A guard that fails while waiting refuses, like one that throws (fail closed).
          pending.push(result.then((r) => refusal(r, context, compiled, label), (error: unknown) => failed(error, context, compiled, label)));
        } else if (result !== undefined) return refusal(result, context, compiled, label);
      }
    }
  }
  if (pending.length === 0) return PASS;
  // The first refusal in entry order wins, as it would synchronously.
  return Promise.all(pending).then((results) => results.find((r) => r.effect === 'reject') ?? PASS);
}

function refusal(result: GuardResult, context: StageContext, compiled: CompiledGuard, argument: string): StageResult {
  if (result === undefined) return PASS;
  const subject = context.method === 'tools/call' ? `${context.target}: argument "${argument}"` : `resource "${String(context.target)}"`;
  return {
    effect: 'reject',
    decision: decision('deny', ARGUMENT_GUARDS, 'request-control', result.rule, `${subject}: ${result.reason}`, {
      ...result.evidence,
      server: context.server,
      ...(context.method === 'tools/call' ? { tool: context.target } : {}),
      argument,
      guard: compiled.entry.guard,
      policy: compiled.entry.source,
    }),
  };
}

function failed(error: unknown, context: StageContext, compiled: CompiledGuard, argument: string): StageResult {
  const message = error instanceof Error ? error.message : String(error);
  return {
    effect: 'reject',
    decision: decision('deny', ARGUMENT_GUARDS, 'request-control', `${ARGUMENT_GUARDS}.internal-error`, `the ${compiled.entry.guard} guard failed, so the call was refused`, {
      error: message,
      server: context.server,
      argument,
      policy: compiled.entry.source,
    }),
  };
}

/** `paths[*]` → key paths, each; `options.url` → key options, key url; `items[2]` → index 2. */
export function parseSelector(text: string): Step[] {
  const steps: Step[] = [];
  for (const match of text.matchAll(/([^.[\]]+)|\[(\*|\d+)\]/g)) {
    if (match[1] !== undefined) steps.push({ key: match[1] });
    else if (match[2] === '*') steps.push({ each: true });
    else steps.push({ index: Number(match[2]) });
  }
  return steps;
}

/** The values a selector points at, with their labels (`paths[1]`). Absent values yield nothing. */
export function select(root: unknown, steps: readonly Step[]): Array<{ value: unknown; label: string }> {
  let current: Array<{ value: unknown; label: string }> = [{ value: root, label: '' }];
  for (const step of steps) {
    const next: Array<{ value: unknown; label: string }> = [];
    for (const { value, label } of current) {
      if ('key' in step) {
        if (value !== null && typeof value === 'object' && !Array.isArray(value) && Object.hasOwn(value, step.key)) {
          next.push({ value: (value as Record<string, unknown>)[step.key], label: label ? `${label}.${step.key}` : step.key });
        }
      } else if ('index' in step) {
        if (Array.isArray(value) && step.index < value.length) next.push({ value: value[step.index], label: `${label}[${step.index}]` });
      } else if (Array.isArray(value)) {
        value.forEach((item, i) => next.push({ value: item, label: `${label}[${i}]` }));
      } else if (value !== undefined) {
        // `paths[*]` given a single value instead of a list: judge it anyway (fail closed).
        next.push({ value, label });
      }
    }
    current = next;
  }
  return current;
}
