/**
 * The URL guard (seed 002, SSRF): may a server fetch this argument? The URL is read exactly as
 * WHATWG `new URL()` reads it (what Node's fetch uses): its scheme, userinfo, host and port are
 * the truth, whatever another parser would say. Then, in this order of precedence:
 * `url.invalid`, `url.scheme`, `url.credentials`, `url.host`, `url.port`, `url.metadata`,
 * `url.private-address`, `url.unresolvable`.
 *
 * A literal IP host is judged as it stands, synchronously (WHATWG has already turned octal, hex,
 * short and full-width IPv4 spellings into a dotted quad). A name is resolved and EVERY address
 * judged: one internal answer among public ones is a rebinding attempt. `localhost` and
 * `*.localhost` are loopback without asking (RFC 6761), and the GCP metadata names are refused
 * by name. Address classes are in address-ranges.ts.
 *
 * What stays the server's job: redirects (the guard sees the first URL only) and a second DNS
 * answer at connect time that differs from ours (docs/guards/url.md).
 */
import { lookup } from 'node:dns/promises';
import { domainToASCII } from 'node:url';
import ipaddr from 'ipaddr.js';
import type { IPv4, IPv6 } from 'ipaddr.js';
import { classifyAddress, hostAddress, parseAddress, sameAddress, type AddressClass } from './address-ranges.ts';
import { finding, GuardConfigError, type ArgumentGuard, type GuardFinding, type GuardResult } from './guard.ts';

export interface UrlGuardOptions {
  /** Allowed schemes, without the `:`, compared without case (default `http`, `https`). */
  readonly schemes?: readonly string[];
  /**
   * Allowed hosts; absent = any public host. A name glob: `*` stands for characters inside
   * one label (`*.example.com` matches `api.example.com`, not `a.b.example.com` nor
   * `example.com`), a leading `**.` for one or more labels. Or an IP address, matched exactly.
   */
  readonly hosts?: readonly string[];
  /** Allowed effective ports (`http://h/` is 80); absent = any. */
  readonly ports?: readonly number[];
  /** Refuse loopback, private, link-local and other non-public addresses (default true). */
  readonly blockPrivate?: boolean;
  /** Resolves a name to its addresses (default: the system resolver, `dns.lookup`). */
  readonly resolve?: (host: string) => Promise<readonly string[]>;
  /** How long a lookup may take before the URL counts as unresolvable (default 2000 ms). */
  readonly resolveTimeoutMs?: number;
}

type Address = IPv4 | IPv6;
type HostPattern = { readonly pattern: string } & ({ readonly address: Address } | { readonly name: RegExp });

const OPTION_KEYS = new Set(['schemes', 'hosts', 'ports', 'blockPrivate', 'resolve', 'resolveTimeoutMs']);
const DEFAULT_SCHEMES = ['http', 'https'];
const DEFAULT_TIMEOUT_MS = 2000;
/** WHATWG's special schemes: their hosts are parsed (IPv4 normalised, IDNA), the rest are opaque. */
const DEFAULT_PORTS: ReadonlyMap<string, number> = new Map([['http', 80], ['https', 443], ['ws', 80], ['wss', 443], ['ftp', 21]]);
const SPECIAL = new Set([...DEFAULT_PORTS.keys(), 'file']);
/** GCP's metadata server by name (`metadata` is what the search domain turns into the first). */
const METADATA_NAMES = new Set(['metadata.google.internal', 'metadata.goog', 'metadata']);
const SCHEME = /^[a-z][a-z0-9+.-]*$/;
const LABEL = /^[a-z0-9_*-]+$/;
const NUMERIC_LABEL = /^(\d+|0x[0-9a-f]*)$/;
const TIMED_OUT = Symbol('timed out');

async function systemResolve(host: string): Promise<string[]> {
  return (await lookup(host, { all: true, order: 'verbatim' })).map((a) => a.address);
}

/**
 * Builds a URL guard. Throws `GuardConfigError` on a bad option.
 *
 * @example
 * const guard = urlGuard({ hosts: ['*.example.com'], ports: [443] });
 * await guard.check('https://api.example.com/v1', { tool: 'fetch', argument: 'url' }); // undefined: allowed
 * guard.check('https://0x7f.1/', { tool: 'fetch', argument: 'url' }); // { rule: 'url.host', ... } (127.0.0.1)
 */
