/**
 * Every method the gateway knows, and how a request for it is routed across upstreams.
 * A method not listed here is refused with -32601 and never forwarded.
 */

export type ListKind = 'tools' | 'prompts' | 'resources' | 'resourceTemplates';

export interface ListSpec {
  readonly kind: ListKind;
  /** The member of the result holding the array. */
  readonly field: ListKind;
  /** The member of each item that is namespaced. */
  readonly key: 'name' | 'uri' | 'uriTemplate';
  /** The server capability that offers the list. */
  readonly capability: 'tools' | 'prompts' | 'resources';
}

export type Route =
  /** Answered by the gateway itself. */
  | { readonly kind: 'local' }
  /** Sent to every upstream offering the list; results merged (and paginated) by the gateway. */
  | { readonly kind: 'list'; readonly list: ListSpec }
  /** Routed by a namespaced name in `params.name`. */
  | { readonly kind: 'by-name'; readonly capability: 'tools' | 'prompts' }
  /** Routed by a namespaced URI in `params.uri`. */
  | { readonly kind: 'by-uri' }
  /** `completion/complete`: routed by `params.ref`. */
  | { readonly kind: 'by-ref' }
  /** Sent to every upstream with the capability; answered once all have. */
  | { readonly kind: 'broadcast'; readonly capability: string }
  /** Only meaningful with one upstream: routed to it. */
  | { readonly kind: 'single' }
  /** 2026-07-28 `subscriptions/listen`: one listen per upstream, merged into one stream. */
  | { readonly kind: 'listen' };

export const LISTS: Readonly<Record<string, ListSpec>> = {
  'tools/list': { kind: 'tools', field: 'tools', key: 'name', capability: 'tools' },
  'prompts/list': { kind: 'prompts', field: 'prompts', key: 'name', capability: 'prompts' },
  'resources/list': { kind: 'resources', field: 'resources', key: 'uri', capability: 'resources' },
  'resources/templates/list': { kind: 'resourceTemplates', field: 'resourceTemplates', key: 'uriTemplate', capability: 'resources' },
};

/** Requests a client sends to a server, by method. */
export const CLIENT_REQUESTS: Readonly<Record<string, Route>> = {
  initialize: { kind: 'local' },
  ping: { kind: 'local' },
  'server/discover': { kind: 'local' },
  'tools/list': { kind: 'list', list: LISTS['tools/list']! },
  'prompts/list': { kind: 'list', list: LISTS['prompts/list']! },
  'resources/list': { kind: 'list', list: LISTS['resources/list']! },
  'resources/templates/list': { kind: 'list', list: LISTS['resources/templates/list']! },
  'tools/call': { kind: 'by-name', capability: 'tools' },
  'prompts/get': { kind: 'by-name', capability: 'prompts' },
  'resources/read': { kind: 'by-uri' },
  'resources/subscribe': { kind: 'by-uri' },
  'resources/unsubscribe': { kind: 'by-uri' },
  'completion/complete': { kind: 'by-ref' },
  'logging/setLevel': { kind: 'broadcast', capability: 'logging' },
  'subscriptions/listen': { kind: 'listen' },
  'tasks/get': { kind: 'single' },
  'tasks/result': { kind: 'single' },
  'tasks/list': { kind: 'single' },
  'tasks/cancel': { kind: 'single' },
  'tasks/update': { kind: 'single' },
};

export const CLIENT_NOTIFICATIONS: ReadonlySet<string> = new Set([
  'notifications/initialized',
  'notifications/cancelled',
  'notifications/progress',
  'notifications/roots/list_changed',
  'notifications/tasks/status',
]);

export const SERVER_REQUESTS: ReadonlySet<string> = new Set([
  'ping',
  'sampling/createMessage',
  'elicitation/create',
  'roots/list',
  'tasks/get',
  'tasks/result',
  'tasks/list',
  'tasks/cancel',
]);

export const SERVER_NOTIFICATIONS: ReadonlySet<string> = new Set([
  'notifications/cancelled',
  'notifications/progress',
  'notifications/message',
  'notifications/resources/updated',
  'notifications/resources/list_changed',
  'notifications/tools/list_changed',
  'notifications/prompts/list_changed',
  'notifications/elicitation/complete',
  'notifications/tasks/status',
  'notifications/subscriptions/acknowledged',
]);

/** The client capability a server-to-client request needs. */
export const SERVER_REQUEST_CAPABILITY: Readonly<Record<string, string>> = {
  'sampling/createMessage': 'sampling',
  'elicitation/create': 'elicitation',
  'roots/list': 'roots',
};

/** Client requests that 2026-07-28 removed: a modern request for one gets -32601 (HTTP 404). */
export const REMOVED_IN_MODERN: ReadonlySet<string> = new Set([
  'initialize',
  'ping',
  'logging/setLevel',
  'resources/subscribe',
  'resources/unsubscribe',
  'tasks/result',
  'tasks/list',
]);

/** Client requests that only exist from 2026-07-28 on. */
export const MODERN_ONLY: ReadonlySet<string> = new Set(['server/discover', 'subscriptions/listen', 'tasks/update']);
