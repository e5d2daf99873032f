/**
 * DNS-rebinding protection for the HTTP listener. A browser page on an attacker's domain that
 * resolves to 127.0.0.1 can reach a local gateway, but it cannot forge the Host header (it
 * carries the attacker's name) nor the Origin header. Requests whose Host is not a name the
 * listener answers to, or whose Origin is not allowed, are refused before anything else.
 */
import type { IncomingMessage } from 'node:http';

export interface OriginPolicy {
  /** Returns why the request is refused, or undefined. */
  check(req: IncomingMessage): string | undefined;
  /** Whether a browser Origin may read responses (CORS). */
  allowsOrigin(origin: string): boolean;
}

const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '[::1]'];

function hostPart(host: string): { name: string; port: string | undefined } {
  const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(host.trim().toLowerCase());
  return m ? { name: m[1]!, port: m[2] } : { name: host.toLowerCase(), port: undefined };
}

export function createOriginPolicy(options: { host: string; port: number; allowedHosts: readonly string[]; allowedOrigins: readonly string[] }): OriginPolicy {
  const bind = options.host.includes(':') && !options.host.startsWith('[') ? `[${options.host}]` : options.host.toLowerCase();
  const loopbackBind = LOOPBACK_NAMES.includes(bind) || bind === '::1';
  // Names the listener answers to: its own address (unless it is a wildcard), the loopback
  // names when bound to loopback, and whatever the config adds.
  const names = new Set<string>();
  if (bind !== '0.0.0.0' && bind !== '[::]') names.add(bind);
  if (loopbackBind) for (const n of LOOPBACK_NAMES) names.add(n);
  const exact = new Set<string>();
  for (const h of options.allowedHosts) {
    const p = hostPart(h);
    if (p.port === undefined) names.add(p.name);
    else exact.add(`${p.name}:${p.port}`);
  }
  const origins = new Set<string>(options.allowedOrigins.map((o) => o.replace(/\/$/, '').toLowerCase()));
  for (const name of names) origins.add(`http://${name}:${options.port}`);

  return {
    check(req) {
      const host = req.headers.host;
      if (host === undefined) return 'the Host header is missing';
      const p = hostPart(host);
      if (!names.has(p.name) && !exact.has(`${p.name}:${p.port ?? ''}`)) return `Host "${host}" is not a name this gateway answers to`;
      const origin = req.headers.origin;
      if (origin !== undefined && origin !== 'null' && !origins.has(origin.toLowerCase())) return `Origin "${origin}" is not allowed`;
      if (origin === 'null') return 'Origin "null" is not allowed';
      return undefined;
    },
    allowsOrigin: (origin) => origins.has(origin.toLowerCase()),
  };
}