export function urlGuard(options: UrlGuardOptions): ArgumentGuard {
  if (typeof options !== 'object' || options === null) throw new GuardConfigError('url guard options must be an object');
  for (const key of Object.keys(options)) if (!OPTION_KEYS.has(key)) throw new GuardConfigError(`unknown url guard option "${key}"`);
  const schemes = new Set(nonEmptyList(options.schemes ?? DEFAULT_SCHEMES, 'schemes').map(compileScheme));
  const hosts = options.hosts === undefined ? undefined : nonEmptyList(options.hosts, 'hosts').map(compileHost);
  const ports = options.ports === undefined ? undefined : new Set(nonEmptyList(options.ports, 'ports').map(checkPort));
  const blockPrivate = options.blockPrivate ?? true;
  if (typeof blockPrivate !== 'boolean') throw new GuardConfigError('block_private must be true or false');
  const resolve = options.resolve ?? systemResolve;
  if (typeof resolve !== 'function') throw new GuardConfigError('resolve must be a function');
  const timeoutMs = options.resolveTimeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (typeof timeoutMs !== 'number' || !Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new GuardConfigError('resolveTimeoutMs must be a positive number of milliseconds');

  return {
    kind: 'url',
    check: function checkUrl(value: unknown): GuardResult | Promise<GuardResult> {
      if (typeof value !== 'string') return finding('url.invalid', `the argument is not a URL string (got ${value === null ? 'null' : typeof value})`);
      const url = URL.parse(value);
      if (url === null) return finding('url.invalid', 'the argument is not a URL a fetch would accept');
      const scheme = url.protocol.slice(0, -1);
      if (!schemes.has(scheme)) return finding('url.scheme', `"${scheme}:" URLs are not allowed here`, { scheme, allowed: [...schemes] });
      if (url.username !== '' || url.password !== '') {
        return finding('url.credentials', `the URL carries a user name or password before "@"; the host it reaches is "${url.hostname}"`, { host: url.hostname });
      }

      let host = url.hostname;
      // A non-special scheme (redis:, mongodb:, ...) keeps its host opaque: "0x7f.1" and
      // "%31%32%37.0.0.1" stay as written. Its client will likely read them as an address, so
      // judge the host the way http: would read it.
      if (host !== '' && !SPECIAL.has(scheme)) {
        const reread = URL.parse(`http://${host}/`);
        if (reread === null) return finding('url.invalid', `the host "${host}" is not a valid host`);
        host = reread.hostname;
      }
      const address = host === '' ? undefined : hostAddress(host);
      // One trailing dot is the same DNS name (`example.com.`): compare names without it.
      const name = host.endsWith('.') ? host.slice(0, -1) : host;

      if (hosts !== undefined && !hosts.some((p) => ('address' in p ? address !== undefined && sameAddress(address, p.address) : address === undefined && p.name.test(name)))) {
        return finding('url.host', host === '' ? 'the URL names no host, and only listed hosts are allowed' : `the host "${host}" is not one of the allowed hosts`, { host });
      }
      const port = url.port === '' ? DEFAULT_PORTS.get(scheme) : Number(url.port);
      // Port 0 is no service: WHATWG accepts it, connect() fails or does something odd.
      if (port === 0) return finding('url.port', 'port 0 is not a port a server can be reached on', { port });
      if (ports !== undefined && (port === undefined || !ports.has(port))) {
        return finding('url.port', port === undefined ? `"${scheme}:" URLs have no default port, and only listed ports are allowed` : `port ${port} is not allowed here`, { port: port ?? null, allowed: [...ports] });
      }
      // No host (file:///x, mailto:, data: when the operator allows them): nothing to connect to.
      if (host === '') return undefined;

      if (address !== undefined) return judge(host, true, [classifyAddress(address)], blockPrivate);
      if (METADATA_NAMES.has(name)) return finding('url.metadata', `"${host}" is a cloud metadata endpoint`, { host });
      if (name === 'localhost' || name.endsWith('.localhost')) {
        return blockPrivate ? finding('url.private-address', `"${host}" is the local machine (loopback)`, { host, range: 'loopback' }) : undefined;
      }
      return lookupAndJudge(host, resolve, timeoutMs, blockPrivate);
    },
  };
}

/** The finding for a host given the class of each of its addresses (metadata first, then private). */
function judge(host: string, literal: boolean, classes: readonly AddressClass[], blockPrivate: boolean): GuardResult {
  const reach = (c: AddressClass) => {
    const via = c.embedded === undefined ? '' : ` (${c.embedded.form} form of ${c.embedded.ipv4})`;
    return literal ? `${host}${via} is` : `"${host}" resolves to ${c.address}${via},`;
  };
  const metadata = classes.find((c) => c.metadata);
  if (metadata !== undefined) return finding('url.metadata', `${reach(metadata)} a cloud metadata endpoint`, evidence(host, metadata));
  if (!blockPrivate) return undefined;
  const internal = classes.find((c) => c.range !== undefined);
  if (internal !== undefined) return finding('url.private-address', `${reach(internal)} a ${internal.range} address, not a public one`, evidence(host, internal));
  return undefined;
}

function evidence(host: string, c: AddressClass): Record<string, unknown> {
  return { host, address: c.address, range: c.metadata ? 'metadata' : c.range, ...(c.embedded === undefined ? {} : { embedded: c.embedded }) };
}

async function lookupAndJudge(host: string, resolve: (host: string) => Promise<readonly string[]>, timeoutMs: number, blockPrivate: boolean): Promise<GuardFinding | undefined> {
  let answers: unknown;
  let timer: NodeJS.Timeout | undefined;
  try {
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(TIMED_OUT), timeoutMs);
      timer.unref();
    });
    answers = await Promise.race([resolve(host), timeout]);
  } catch (error) {
    const timedOut = error === TIMED_OUT;
    return finding('url.unresolvable', timedOut ? `"${host}" did not resolve within ${timeoutMs} ms` : `"${host}" does not resolve`, { host });
  } finally {
    clearTimeout(timer);
  }
  if (!Array.isArray(answers) || answers.length === 0) return finding('url.unresolvable', `"${host}" resolves to no address`, { host });
  const parsed = answers.map((a) => (typeof a === 'string' ? parseAddress(a) : undefined));
  const classes = parsed.filter((a) => a !== undefined).map(classifyAddress);
  const found = judge(host, false, classes, blockPrivate);
  if (found !== undefined) return found;
  // An answer that is not an address cannot be judged: fail closed.
  if (classes.length < parsed.length) return finding('url.unresolvable', `the resolver answered "${host}" with something that is not an address`, { host });
  return undefined;
}

