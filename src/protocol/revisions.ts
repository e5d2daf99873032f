/**
 * The two eras of MCP the gateway speaks. Up to 2025-11-25 ("legacy"): a stateful
 * `initialize` handshake, server-to-client requests, sessions on HTTP. From 2026-07-28
 * ("modern"): stateless requests that each carry their version, client capabilities and
 * client info in `params._meta`, `server/discover`, and input-required results instead of
 * server-to-client requests.
 */

export const MODERN_VERSION = '2026-07-28';
export const LATEST_LEGACY_VERSION = '2025-11-25';
/** Legacy revisions the gateway accepts from clients and offers to servers, newest first. */
export const LEGACY_VERSIONS = ['2025-11-25', '2025-06-18', '2025-03-26', '2024-11-05'] as const;
export const MODERN_VERSIONS = [MODERN_VERSION] as const;

export type Era = 'legacy' | 'modern';

/** Reserved `_meta` keys of the 2026-07-28 request envelope and result metadata. */
export const META = {
  protocolVersion: 'io.modelcontextprotocol/protocolVersion',
  clientCapabilities: 'io.modelcontextprotocol/clientCapabilities',
  clientInfo: 'io.modelcontextprotocol/clientInfo',
  logLevel: 'io.modelcontextprotocol/logLevel',
  serverInfo: 'io.modelcontextprotocol/serverInfo',
  subscriptionId: 'io.modelcontextprotocol/subscriptionId',
} as const;

/** 2026-07-28 error codes. */
export const ModernErrorCode = {
  HeaderMismatch: -32020,
  MissingRequiredClientCapability: -32021,
  UnsupportedProtocolVersion: -32022,
} as const;

export interface RequestEnvelope {
  readonly protocolVersion: string;
  readonly clientCapabilities: Record<string, unknown>;
  readonly clientInfo?: Record<string, unknown>;
  readonly logLevel?: string;
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * The 2026-07-28 envelope of a request, if it claims one. `undefined`: no claim (legacy);
 * a string: a claim that is malformed, with the reason.
 */
export function readEnvelope(params: Record<string, unknown> | undefined): RequestEnvelope | string | undefined {
  const meta = params?._meta;
  if (!isObject(meta) || !(META.protocolVersion in meta)) return undefined;
  const version = meta[META.protocolVersion];
  if (typeof version !== 'string') return `_meta["${META.protocolVersion}"] must be a string`;
  const caps = meta[META.clientCapabilities];
  if (!isObject(caps)) return `_meta["${META.clientCapabilities}"] must be an object`;
  const info = meta[META.clientInfo];
  if (info !== undefined && !isObject(info)) return `_meta["${META.clientInfo}"] must be an object`;
  const level = meta[META.logLevel];
  if (level !== undefined && typeof level !== 'string') return `_meta["${META.logLevel}"] must be a string`;
  return {
    protocolVersion: version,
    clientCapabilities: caps,
    ...(info === undefined ? {} : { clientInfo: info }),
    ...(level === undefined ? {} : { logLevel: level }),
  };
}

export function isLegacyVersion(version: string): boolean {
  return (LEGACY_VERSIONS as readonly string[]).includes(version);
}
