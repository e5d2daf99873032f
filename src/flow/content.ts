/**
 * The texts a message carries, and the same message with some of them changed. Every string
 * under a request's or notification's `params` and a result's `result` is a text, except
 * protocol fields that carry no content (`_meta`, `type`, `mimeType`, cursors, tokens). Blobs
 * are texts too: the scanner decodes base64 that decodes to text.
 */
import type { JsonRpcMessage } from '../protocol/jsonrpc.ts';

export type Path = readonly (string | number)[];

export interface Leaf {
  readonly path: Path;
  readonly text: string;
  /** Texts of consecutive items of one content array share a group: a secret split across them is found. */
  readonly group: number | undefined;
}

/** Keys whose values are protocol, not content. */
const SKIP = new Set(['_meta', 'type', 'mimeType', 'jsonrpc', 'method', 'cursor', 'nextCursor', 'progressToken', 'requestState', 'protocolVersion']);
/** Arrays whose items are pieces of one answer. */
const CONTENT_ARRAYS = new Set(['content', 'contents', 'messages']);

/** The part of the message that holds content: `params` or `result` (an error's `error.data` too). */
export function bodyOf(message: JsonRpcMessage): { key: 'params' | 'result' | 'error'; value: unknown } | undefined {
  const m = message as { params?: unknown; result?: unknown; error?: unknown };
  if (m.params !== undefined) return { key: 'params', value: m.params };
  if (m.result !== undefined) return { key: 'result', value: m.result };
  if (m.error !== undefined) return { key: 'error', value: m.error };
  return undefined;
}

export function leavesOf(message: JsonRpcMessage): Leaf[] {
  const body = bodyOf(message);
  const leaves: Leaf[] = [];
  if (!body) return leaves;
  let groups = 0;
  const walk = (value: unknown, path: (string | number)[], group: number | undefined, depth: number): void => {
    if (depth > 256) return;
    if (typeof value === 'string') {
      if (value.length > 0) leaves.push({ path: [...path], text: value, group });
      return;
    }
    if (value === null || typeof value !== 'object') return;
    if (Array.isArray(value)) {
      const key = path.at(-1);
      const g = typeof key === 'string' && CONTENT_ARRAYS.has(key) ? groups++ : undefined;
      for (let i = 0; i < value.length; i++) {
        path.push(i);
        walk(value[i], path, g ?? group, depth + 1);
        path.pop();
      }
      return;
    }
    for (const [key, child] of Object.entries(value)) {
      if (SKIP.has(key)) continue;
      path.push(key);
      walk(child, path, group, depth + 1);
      path.pop();
    }
  };
  walk(body.value, [body.key], undefined, 0);
  return leaves;
}

/** The message with the texts at `paths` replaced; only the objects along those paths are copied. */
export function withTexts(message: JsonRpcMessage, edits: ReadonlyMap<Leaf, string>): JsonRpcMessage {
  const root: Record<string, unknown> = { ...(message as unknown as Record<string, unknown>) };
  const copied = new Set<unknown>([root]);
  for (const [leaf, text] of edits) {
    let parent: Record<string | number, unknown> = root;
    for (let i = 0; i < leaf.path.length - 1; i++) {
      const key = leaf.path[i]!;
      let child = parent[key] as Record<string | number, unknown>;
      if (!copied.has(child)) {
        child = Array.isArray(child) ? ([...child] as unknown as Record<number, unknown>) : { ...child };
        copied.add(child);
        parent[key] = child;
      }
      parent = child;
    }
    parent[leaf.path.at(-1)!] = text;
  }
  return root as unknown as JsonRpcMessage;
}
