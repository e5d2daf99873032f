/**
 * The Streamable HTTP endpoint for remote clients, both eras on one path:
 * - 2025-11-25: `initialize` opens a session (`Mcp-Session-Id`), later POSTs carry it, GET opens
 *   the standalone stream (or resumes one with Last-Event-ID), DELETE ends the session;
 * - 2026-07-28: every POST stands alone (its `_meta` envelope and headers say who and what);
 *   it is served by a short-lived session over a pool of upstream links shared by all such
 *   requests, and GET/DELETE are 405.
 * Host and Origin are checked first (DNS rebinding); `/healthz` and `/readyz` sit beside the
 * MCP path.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { HttpListenerConfig } from '../config/config.ts';
import { formatBytes } from '../config/units.ts';
import { decodeFrame, frameOf, type Frame } from '../protocol/frame.ts';
import { ErrorCode, errorResponse, type JsonRpcRequest } from '../protocol/jsonrpc.ts';
import { isLegacyVersion, META, MODERN_VERSION, ModernErrorCode, readEnvelope } from '../protocol/revisions.ts';
import { createOriginPolicy } from '../transports/http-guards.ts';
import { headerOf, HttpExchangeTransport, HttpSessionTransport, writeError } from '../transports/http-streams.ts';
import { BodyTooLarge, readBody } from '../transports/http-io.ts';
import { http } from '../transports/node-http.ts';
import { VERSION } from '../version.ts';
import type { Gateway, Listener } from './gateway.ts';
import type { LinkSet } from './link-set.ts';
import type { Session } from './session.ts';

export interface HttpListener extends Listener {
  readonly url: URL;
  /** True once every required upstream is reachable (what /readyz reports). */
  readonly ready: boolean;
}

type Obj = Record<string, unknown>;

/** The hello the stateless pool uses towards legacy upstreams (they need a handshake). */
const POOL_CAPABILITIES = { sampling: {}, elicitation: { form: {} } };

