/**
 * Translation between a client and an upstream that speak different MCP eras (2025-11-25
 * "legacy", 2026-07-28 "modern"). When both speak the same era nothing here runs and the
 * message is forwarded as the peer sent it. docs/ARCHITECTURE.md lists what is bridged and
 * what is refused with a clear error.
 */
import type { JsonRpcRequest } from '../protocol/jsonrpc.ts';
import { META, MODERN_VERSION, type Era } from '../protocol/revisions.ts';
import type { ClientHello } from './upstream-link.ts';

type Obj = Record<string, unknown>;

/** Methods whose 2026-07-28 results carry caching hints (`ttlMs`, `cacheScope`). */
const CACHEABLE = new Set(['tools/list', 'prompts/list', 'resources/list', 'resources/templates/list', 'resources/read', 'server/discover']);

const ENVELOPE_KEYS = [META.protocolVersion, META.clientCapabilities, META.clientInfo, META.logLevel];

/**
 * The request as the upstream should see it: a modern client's envelope removed for a legacy
 * upstream, or an envelope added for a modern upstream. Returns the same object when nothing
 * changes.
 */
export function requestForUpstream(request: JsonRpcRequest, clientEra: Era, upstreamEra: Era, hello: ClientHello, logLevel?: string): JsonRpcRequest {
  if (clientEra === upstreamEra) return request;
  const params: Obj = { ...(request.params ?? {}) };
  const meta: Obj = { ...((params._meta as Obj | undefined) ?? {}) };
  if (upstreamEra === 'legacy') {
    for (const key of ENVELOPE_KEYS) delete meta[key];
    delete params.inputResponses;
    delete params.requestState;
  } else {
    meta[META.protocolVersion] = MODERN_VERSION;
    meta[META.clientCapabilities] = hello.capabilities;
    meta[META.clientInfo] = hello.clientInfo;
    if (logLevel !== undefined) meta[META.logLevel] = logLevel;
  }
  if (Object.keys(meta).length > 0) params._meta = meta;
  else delete params._meta;
  return { ...request, params };
}

/**
 * A result as the client should see it: a legacy upstream's result completed with the fields
 * 2026-07-28 requires, or a modern upstream's result stripped of them for a legacy client.
 */
export function resultForClient(result: Obj, method: string, clientEra: Era, upstreamEra: Era, serverInfo: Obj | undefined): Obj {
  if (clientEra === upstreamEra) return result;
  if (clientEra === 'modern') {
    const out: Obj = { ...result, resultType: 'complete' };
    if (CACHEABLE.has(method)) {
      // A legacy server gives no caching guidance: never cache, never share.
      out.ttlMs = 0;
      out.cacheScope = 'private';
    }
    if (serverInfo !== undefined) out._meta = { ...((result._meta as Obj | undefined) ?? {}), [META.serverInfo]: serverInfo };
    return out;
  }
  const { resultType: _resultType, ttlMs: _ttl, cacheScope: _scope, ...rest } = result;
  const meta = rest._meta as Obj | undefined;
  if (meta && META.serverInfo in meta) {
    const { [META.serverInfo]: _info, ...others } = meta;
    if (Object.keys(others).length > 0) rest._meta = others;
    else delete rest._meta;
  }
  return rest;
}

/** Results a modern client must receive with caching hints. */
export function isCacheable(method: string): boolean {
  return CACHEABLE.has(method);
}
