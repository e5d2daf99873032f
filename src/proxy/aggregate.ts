/**
 * Pure helpers for presenting several upstreams as one server: honest capability merging,
 * handshake results, paginated list merging with the gateway's own cursors, and renaming
 * list items into the client's namespace.
 */
import type { ListSpec } from '../protocol/methods.ts';
import type { Namespace } from './namespace.ts';
import type { ServerDescription } from './upstream-link.ts';

type Obj = Record<string, unknown>;
const isObject = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * Capabilities the gateway can honestly offer for several servers: a capability is offered
 * if any server offers it; `listChanged` is always on for lists (the gateway itself announces
 * upstreams that join, leave or restart); `subscribe` if any server supports it. Capabilities
 * the gateway cannot route across servers (tasks, experimental, extensions) are left out.
 */
export function mergeCapabilities(descriptions: readonly ServerDescription[]): Obj {
  const merged: Obj = {};
  const any = (key: string) => descriptions.some((d) => isObject(d.capabilities[key]));
  for (const key of ['tools', 'prompts'] as const) if (any(key)) merged[key] = { listChanged: true };
  if (any('resources')) {
    const subscribe = descriptions.some((d) => isObject(d.capabilities.resources) && d.capabilities.resources.subscribe === true);
    merged.resources = subscribe ? { subscribe: true, listChanged: true } : { listChanged: true };
  }
  if (any('logging')) merged.logging = {};
  if (any('completions')) merged.completions = {};
  return merged;
}

/** Instructions of several servers, each under its server's name. */
export function mergeInstructions(named: ReadonlyArray<{ name: string; description: ServerDescription }>): string | undefined {
  const parts = named.filter((n) => n.description.instructions).map((n) => `## ${n.name}\n\n${n.description.instructions!.trim()}`);
  return parts.length === 0 ? undefined : parts.join('\n\n');
}

// --- pagination -------------------------------------------------------------------------------

/**
 * The gateway's cursor for an aggregated list: for each server still to be paged, the cursor to
 * send it (`null` for its first page). Opaque to clients (base64url JSON); checked on the way in.
 */
export type PageState = Record<string, string | null>;

export function encodeCursor(state: PageState): string {
  return Buffer.from(JSON.stringify({ v: 1, s: state }), 'utf8').toString('base64url');
}

/** The state in a cursor, or a reason it cannot be used. */
export function decodeCursor(cursor: string, servers: ReadonlySet<string>): PageState | string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    return 'the cursor is not one this gateway issued';
  }
  if (!isObject(parsed) || parsed.v !== 1 || !isObject(parsed.s)) return 'the cursor is not one this gateway issued';
  const state: PageState = {};
  for (const [server, value] of Object.entries(parsed.s)) {
    if (!servers.has(server)) return `the cursor names an unknown server "${server}"`;
    if (value !== null && typeof value !== 'string') return 'the cursor is malformed';
    state[server] = value;
  }
  return state;
}

/**
 * Renames a list result's items into the client's namespace (and, for resources and
 * templates, their URIs). Returns the items; the caller builds the merged result.
 */
export function outwardItems(list: ListSpec, server: string, result: Obj, namespace: Namespace): unknown[] {
  const items = result[list.field];
  if (!Array.isArray(items)) return [];
  if (!namespace.enabled) return items;
  return items.map((item) => {
    if (!isObject(item) || typeof item[list.key] !== 'string') return item;
    return { ...item, [list.key]: namespace.outward(server, item[list.key] as string) };
  });
}
