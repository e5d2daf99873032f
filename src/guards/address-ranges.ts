/**
 * Which IP addresses a server must not be sent to: cloud metadata endpoints, and addresses that
 * are not public unicast (loopback, RFC 1918, link-local, CGNAT, unique-local, multicast,
 * reserved, documentation, ...). Used by the URL guard on literal hosts and on every address a
 * name resolves to.
 *
 * Parsing and CIDR matching are ipaddr.js's (the library Express's proxy-addr uses); the table
 * below is parsed once, at module load. IPv6 forms that carry an IPv4 address (mapped, SIIT,
 * compatible, NAT64, 6to4) are unwrapped and the IPv4 address judged, because that is where a
 * dual-stack socket, a translator or a relay will deliver the packets.
 */
import ipaddr from 'ipaddr.js';
import type { IPv4, IPv6 } from 'ipaddr.js';

type Address = IPv4 | IPv6;

/** What an address is, for the guard: public, a metadata endpoint, or in a blocked range. */
export interface AddressClass {
  /** The address as written canonically (dotted quad, RFC 5952). */
  readonly address: string;
  /** A cloud metadata endpoint (by itself or by the IPv4 address it embeds). */
  readonly metadata: boolean;
  /** The blocked range it is in (`loopback`, `private`, ...); undefined for public unicast. */
  readonly range: string | undefined;
  /** When the verdict comes from an embedded IPv4 address: the embedding and that address. */
  readonly embedded?: { readonly form: string; readonly ipv4: string };
}

type RangeList = Record<string, Array<[Address, number]>>;

function ranges(table: Record<string, readonly string[]>): RangeList {
  return Object.fromEntries(Object.entries(table).map(([name, cidrs]) => [name, cidrs.map((cidr) => ipaddr.parseCIDR(cidr))]));
}

// Cloud metadata and credential endpoints, refused even when private addresses are allowed.
// AWS/GCP/Azure/DigitalOcean/Oracle 169.254.169.254 (AWS IPv6: fd00:ec2::254), Alibaba
// 100.100.100.200, the AWS ECS task credentials endpoint 169.254.170.2 and the EKS Pod
// Identity agent 169.254.170.23 / fd00:ec2::23 (both hand out IAM credentials).
const METADATA = ranges({
  metadata: ['169.254.169.254/32', '100.100.100.200/32', '169.254.170.2/32', '169.254.170.23/32', 'fd00:ec2::254/128', 'fd00:ec2::23/128'],
});

// IANA special-purpose registries (RFC 6890 and successors): everything a fetch tool has no
// business reaching. The order only picks the name reported (255.255.255.255 is `broadcast`,
// not `reserved`).
const BLOCKED_V4 = ranges({
  'this-network': ['0.0.0.0/8'],
  loopback: ['127.0.0.0/8'],
  private: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'],
  'link-local': ['169.254.0.0/16'],
  'shared-cgnat': ['100.64.0.0/10'],
  'ietf-protocol': ['192.0.0.0/24'],
  documentation: ['192.0.2.0/24', '198.51.100.0/24', '203.0.113.0/24'],
  '6to4-relay': ['192.88.99.0/24'],
  benchmarking: ['198.18.0.0/15'],
  multicast: ['224.0.0.0/4'],
  broadcast: ['255.255.255.255/32'],
  reserved: ['240.0.0.0/4'],
});

const BLOCKED_V6 = ranges({
  unspecified: ['::/128'],
  loopback: ['::1/128'],
  'link-local': ['fe80::/10'],
  'site-local': ['fec0::/10'],
  'unique-local': ['fc00::/7'],
  multicast: ['ff00::/8'],
  discard: ['100::/64'],
  // 2001::/23 holds Teredo (2001::/32, an obfuscated IPv4 tunnel), benchmarking, ORCHID, AMT:
  // infrastructure, never a fetch target.
  'ietf-protocol': ['2001::/23'],
  documentation: ['2001:db8::/32', '3fff::/20'],
  // RFC 8215 local-use NAT64: the operator's own translator, to wherever it is configured.
  'nat64-local': ['64:ff9b:1::/48'],
  'segment-routing': ['5f00::/16'],
});

