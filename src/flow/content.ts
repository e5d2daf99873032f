/**
 * The texts a message carries, and the same message with some of them changed. Every string
 * under a request's or notification's `params` and a response's `result` (or `error`) is a
 * text, except protocol members that carry no content: `_meta` outside the peer's own data,
 * and cursors, progress tokens, request state and the protocol version directly under params
 * or result. Blobs are texts too: the scanner decodes base64 that decodes to text.
 */
import type { JsonRpcMessage } from '../protocol/jsonrpc.ts';

export type Path = readonly (string | number)[];

export interface Leaf {
  readonly path: Path;
  readonly text: string;
  /** Texts of consecutive items of one content array share a group: a secret split across them is found. */
  readonly group: number | undefined;
}

/** Members of `params` or `result` themselves whose values are protocol, not content. */
const PROTOCOL = new Set(['_meta', 'cursor', 'nextCursor', 'progressToken', 'requestState', 'protocolVersion']);
/** Where everything below is the peer's own data, whatever its keys are called. */
const DATA = new Set(['arguments', 'structuredContent']);
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
  const walk = (value: unknown, path: (string | number)[], group: number | undefined, depth: number, data = false): void => {
    if (depth > 256) return;
    if (typeof value === 'string') {
      // Only the texts of the items take part in seams, not their type, uri or mimeType.
      if (value.length > 0) leaves.push({ path: [...path], text: value, group: path.at(-1) === 'text' ? group : undefined });
      return;
    }
    if (value === null || typeof value !== 'object') return;
    if (Array.isArray(value)) {
      const key = path.at(-1);
      const g = typeof key === 'string' && CONTENT_ARRAYS.has(key) ? groups++ : undefined;
      for (let i = 0; i < value.length; i++) {
        path.push(i);
        walk(value[i], path, g ?? group, depth + 1, data);
        path.pop();
      }
      return;
    }
    for (const [key, child] of Object.entries(value)) {
      // `_meta` is protocol metadata wherever the protocol puts it; inside arguments and
      // structuredContent every key is data. The other protocol members sit directly under
      // params or result.
      if (!data && (key === '_meta' || (depth === 0 && PROTOCOL.has(key)))) continue;
      path.push(key);
      walk(child, path, group, depth + 1, data || DATA.has(key));
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
