/**
 * The JSON-RPC 2.0 message model as MCP uses it (no batches on the current revisions).
 *
 * Messages are plain parsed JSON; the gateway never builds class instances for them so
 * that a message that passes every stage can be forwarded as the bytes the peer sent.
 */

export type JsonRpcId = string | number;

export interface JsonRpcRequest {
  jsonrpc: '2.0';
  id: JsonRpcId;
  method: string;
  params?: Record<string, unknown>;
}

export interface JsonRpcNotification {
  jsonrpc: '2.0';
  method: string;
  params?: Record<string, unknown>;
}

export interface JsonRpcResultResponse {
  jsonrpc: '2.0';
  id: JsonRpcId;
  result: Record<string, unknown>;
}

export interface JsonRpcErrorObject {
  code: number;
  message: string;
  data?: unknown;
}

export interface JsonRpcErrorResponse {
  jsonrpc: '2.0';
  /** `null` only when the request's id could not be read (parse error, invalid request). */
  id: JsonRpcId | null;
  error: JsonRpcErrorObject;
}

export type JsonRpcResponse = JsonRpcResultResponse | JsonRpcErrorResponse;
export type JsonRpcMessage = JsonRpcRequest | JsonRpcNotification | JsonRpcResponse;

export type MessageKind = 'request' | 'notification' | 'result' | 'error';

/** JSON-RPC 2.0 and MCP error codes the gateway emits. */
export const ErrorCode = {
  ParseError: -32700,
  InvalidRequest: -32600,
  MethodNotFound: -32601,
  InvalidParams: -32602,
  InternalError: -32603,
  /** SDK `ConnectionClosed`: the upstream went away while the request was pending. */
  UpstreamClosed: -32000,
  /** SDK `RequestTimeout`: the upstream did not answer in time. */
  RequestTimeout: -32001,
  /** MCP: resource not found. */
  ResourceNotFound: -32002,
  /** GUARDRAIL: refused by a pipeline stage; `data.guardrail` carries the decision. */
  PolicyDenied: -32010,
  /** GUARDRAIL: a message exceeded the configured size limit. */
  MessageTooLarge: -32011,
  /** GUARDRAIL: the upstream is not available (starting, restarting, or failed). */
  UpstreamUnavailable: -32012,
} as const;

export function kindOf(message: JsonRpcMessage): MessageKind {
  if ('method' in message) return 'id' in message ? 'request' : 'notification';
  return 'error' in message ? 'error' : 'result';
}

export function isRequest(message: JsonRpcMessage): message is JsonRpcRequest {
  return 'method' in message && 'id' in message;
}

export function isNotification(message: JsonRpcMessage): message is JsonRpcNotification {
  return 'method' in message && !('id' in message);
}

export function isResponse(message: JsonRpcMessage): message is JsonRpcResponse {
  return !('method' in message);
}

/** A map key for an id that keeps 1 and "1" apart. */
export function idKey(id: JsonRpcId): string {
  return typeof id === 'number' ? `n${id}` : `s${id}`;
}

export function isValidId(id: unknown): id is JsonRpcId {
  // JSON-RPC allows null and fractional numbers; MCP does not (ids are string | integer).
  return (typeof id === 'string') || (typeof id === 'number' && Number.isSafeInteger(id));
}

export type ValidationResult =
  | { ok: true; message: JsonRpcMessage; kind: MessageKind }
  | { ok: false; id: JsonRpcId | null; reason: string };

const has = (o: object, key: string): boolean => Object.prototype.hasOwnProperty.call(o, key);

/**
 * Checks that a parsed value is one well-formed JSON-RPC 2.0 message as MCP uses it.
 * Returns the reason on failure and, when it can be read, the id to answer with.
 */
export function validateMessage(value: unknown): ValidationResult {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return { ok: false, id: null, reason: Array.isArray(value) ? 'JSON-RPC batches are not supported' : 'a message must be a JSON object' };
  }
  const o = value as Record<string, unknown>;
  const id = has(o, 'id') && isValidId(o.id) ? o.id : null;
  if (o.jsonrpc !== '2.0') return { ok: false, id, reason: 'the "jsonrpc" member must be exactly "2.0"' };
  if (has(o, 'method')) {
    if (typeof o.method !== 'string' || o.method.length === 0) return { ok: false, id, reason: '"method" must be a non-empty string' };
    if (has(o, 'params') && (o.params === null || typeof o.params !== 'object' || Array.isArray(o.params))) {
      return { ok: false, id, reason: '"params" must be an object' };
    }
    if (has(o, 'result') || has(o, 'error')) return { ok: false, id, reason: 'a request cannot carry "result" or "error"' };
    if (!has(o, 'id')) return { ok: true, message: o as unknown as JsonRpcNotification, kind: 'notification' };
    if (!isValidId(o.id)) return { ok: false, id: null, reason: '"id" must be a string or an integer' };
    return { ok: true, message: o as unknown as JsonRpcRequest, kind: 'request' };
  }
  const hasResult = has(o, 'result');
  const hasError = has(o, 'error');
  if (hasResult === hasError) return { ok: false, id, reason: 'a response must carry exactly one of "result" and "error"' };
  if (hasResult) {
    if (!isValidId(o.id)) return { ok: false, id: null, reason: '"id" must be a string or an integer' };
    if (o.result === null || typeof o.result !== 'object' || Array.isArray(o.result)) return { ok: false, id, reason: '"result" must be an object' };
    return { ok: true, message: o as unknown as JsonRpcResultResponse, kind: 'result' };
  }
  const err = o.error as Record<string, unknown> | null;
  if (err === null || typeof err !== 'object' || typeof err.code !== 'number' || !Number.isInteger(err.code) || typeof err.message !== 'string') {
    return { ok: false, id, reason: '"error" must be an object with an integer "code" and a string "message"' };
  }
  if (o.id !== null && !isValidId(o.id)) return { ok: false, id: null, reason: '"id" must be a string, an integer or null' };
  return { ok: true, message: o as unknown as JsonRpcErrorResponse, kind: 'error' };
}

export function errorResponse(id: JsonRpcId | null, code: number, message: string, data?: unknown): JsonRpcErrorResponse {
  const error: JsonRpcErrorObject = data === undefined ? { code, message } : { code, message, data };
  return { jsonrpc: '2.0', id, error };
}

/**
 * Depth of the deepest container in a parsed JSON value, counting the top level as 1,
 * stopping as soon as `limit` is exceeded (returns limit + 1 then). Iterative, so a hostile
 * value cannot exhaust the stack; cost is proportional to the containers visited.
 */
export function exceedsDepth(value: unknown, limit: number): boolean {
  if (value === null || typeof value !== 'object') return false;
  const stack: Array<{ v: object; d: number }> = [{ v: value, d: 1 }];
  while (stack.length > 0) {
    const { v, d } = stack.pop()!;
    if (d > limit) return true;
    if (Array.isArray(v)) {
      for (const item of v) if (item !== null && typeof item === 'object') stack.push({ v: item as object, d: d + 1 });
    } else {
      for (const key in v) {
        const item = (v as Record<string, unknown>)[key];
        if (item !== null && typeof item === 'object') stack.push({ v: item, d: d + 1 });
      }
    }
  }
  return false;
}