export async function startHttpListener(gateway: Gateway, config: HttpListenerConfig): Promise<HttpListener> {
  const log = gateway.logger.child({ listener: 'http' });
  const sessions = new Map<string, { session: Session; transport: HttpSessionTransport }>();
  const guard = () => policy;
  let policy = createOriginPolicy({ host: config.host, port: config.port, allowedHosts: config.allowedHosts, allowedOrigins: config.allowedOrigins });
  const limits = gateway.config.limits;

  // Links shared by every 2026-07-28 request (and the readiness check).
  const pool: LinkSet = gateway.createLinks();
  pool.setListener((link) => ({
    unrelated: (frame) => {
      // Nobody to deliver to outside a request: answer server requests, drop the rest.
      if (frame.kind === 'request') {
        const id = (frame.message as JsonRpcRequest).id;
        link.respond(id, frameOf(errorResponse(id, ErrorCode.MethodNotFound, 'no client to ask outside a request')));
      }
    },
    restarted: () => undefined,
  }));
  // The pool is its own client: it finishes the legacy handshake itself.
  pool.clientInitialized();
  const poolStarted = pool.start({ protocolVersion: MODERN_VERSION, capabilities: POOL_CAPABILITIES, clientInfo: { name: 'guardrail', version: VERSION } }, 'modern');
  poolStarted.then(
    (failures) => {
      for (const [name, error] of failures) log.warn('upstream not reachable yet', { upstream: name, error: error.message });
    },
    () => undefined,
  );

  const required = gateway.config.upstreams.filter((u) => u.required).map((u) => u.name);
  const isReady = () => required.every((name) => pool.get(name)?.state === 'ready');

  const server: Server = http.createServer((req, res) => {
    handle(req, res).catch((error: Error) => {
      log.error('HTTP handler failed', { error: error.stack ?? error.message });
      writeError(res, 500, null, ErrorCode.InternalError, 'internal error');
    });
  });
  server.keepAliveTimeout = 65_000;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://gateway');
    if (url.pathname === '/healthz') return health(res, 200, { status: 'ok' });
    if (url.pathname === '/readyz') {
      const upstreams = Object.fromEntries(pool.all().map((l) => [l.name, l.state]));
      return health(res, isReady() ? 200 : 503, { status: isReady() ? 'ready' : 'starting', upstreams });
    }
    if (url.pathname !== config.path) return writeError(res, 404, null, ErrorCode.InvalidRequest, `not found: the MCP endpoint is ${config.path}`);
    const refused = guard().check(req);
    if (refused !== undefined) {
      log.warn('refused an HTTP request (DNS-rebinding protection)', { reason: refused });
      return writeError(res, 403, null, ErrorCode.UpstreamClosed, `Forbidden: ${refused}`);
    }
    const origin = req.headers.origin;
    if (origin !== undefined && guard().allowsOrigin(origin)) {
      res.setHeader('access-control-allow-origin', origin);
      res.setHeader('access-control-expose-headers', 'mcp-session-id');
      res.setHeader('vary', 'origin');
    }
    switch (req.method) {
      case 'POST':
        return post(req, res);
      case 'GET':
        return get(req, res);
      case 'DELETE':
        return remove(req, res);
      case 'OPTIONS':
        res.writeHead(204, {
          'access-control-allow-methods': 'GET, POST, DELETE',
          'access-control-allow-headers': 'content-type, accept, authorization, mcp-session-id, mcp-protocol-version, mcp-method, mcp-name, last-event-id',
          'access-control-max-age': '600',
        });
        return void res.end();
      default:
        res.setHeader('allow', 'GET, POST, DELETE');
        return writeError(res, 405, null, ErrorCode.InvalidRequest, 'Method not allowed');
    }
  }

  async function post(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const type = headerOf(req, 'content-type') ?? '';
    if (!type.includes('application/json')) return writeError(res, 415, null, ErrorCode.InvalidRequest, 'Unsupported Media Type: Content-Type must be application/json');
    const accept = headerOf(req, 'accept') ?? '';
    if (!accept.includes('application/json') || !accept.includes('text/event-stream')) {
      return writeError(res, 406, null, ErrorCode.InvalidRequest, 'Not Acceptable: Client must accept both application/json and text/event-stream');
    }
    let body: Buffer;
    try {
      body = await readBody(req, limits.maxMessageBytes, { keepOpen: true });
    } catch (error) {
      if (error instanceof BodyTooLarge) {
        // Answer first, then drop the connection so the rest of the upload is not read.
        res.once('finish', () => setTimeout(() => req.socket.destroy(), 100).unref());
        return writeError(res, 413, null, ErrorCode.MessageTooLarge, `the message exceeds the ${formatBytes(limits.maxMessageBytes)} limit`, { connection: 'close' });
      }
      throw error;
    }
    const decoded = decodeFrame(body);
    if (!decoded.ok) return writeError(res, 400, decoded.id, decoded.code, decoded.reason);
    const frame = decoded.frame;
    const headerVersion = headerOf(req, 'mcp-protocol-version');
    const params = (frame.message as { params?: Obj }).params;
    const modern = headerVersion === MODERN_VERSION || (frame.kind === 'request' && readEnvelope(params) !== undefined);
    if (modern) return statelessRequest(req, res, frame, headerVersion);
    return sessionMessage(req, res, frame, headerVersion);
  }

  /** 2026-07-28: validate the headers against the body, then serve with a short-lived session. */
  async function statelessRequest(req: IncomingMessage, res: ServerResponse, frame: Frame, headerVersion: string | undefined): Promise<void> {
    if (frame.kind !== 'request') {
      // 2026-07-28 clients send requests only; a notification needs no answer.
      res.writeHead(202).end();
      return;
    }
    const request = frame.message as JsonRpcRequest;
    const envelope = readEnvelope(request.params);
    if (envelope === undefined || typeof envelope === 'string') {
      const why = envelope ?? `params._meta["${META.protocolVersion}"] and ["${META.clientCapabilities}"] are required`;
      return writeError(res, 400, request.id, ErrorCode.InvalidParams, `invalid request _meta: ${why}`);
    }
    const mismatch = headerMismatch(req, request, headerVersion, envelope.protocolVersion);
    if (mismatch !== undefined) return writeError(res, 400, request.id, ModernErrorCode.HeaderMismatch, mismatch);
    const transport = new HttpExchangeTransport(res, request.id);
    const session = gateway.createSession(transport, 'http', pool, false);
    await session.start();
    await poolStarted.catch(() => undefined);
    session.receive(frame, { headers: paramHeaders(req) });
  }

  /** 2025-11-25 and earlier: sessions. */
  async function sessionMessage(req: IncomingMessage, res: ServerResponse, frame: Frame, headerVersion: string | undefined): Promise<void> {
    const isInitialize = frame.kind === 'request' && (frame.message as JsonRpcRequest).method === 'initialize';
    if (isInitialize) {
      if (sessions.size >= config.maxSessions) return writeError(res, 503, (frame.message as JsonRpcRequest).id, ErrorCode.UpstreamUnavailable, 'too many sessions; try again later');
      const transport = new HttpSessionTransport({ sessionId: randomUUID() });
      const session = gateway.createSession(transport, 'http');
      sessions.set(transport.sessionId, { session, transport });
      transport.onclose = () => {
        sessions.delete(transport.sessionId);
      };
      await session.start();
      const version = ((frame.message as JsonRpcRequest).params as Obj | undefined)?.protocolVersion;
      if (typeof version === 'string') transport.setClientVersion(version);
      transport.attachRequest(res, (frame.message as JsonRpcRequest).id);
      session.receive(frame);
      return;
    }
    const sessionId = headerOf(req, 'mcp-session-id');
    if (sessionId === undefined) return writeError(res, 400, null, ErrorCode.UpstreamClosed, 'Bad Request: Mcp-Session-Id header is required');
    const entry = sessions.get(sessionId);
    if (!entry) return writeError(res, 404, null, -32001, 'Session not found');
    if (headerVersion !== undefined && !isLegacyVersion(headerVersion)) {
      return writeError(res, 400, null, ErrorCode.UpstreamClosed, `Bad Request: Unsupported protocol version: ${headerVersion}`);
    }
    if (frame.kind === 'request') {
      entry.transport.attachRequest(res, (frame.message as JsonRpcRequest).id);
      entry.session.receive(frame);
      return;
    }
    entry.session.receive(frame);
    res.writeHead(202, entry.transport.headers).end();
  }

  async function get(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (headerOf(req, 'mcp-protocol-version') === MODERN_VERSION) {
      res.setHeader('allow', 'POST');
      return writeError(res, 405, null, ErrorCode.UpstreamClosed, 'Method not allowed: 2026-07-28 has no standalone stream');
    }
    if (!(headerOf(req, 'accept') ?? '').includes('text/event-stream')) return writeError(res, 406, null, ErrorCode.InvalidRequest, 'Not Acceptable: Client must accept text/event-stream');
    const entry = lookup(req, res);
    if (!entry) return;
    const attached = entry.transport.attachGet(req, res);
    if (!attached.ok) return writeError(res, attached.status, null, ErrorCode.UpstreamClosed, attached.message);
  }

  async function remove(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (headerOf(req, 'mcp-protocol-version') === MODERN_VERSION) {
      res.setHeader('allow', 'POST');
      return writeError(res, 405, null, ErrorCode.UpstreamClosed, 'Method not allowed: 2026-07-28 has no sessions');
    }
    const entry = lookup(req, res);
    if (!entry) return;
    sessions.delete(entry.transport.sessionId);
    await entry.session.close();
    res.writeHead(200).end();
  }

  function lookup(req: IncomingMessage, res: ServerResponse) {
    const sessionId = headerOf(req, 'mcp-session-id');
    if (sessionId === undefined) {
      writeError(res, 400, null, ErrorCode.UpstreamClosed, 'Bad Request: Mcp-Session-Id header is required');
      return undefined;
    }
    const entry = sessions.get(sessionId);
    if (!entry) writeError(res, 404, null, -32001, 'Session not found');
    return entry;
  }

  // Idle sessions are closed (their children reaped); a session with an open stream is not idle.
  const sweep = setInterval(() => {
    const cutoff = Date.now() - config.sessionIdleTimeoutMs;
    for (const [id, entry] of sessions) {
      if (entry.session.lastActivity < cutoff && !entry.transport.busy) {
        log.info('closing an idle session', { session: id.slice(0, 8) });
        sessions.delete(id);
        void entry.session.close();
      }
    }
  }, Math.min(60_000, Math.max(1000, config.sessionIdleTimeoutMs / 4)));
  sweep.unref();

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  if (port !== config.port) {
    // Port 0 picked a free port: the allowed Host/Origin values follow the real one.
    policy = createOriginPolicy({ host: config.host, port, allowedHosts: config.allowedHosts, allowedOrigins: config.allowedOrigins });
  }
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  const url = new URL(`http://${host}:${port}${config.path}`);
  log.info('listening', { url: url.href });

  return {
    kind: 'http',
    url,
    get ready() {
      return isReady();
    },
    async close() {
      clearInterval(sweep);
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await Promise.all([...sessions.values()].map((e) => e.session.close()));
      sessions.clear();
      await pool.close();
    },
  };
}

