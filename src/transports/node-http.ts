/**
 * `node:http` and `node:https`, loaded without touching their lazy exports. An ESM `import`
 * of node:http reads every export, and reading `WebSocket` or `MessageEvent` loads Node's
 * bundled fetch/WebSocket client: about 10 MB of resident memory the gateway never uses
 * (measured with Node 24; idle memory is a published target).
 */
import type * as Http from 'node:http';
import type * as Https from 'node:https';

export const http = process.getBuiltinModule('node:http') as typeof Http;
export const https = process.getBuiltinModule('node:https') as typeof Https;