function nonEmptyList<T>(list: readonly T[], option: string): readonly T[] {
  if (!Array.isArray(list)) throw new GuardConfigError(`${option} must be a list`);
  if (list.length === 0) throw new GuardConfigError(`${option} is empty, so nothing could pass: leave it out instead`);
  return list;
}

function compileScheme(raw: unknown): string {
  const scheme = typeof raw === 'string' ? raw.toLowerCase().replace(/:$/, '') : '';
  if (!SCHEME.test(scheme)) throw new GuardConfigError(`"${String(raw)}" is not a URL scheme such as "https"`);
  return scheme;
}

function checkPort(raw: unknown): number {
  if (typeof raw !== 'number' || !Number.isInteger(raw) || raw < 1 || raw > 65535) throw new GuardConfigError(`"${String(raw)}" is not a port (1-65535)`);
  return raw;
}

/**
 * Compiles one `hosts` entry. Not picomatch (src/access/globs.ts): its `*` crosses dots and
 * matches empty labels, `[` starts a character class where an IPv6 literal has brackets, and
 * `!`/extglobs mean nothing for a host. Here `*` stays inside one label and is the only wildcard.
 */
function compileHost(raw: unknown): HostPattern {
  const bad = (why: string) => new GuardConfigError(`hosts entry "${String(raw)}" ${why}`);
  if (typeof raw !== 'string' || raw === '') throw bad('is not a host name or address');
  if (raw.includes(':') || raw.startsWith('[')) {
    const inner = raw.startsWith('[') && raw.endsWith(']') ? raw.slice(1, -1) : raw;
    if (!ipaddr.IPv6.isValid(inner) || inner.includes('%')) throw bad('is not an IPv6 address (zone ids are not allowed)');
    return { pattern: raw, address: ipaddr.IPv6.parse(inner) };
  }
  if (ipaddr.IPv4.isValidFourPartDecimal(raw)) return { pattern: raw, address: ipaddr.IPv4.parse(raw) };
  const deep = raw.startsWith('**.');
  let body = deep ? raw.slice(3) : raw;
  if (body.endsWith('.')) body = body.slice(0, -1);
  if (body.includes('**')) throw bad('uses "**" other than as its first label ("**.example.com")');
  if (/[^\x20-\x7e]/.test(body)) {
    if (body.split('.').some((l) => l.includes('*') && /[^\x20-\x7e]/.test(l))) throw bad('mixes "*" with non-ASCII letters in one label');
    body = domainToASCII(body);
    if (body === '') throw bad('is not a valid international domain name');
  }
  const labels = body.toLowerCase().split('.');
  for (const label of labels) if (!LABEL.test(label)) throw bad('is not a host name glob (letters, digits, "-", "_", "*", with dots between labels)');
  if (NUMERIC_LABEL.test(labels.at(-1)!)) throw bad('ends in a number, which URLs read as an IPv4 address: write the address as a dotted quad');
  const source = labels.map((l) => (l === '*' ? '[^.]+' : l.split('*').map(escapeRegExp).join('[^.]*'))).join('\\.');
  return { pattern: raw, name: new RegExp(`^${deep ? '(?:[^.]+\\.)+' : ''}${source}$`) };
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
