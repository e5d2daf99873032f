/**
 * The request filter (seed 001 §5.1): the first stage every message meets. It refuses what is
 * not valid MCP (unknown methods, missing routing parameters, excessive nesting, names that
 * belong to no server) and applies each server's tool allow/deny list, both when a tool is
 * called and when tools are listed (denied tools are hidden, not just refused).
 *
 * Message size is bounded earlier, by the transports, which must not buffer an oversized
 * message to begin with; they report it under this stage's rule `request-filter.too-large`.
 */
import type { ServerPolicy } from '../config/config.ts';
import { decision } from '../pipeline/decision.ts';
import { PASS, type Stage, type StageContext, type StageResult } from '../pipeline/stage.ts';
import { exceedsDepth, ErrorCode } from '../protocol/jsonrpc.ts';
import { CLIENT_NOTIFICATIONS, CLIENT_REQUESTS, MODERN_ONLY, REMOVED_IN_MODERN, SERVER_NOTIFICATIONS, SERVER_REQUEST_CAPABILITY, SERVER_REQUESTS } from '../protocol/methods.ts';
import { compileGlobs, type GlobList } from './globs.ts';

export const REQUEST_FILTER = 'request-filter';

export interface RequestFilterOptions {
  readonly maxDepth: number;
  /** Policy per upstream server name. */
  readonly policies: ReadonlyMap<string, ServerPolicy>;
}

interface CompiledNamePolicy {
  /** Undefined: everything not denied (a strict policy compiles an absent list to an empty one). */
  readonly allow: GlobList | undefined;
  readonly deny: GlobList;
}

type Kind = 'tool' | 'prompt' | 'resource';

/** Where each kind is listed, and what names an item in a listing. */
const LISTED: Readonly<Record<string, { kind: Kind; field: string; key: string }>> = {
  'tools/list': { kind: 'tool', field: 'tools', key: 'name' },
  'prompts/list': { kind: 'prompt', field: 'prompts', key: 'name' },
  'resources/list': { kind: 'resource', field: 'resources', key: 'uri' },
};

/** Requests that use one item, and its kind. */
const USES: Readonly<Record<string, Kind>> = {
  'tools/call': 'tool',
  'prompts/get': 'prompt',
  'resources/read': 'resource',
  'resources/subscribe': 'resource',
  'resources/unsubscribe': 'resource',
};

type Obj = Record<string, unknown>;