// IPv6 prefixes that carry an IPv4 address, and the byte offset of that address. Checked after
// BLOCKED_V6, so :: and ::1 keep their own names.
const EMBEDDINGS: ReadonlyArray<{ form: string; cidr: [Address, number]; at: number }> = [
  { form: 'ipv4-mapped', cidr: ipaddr.parseCIDR('::ffff:0:0/96'), at: 12 },
  { form: 'ipv4-translated', cidr: ipaddr.parseCIDR('::ffff:0:0:0/96'), at: 12 },
  { form: 'ipv4-compatible', cidr: ipaddr.parseCIDR('::/96'), at: 12 },
  { form: 'nat64', cidr: ipaddr.parseCIDR('64:ff9b::/96'), at: 12 },
  { form: '6to4', cidr: ipaddr.parseCIDR('2002::/16'), at: 2 },
];

const NONE = '';

function classifyV4(v4: IPv4): { metadata: boolean; range: string | undefined } {
  const metadata = ipaddr.subnetMatch(v4, METADATA, NONE) !== NONE;
  const range = ipaddr.subnetMatch(v4, BLOCKED_V4, NONE);
  return { metadata, range: range === NONE ? undefined : range };
}

/** Classifies a parsed address. */
export function classifyAddress(address: Address): AddressClass {
  if (address.kind() === 'ipv4') return { address: address.toString(), ...classifyV4(address as IPv4) };
  const v6 = address as IPv6;
  const text = v6.toRFC5952String();
  const metadata = ipaddr.subnetMatch(v6, METADATA, NONE) !== NONE;
  const range = ipaddr.subnetMatch(v6, BLOCKED_V6, NONE);
  if (metadata || range !== NONE) return { address: text, metadata, range: range === NONE ? undefined : range };
  for (const { form, cidr, at } of EMBEDDINGS) {
    if (!v6.match(cidr)) continue;
    const v4 = ipaddr.fromByteArray(v6.toByteArray().slice(at, at + 4)) as IPv4;
    return { address: text, ...classifyV4(v4), embedded: { form, ipv4: v4.toString() } };
  }
  return { address: text, metadata: false, range: undefined };
}

/**
 * Parses an address as a resolver reports it (dotted quad, any IPv6 form, optionally with a
 * zone id). Undefined when it is not an address.
 */
export function parseAddress(text: string): Address | undefined {
  return ipaddr.isValid(text) ? ipaddr.parse(text) : undefined;
}

/**
 * A URL host (WHATWG-serialised: a dotted quad, `[ipv6]`, or a name) as an address, or
 * undefined when it is a name. WHATWG has already turned every IPv4 spelling (octal, hex, short
 * forms, full-width digits) into a dotted quad, so nothing lenient is needed here.
 */
export function hostAddress(host: string): Address | undefined {
  if (host.startsWith('[') && host.endsWith(']')) {
    const inner = host.slice(1, -1);
    return ipaddr.IPv6.isValid(inner) ? ipaddr.IPv6.parse(inner) : undefined;
  }
  // isIPv4 first: it only runs regexes, while isValid* build an address and catch the throw,
  // which for a name costs ~8 µs of stack trace.
  return ipaddr.IPv4.isIPv4(host) && ipaddr.IPv4.isValidFourPartDecimal(host) ? ipaddr.IPv4.parse(host) : undefined;
}

/** Whether two addresses are the same (an IPv4 address never equals an IPv6 one). */
export function sameAddress(a: Address, b: Address): boolean {
  return a.kind() === b.kind() && a.toNormalizedString() === b.toNormalizedString();
}