function health(res: ServerResponse, status: number, body: Obj): void {
  const bytes = Buffer.from(JSON.stringify(body));
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': bytes.length, 'cache-control': 'no-store' });
  res.end(bytes);
}

/** Why a 2026-07-28 request's headers disagree with its body, if they do. */
function headerMismatch(req: IncomingMessage, request: JsonRpcRequest, headerVersion: string | undefined, bodyVersion: string): string | undefined {
  if (headerVersion === undefined) return 'the MCP-Protocol-Version header is required';
  if (headerVersion !== bodyVersion) return `MCP-Protocol-Version header ${headerVersion} does not match _meta protocolVersion ${bodyVersion}`;
  const method = headerOf(req, 'mcp-method');
  if (method === undefined) return 'the Mcp-Method header is required';
  if (method.trim() !== request.method) return `Mcp-Method header "${method}" does not match the method "${request.method}"`;
  const params = (request.params ?? {}) as Obj;
  const expected =
    request.method === 'tools/call' || request.method === 'prompts/get'
      ? params.name
      : request.method === 'resources/read'
        ? params.uri
        : request.method === 'tasks/get' || request.method === 'tasks/update' || request.method === 'tasks/cancel'
          ? params.taskId
          : undefined;
  if (typeof expected !== 'string') return undefined;
  const raw = headerOf(req, 'mcp-name');
  if (raw === undefined) return 'the Mcp-Name header is required';
  const name = decodeHeaderValue(raw.trim());
  if (name !== expected) return `Mcp-Name header does not match "${expected}"`;
  return undefined;
}

/** Undoes the `=?base64?…?=` spelling of a header value; invalid base64 yields undefined. */
function decodeHeaderValue(value: string): string | undefined {
  const m = /^=\?base64\?([A-Za-z0-9+/]*={0,2})\?=$/.exec(value);
  if (!m) return value;
  if (m[1]!.length % 4 !== 0) return undefined;
  return Buffer.from(m[1]!, 'base64').toString('utf8');
}

/** The client's `Mcp-Param-*` headers, forwarded to a 2026-07-28 upstream as they are. */
function paramHeaders(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (name.startsWith('mcp-param-') && typeof value === 'string') out[name] = value;
  }
  return out;
}