export function requestFilter(options: RequestFilterOptions): Stage {
  if (!Number.isInteger(options.maxDepth) || options.maxDepth < 2) throw new Error('request-filter: maxDepth must be an integer of at least 2');
  const compiled = new Map<string, Record<Kind, CompiledNamePolicy>>();
  for (const [server, policy] of options.policies) {
    const compile = (p: ServerPolicy['tools']): CompiledNamePolicy => ({
      allow: p.allow === undefined ? (policy.strictMode ? compileGlobs([]) : undefined) : compileGlobs(p.allow),
      deny: compileGlobs(p.deny),
    });
    compiled.set(server, { tool: compile(policy.tools), prompt: compile(policy.prompts), resource: compile(policy.resources) });
  }
  const maxDepth = options.maxDepth;

  /** Why a tool, prompt or resource is not available on a server, or undefined if it is. */
  function refusal(server: string, kind: Kind, name: string): { rule: string; reason: string; evidence: Obj } | undefined {
    const policy = compiled.get(server)?.[kind];
    if (!policy) return undefined;
    const denied = policy.deny.matches(name);
    if (denied !== undefined) {
      return { rule: `request-filter.${kind}-denied`, reason: `${kind} "${name}" on server "${server}" is denied by policy (matches "${denied}")`, evidence: { server, [kind]: name, pattern: denied } };
    }
    if (policy.allow && policy.allow.matches(name) === undefined) {
      return { rule: `request-filter.${kind}-not-allowed`, reason: `${kind} "${name}" on server "${server}" is not in the policy's allow list`, evidence: { server, [kind]: name } };
    }
    return undefined;
  }

  const deny = (rule: string, reason: string, evidence: Obj, code?: number): StageResult => ({
    effect: 'reject',
    decision: decision('deny', REQUEST_FILTER, 'request-control', rule, reason, evidence, code),
  });

  return {
    name: REQUEST_FILTER,
    layer: 'request-control',
    scope: { methods: '*', directions: ['client-to-server', 'server-to-client'] },
    evaluate: function requestFilterStage(ctx: StageContext): StageResult {
      const message = ctx.frame.message as unknown as Obj;
      if (exceedsDepth(message, maxDepth)) {
        return deny('request-filter.too-deep', `the message nests deeper than ${maxDepth} levels`, { maxDepth }, ErrorCode.InvalidRequest);
      }
      if (ctx.kind === 'request' || ctx.kind === 'notification') {
        const known =
          ctx.direction === 'client-to-server'
            ? ctx.kind === 'request' ? ctx.method in CLIENT_REQUESTS : CLIENT_NOTIFICATIONS.has(ctx.method)
            : ctx.kind === 'request' ? SERVER_REQUESTS.has(ctx.method) : SERVER_NOTIFICATIONS.has(ctx.method);
        if (!known) return deny('request-filter.unknown-method', `method "${ctx.method}" is not part of MCP`, { method: ctx.method }, ErrorCode.MethodNotFound);
        if (ctx.direction === 'client-to-server' && ctx.kind === 'request') {
          const absent = ctx.era === 'modern' ? REMOVED_IN_MODERN.has(ctx.method) : MODERN_ONLY.has(ctx.method);
          if (absent) {
            const revision = ctx.era === 'modern' ? '2026-07-28' : 'protocol revisions before 2026-07-28';
            return deny('request-filter.unknown-method', `method "${ctx.method}" does not exist in ${revision}`, { method: ctx.method, era: ctx.era }, ErrorCode.MethodNotFound);
          }
        }
      }
      if (ctx.direction === 'client-to-server' && ctx.kind === 'request') return checkClientRequest(ctx, message);
      if (ctx.direction === 'server-to-client' && ctx.kind === 'request') {
        // A server may only ask the client for what the client said it can do.
        const needs = SERVER_REQUEST_CAPABILITY[ctx.method];
        if (needs !== undefined && ctx.session.client.capabilities?.[needs] === undefined) {
          return deny('request-filter.capability-not-declared', `the client did not declare the "${needs}" capability, so ${ctx.method} is not forwarded`, { method: ctx.method, capability: needs }, ErrorCode.MethodNotFound);
        }
      }
      const listing = LISTED[ctx.method];
      if (listing && ctx.direction === 'server-to-client' && ctx.kind === 'result' && ctx.server !== undefined) return hide(ctx.server, listing, message);
      return PASS;
    },
  };

  function checkClientRequest(ctx: StageContext, message: Obj): StageResult {
    const params = message.params as Obj | undefined;
    const route = CLIENT_REQUESTS[ctx.method]!;
    const need = (field: string, what: string): StageResult | undefined =>
      typeof params?.[field] === 'string' ? undefined : deny('request-filter.invalid-params', `${ctx.method} needs a string "${field}" (${what})`, { method: ctx.method, field }, ErrorCode.InvalidParams);
    let missing: StageResult | undefined;
    if (route.kind === 'by-name') missing = need('name', route.capability === 'tools' ? 'the tool to call' : 'the prompt to get');
    else if (route.kind === 'by-uri') missing = need('uri', 'the resource');
    else if (route.kind === 'by-ref') {
      const ref = params?.ref as Obj | undefined;
      if (!ref || (typeof ref.name !== 'string' && typeof ref.uri !== 'string')) {
        missing = deny('request-filter.invalid-params', 'completion/complete needs a "ref" naming a prompt or resource', { method: ctx.method, field: 'ref' }, ErrorCode.InvalidParams);
      }
    }
    if (missing) return missing;
    if (route.kind === 'by-name' || route.kind === 'by-uri' || route.kind === 'by-ref') {
      if (ctx.server === undefined) {
        const name = String(params?.name ?? params?.uri ?? (params?.ref as Obj | undefined)?.name ?? (params?.ref as Obj | undefined)?.uri);
        return deny('request-filter.unknown-target', `no server behind this gateway offers "${name}"`, { method: ctx.method, name }, ErrorCode.InvalidParams);
      }
    }
    // completion/complete uses a prompt or a resource, whichever its ref names.
    const ref = params?.ref as Obj | undefined;
    const kind = ctx.method === 'completion/complete' ? (typeof ref?.name === 'string' ? 'prompt' : 'resource') : USES[ctx.method];
    if (kind !== undefined && ctx.server !== undefined && ctx.target !== undefined) {
      const refused = refusal(ctx.server, kind, ctx.target);
      if (refused) return deny(refused.rule, refused.reason, refused.evidence);
    }
    return PASS;
  }

  function hide(server: string, listing: { kind: Kind; field: string; key: string }, message: Obj): StageResult {
    const result = message.result as Obj | undefined;
    const list = result?.[listing.field];
    if (!Array.isArray(list) || !compiled.has(server)) return PASS;
    const hidden: string[] = [];
    const kept = list.filter((item) => {
      const name = (item as Obj | null)?.[listing.key];
      if (typeof name === 'string' && refusal(server, listing.kind, name)) {
        hidden.push(name);
        return false;
      }
      return true;
    });
    if (hidden.length === 0) return PASS;
    return {
      effect: 'mutate',
      message: { ...message, result: { ...result, [listing.field]: kept } } as never,
      decision: decision('transform', REQUEST_FILTER, 'request-control', `request-filter.${listing.field}-hidden`, `${hidden.length} ${listing.kind}(s) of server "${server}" hidden by policy`, { server, hidden }),
    };
  }
}
