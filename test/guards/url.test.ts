/**
 * The URL guard against its corpus (test/guards/corpus/url.yaml), plus property tests: a
 * blocked address re-spelled in any encoding WHATWG accepts never flips to allow, and public
 * addresses in the same spellings stay allowed.
 *
 * This machine has no DNS, so every guard here gets the corpus's fake resolver (the `resolve:`
 * map: names compared without case, one trailing dot ignored, anything else fails to resolve)
 * instead of the default `dns.lookup`.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GuardConfigError, type GuardResult } from '../../src/guards/guard.ts';
import { urlGuard, type UrlGuardOptions } from '../../src/guards/url.ts';
import { loadCorpus } from './corpus.ts';

const corpus = loadCorpus('url');
const call = { tool: 'fetch', argument: 'url' };

const table = new Map(Object.entries(corpus.extra.resolve as Record<string, string[]>).map(([name, addresses]) => [name.toLowerCase(), addresses]));

/** The corpus's resolver, counting its lookups. */
function fakeResolver() {
  const resolver = {
    calls: 0,
    resolve: async (host: string): Promise<string[]> => {
      resolver.calls++;
      const addresses = table.get(host.toLowerCase().replace(/\.$/, ''));
      if (addresses === undefined) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
      return addresses;
    },
  };
  return resolver;
}

const guardWith = (options: UrlGuardOptions = {}) => urlGuard({ resolve: fakeResolver().resolve, ...options });
const check = (options: UrlGuardOptions, input: unknown) => guardWith(options).check(input, call);

describe('url guard corpus', () => {
  it.each(corpus.cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const resolver = fakeResolver();
    const pending = urlGuard({ ...(c.options as UrlGuardOptions), resolve: resolver.resolve }).check(c.input, call);
    // A promise exactly when the guard had to ask the resolver: literal IPs, localhost and
    // everything refused before the host is looked up are answered synchronously.
    expect(pending instanceof Promise).toBe(resolver.calls > 0);
    const result = await pending;
    if (c.verdict === 'allow') expect(result).toBeUndefined();
    else expect(result?.rule).toBe(c.rule);
  });

  it('has no disputed entries left (each was settled into `cases`, its note kept as a comment)', () => {
    expect(corpus.disputed).toEqual([]);
  });

  it('counts every case: allows and denies of every rule', () => {
    const rules = new Set(corpus.cases.map((c) => c.rule ?? 'allow'));
    expect([...rules].sort()).toEqual(['allow', 'url.credentials', 'url.host', 'url.invalid', 'url.metadata', 'url.port', 'url.private-address', 'url.scheme', 'url.unresolvable']);
  });
});

describe('url guard details', () => {
  it('refuses anything that is not a string, without throwing', () => {
    for (const value of [undefined, null, 42, true, {}, ['http://public.example/'], new URL('http://public.example/')]) {
      expect(check({}, value)).toMatchObject({ rule: 'url.invalid' });
    }
  });

  it('gives up on a resolver that never answers: url.unresolvable after the timeout', async () => {
    const guard = urlGuard({ resolve: () => new Promise<string[]>(() => {}), resolveTimeoutMs: 20 });
    await expect(guard.check('https://public.example/', call)).resolves.toMatchObject({ rule: 'url.unresolvable' });
  });

  it('fails closed on a resolver that throws, rejects, or answers with something that is not an address', async () => {
    const throwing = () => {
      throw new Error('boom');
    };
    await expect(urlGuard({ resolve: throwing }).check('https://public.example/', call)).resolves.toMatchObject({ rule: 'url.unresolvable' });
    await expect(urlGuard({ resolve: () => Promise.reject(new Error('SERVFAIL')) }).check('https://public.example/', call)).resolves.toMatchObject({ rule: 'url.unresolvable' });
    await expect(urlGuard({ resolve: async () => ['93.184.216.34', 'not-an-address'] }).check('https://public.example/', call)).resolves.toMatchObject({ rule: 'url.unresolvable' });
    // ...but a blocked answer next to the junk is still reported as what it is.
    await expect(urlGuard({ resolve: async () => ['not-an-address', '127.0.0.1'] }).check('https://public.example/', call)).resolves.toMatchObject({ rule: 'url.private-address' });
  });

  it('judges every address a name resolves to: metadata anywhere in the answer wins', async () => {
    const guard = urlGuard({ resolve: async () => ['10.0.0.1', '93.184.216.34', '::ffff:169.254.169.254'] });
    await expect(guard.check('https://mixed.example/', call)).resolves.toMatchObject({ rule: 'url.metadata', evidence: { address: '::ffff:a9fe:a9fe', embedded: { form: 'ipv4-mapped', ipv4: '169.254.169.254' } } });
  });

  it('refuses credential endpoints beyond the corpus even when private addresses are allowed', async () => {
    for (const address of ['169.254.170.2', '169.254.170.23', 'fd00:ec2::23', '64:ff9b::a9fe:a9fe', '::ffff:100.100.100.200']) {
      const guard = urlGuard({ blockPrivate: false, resolve: async () => [address] });
      await expect(guard.check('http://creds.example/', call), address).resolves.toMatchObject({ rule: 'url.metadata' });
    }
    expect(check({ blockPrivate: false }, 'http://metadata.goog/')).toMatchObject({ rule: 'url.metadata' });
  });

  it('refuses the local-use NAT64 prefix wholesale and judges the well-known one by its IPv4 address', () => {
    expect(check({}, 'http://[64:ff9b:1::5db8:d822]/')).toMatchObject({ rule: 'url.private-address', evidence: { range: 'nat64-local' } });
    expect(check({}, 'http://[64:ff9b::808:808]/')).toBeUndefined();
    expect(check({}, 'http://[64:ff9b::a00:1]/')).toMatchObject({ rule: 'url.private-address', evidence: { range: 'private', embedded: { form: 'nat64', ipv4: '10.0.0.1' } } });
  });

  it('never puts the password of a URL in its finding', () => {
    const result = check({}, 'http://admin:hunter2@public.example/');
    expect(result).toMatchObject({ rule: 'url.credentials' });
    expect(JSON.stringify(result)).not.toContain('hunter2');
  });

  it('matches `hosts`: `*` inside one label, a leading `**.` for any depth, IDN entries punycoded', async () => {
    const deep = guardWith({ hosts: ['**.public.example'] });
    await expect(deep.check('https://a.b.public.example/', call)).resolves.toBeUndefined();
    await expect(deep.check('https://api.public.example/', call)).resolves.toBeUndefined();
    expect(deep.check('https://public.example/', call)).toMatchObject({ rule: 'url.host' });
    expect(deep.check('https://evilpublic.example/', call)).toMatchObject({ rule: 'url.host' });
    expect(deep.check('https://public.example.evil.example/', call)).toMatchObject({ rule: 'url.host' });

    const partial = guardWith({ hosts: ['a*.public.example'] });
    await expect(partial.check('https://api.public.example/', call)).resolves.toBeUndefined();
    expect(partial.check('https://a.b.public.example/', call)).toMatchObject({ rule: 'url.host' });
    // An empty label never stands in for "*".
    expect(guardWith({ hosts: ['*.public.example'] }).check('https://.public.example/', call)).toMatchObject({ rule: 'url.host' });

    await expect(guardWith({ hosts: ['BÜCHER.example'] }).check('http://bücher.example/', call)).resolves.toBeUndefined();
    expect(guardWith({ hosts: ['BÜCHER.example'] }).check('https://públic.example/', call)).toMatchObject({ rule: 'url.host' });
  });

  it('matches IP entries in `hosts` by address, whatever the spelling, and never by a name glob', () => {
    expect(check({ hosts: ['93.184.216.34'] }, 'http://1572395042/')).toBeUndefined();
    expect(check({ hosts: ['[2606:2800:220:1:248:1893:25c8:1946]'] }, 'http://[2606:2800:220:0001:0248:1893:25C8:1946]/')).toBeUndefined();
    expect(check({ hosts: ['2606:2800:220:1:248:1893:25c8:1946'] }, 'http://[2606:2800:220:1:248:1893:25c8:1946]/')).toBeUndefined();
    expect(check({ hosts: ['*'] }, 'http://93.184.216.34/')).toMatchObject({ rule: 'url.host' });
    // Listing an internal address does not lift block_private (the checks compose).
    expect(check({ hosts: ['10.0.0.5'] }, 'http://10.0.0.5/')).toMatchObject({ rule: 'url.private-address' });
    expect(check({ hosts: ['10.0.0.5'], blockPrivate: false }, 'http://10.0.0.5/')).toBeUndefined();
  });

  it('reads the opaque host of a non-special scheme the way http: would (its client likely does)', async () => {
    const redis = guardWith({ schemes: ['redis'] });
    expect(redis.check('redis://0x7f.1:6379/', call)).toMatchObject({ rule: 'url.private-address' });
    expect(redis.check('redis://%31%32%37.0.0.1:6379/', call)).toMatchObject({ rule: 'url.private-address' });
    expect(redis.check('redis://[::ffff:a00:5]/', call)).toMatchObject({ rule: 'url.private-address' });
    expect(redis.check('redis://exa%00mple/', call)).toMatchObject({ rule: 'url.invalid' });
    await expect(redis.check('redis://public.example:6379/', call)).resolves.toBeUndefined();
    // No default port for redis: a `ports` list cannot be satisfied without an explicit port.
    expect(guardWith({ schemes: ['redis'], ports: [6379] }).check('redis://public.example/', call)).toMatchObject({ rule: 'url.port' });
  });

  it('lets host-less URLs of an allowed scheme through, unless `hosts` is set', () => {
    expect(check({ schemes: ['file'] }, 'file:///srv/data.txt')).toBeUndefined();
    expect(check({ schemes: ['file'], hosts: ['public.example'] }, 'file:///srv/data.txt')).toMatchObject({ rule: 'url.host' });
  });

  it('lets the system resolver fail closed (no DNS here: an error or the timeout, either way unresolvable)', async () => {
    await expect(urlGuard({ resolveTimeoutMs: 300 }).check('http://nothing.invalid/', call)).resolves.toMatchObject({ rule: 'url.unresolvable' });
  });

  it('rejects bad options at load', () => {
    const bad: unknown[] = [
      null,
      { block_private: false },
      { schemes: [] },
      { schemes: 'https' },
      { schemes: ['ht tp'] },
      { schemes: [''] },
      { hosts: [] },
      { hosts: [''] },
      { hosts: [42] },
      { hosts: ['a..example'] },
      { hosts: ['.example'] },
      { hosts: ['**'] },
      { hosts: ['a.**.example'] },
      { hosts: ['*.1'] },
      { hosts: ['10.1'] },
      { hosts: ['example.com/path'] },
      { hosts: ['!evil.example'] },
      { hosts: ['[fe80::1%eth0]'] },
      { hosts: ['[not-v6]'] },
      { hosts: ['bü*.example'] },
      { ports: [] },
      { ports: [0] },
      { ports: [65536] },
      { ports: [80.5] },
      { ports: ['80'] },
      { blockPrivate: 'yes' },
      { resolve: 'dns' },
      { resolveTimeoutMs: 0 },
      { resolveTimeoutMs: -5 },
      { resolveTimeoutMs: Number.NaN },
      { resolveTimeoutMs: Number.POSITIVE_INFINITY },
    ];
    for (const options of bad) expect(() => urlGuard(options as UrlGuardOptions), JSON.stringify(options)).toThrow(GuardConfigError);
    expect(() => urlGuard({ schemes: ['HTTPS:', 'wss'], hosts: ['*.Example.COM.', '**.example.org', '[::1]', '10.0.0.1'], ports: [443], blockPrivate: false, resolveTimeoutMs: 50 })).not.toThrow();
  });
});

// ------------------------------------------------------------------------------ properties

const V4_BLOCKED: ReadonlyArray<readonly [base: string, bits: number]> = [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12], ['192.0.0.0', 24],
  ['192.0.2.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['198.51.100.0', 24], ['203.0.113.0', 24], ['224.0.0.0', 4], ['240.0.0.0', 4],
];
const V4_PUBLIC: ReadonlyArray<readonly [first: string, last: string]> = [
  ['1.0.0.0', '9.255.255.255'], ['11.0.0.0', '100.63.255.255'], ['100.128.0.0', '126.255.255.255'], ['128.0.0.0', '169.253.255.255'],
  ['172.32.0.0', '191.255.255.255'], ['193.0.0.0', '197.255.255.255'], ['199.0.0.0', '203.0.112.255'], ['204.0.0.0', '223.255.255.255'],
];
const V4_METADATA = ['169.254.169.254', '100.100.100.200'];

const toNumber = (dotted: string) => dotted.split('.').reduce((n, octet) => n * 256 + Number(octet), 0);
const octets = (n: number) => [Math.floor(n / 2 ** 24), Math.floor(n / 2 ** 16) % 256, Math.floor(n / 256) % 256, n % 256];
const dotted = (n: number) => octets(n).join('.');

const blockedV4 = fc.oneof(
  fc.constantFrom(...['127.0.0.1', '10.0.0.1', '172.16.0.1', '192.168.1.1', '0.0.0.0', '255.255.255.255', '224.0.0.1', '100.64.0.1', ...V4_METADATA].map(toNumber)),
  fc.constantFrom(...V4_BLOCKED).chain(([base, bits]) => fc.integer({ min: toNumber(base), max: toNumber(base) + 2 ** (32 - bits) - 1 })),
);
const publicV4 = fc.oneof(
  fc.constantFrom(...['93.184.216.34', '8.8.8.8', '1.1.1.1', '172.15.255.255', '172.32.0.1', '100.63.255.255', '100.128.0.1', '198.17.255.255', '169.253.255.255', '223.255.255.255'].map(toNumber)),
  fc.constantFrom(...V4_PUBLIC).chain(([first, last]) => fc.integer({ min: toNumber(first), max: toNumber(last) })),
);

/** One IPv4 number part in decimal, octal (leading zeros) or hex (`0x`/`0X`, padded, any case). */
const numberPart = (value: number) =>
  fc.oneof(
    fc.constant(String(value)),
    fc.nat({ max: 3 }).map((zeros) => (value === 0 ? '0'.repeat(zeros + 1) : '0'.repeat(zeros + 1) + value.toString(8))),
    fc.tuple(fc.constantFrom('0x', '0X'), fc.nat({ max: 3 }), fc.boolean()).map(([prefix, zeros, upper]) => {
      const digits = '0'.repeat(zeros) + (value === 0 && zeros === 0 ? '' : value.toString(16));
      return prefix + (upper ? digits.toUpperCase() : digits);
    }),
  );

/** The address as 1 to 4 parts (a, a.b, a.b.c, a.b.c.d; the last part holds the remaining bits), each part in any radix. */
const ipv4Text = (n: number) =>
  fc.integer({ min: 1, max: 4 }).chain((count) => {
    const bytes = octets(n);
    const lead = bytes.slice(0, count - 1);
    const rest = bytes.slice(count - 1).reduce((v, b) => v * 256 + b, 0);
    return fc.tuple(...[...lead, rest].map(numberPart)).map((parts) => parts.join('.'));
  });

const FULL_WIDTH_DOTS = ['\uFF0E', '\u3002', '\uFF61'];
/** Transformations WHATWG undoes on a host: full-width forms, percent-encoding, a trailing dot, stray tabs/newlines. */
const disguise = (host: string) =>
  fc.tuple(fc.array(fc.nat({ max: 5 }), { minLength: host.length, maxLength: host.length }), fc.boolean(), fc.constantFrom('', '\t', '\n')).map(([how, trailingDot, stray]) => {
    const chars = [...host].map((ch, i) => {
      switch (how[i]) {
        case 1:
          return ch === '.' ? FULL_WIDTH_DOTS[i % 3]! : String.fromCodePoint(ch.codePointAt(0)! + 0xfee0); // full-width
        case 2:
          return `%${ch.charCodeAt(0).toString(16).padStart(2, '0')}`;
        default:
          return ch;
      }
    });
    if (stray !== '') chars.splice(Math.floor(chars.length / 2), 0, stray);
    return chars.join('') + (trailingDot ? '.' : '');
  });

/** IPv6 spellings: any zero padding, any case, `::` over any run of zero groups, the last 32 bits optionally dotted. */
const ipv6Text = (groups: readonly number[]) =>
  fc.tuple(fc.array(fc.nat({ max: 3 }), { minLength: 8, maxLength: 8 }), fc.boolean(), fc.boolean(), fc.nat(), fc.nat()).map(([pads, upper, dottedTail, a, b]) => {
    const hex = groups.map((g, i) => g.toString(16).padStart(Math.min(4, g.toString(16).length + pads[i]!), '0')).map((t) => (upper ? t.toUpperCase() : t));
    const tokens = dottedTail ? [...hex.slice(0, 6), `${groups[6]! >> 8}.${groups[6]! & 255}.${groups[7]! >> 8}.${groups[7]! & 255}`] : hex;
    const last = dottedTail ? 6 : 8; // `::` may only replace hex groups
    const zeroRuns: Array<[number, number]> = [];
    for (let i = 0; i < last; i++) for (let j = i + 1; j <= last && groups[j - 1] === 0; j++) zeroRuns.push([i, j]);
    if (zeroRuns.length === 0 || a % 3 === 0) return tokens.join(':');
    const [from, to] = zeroRuns[b % zeroRuns.length]!;
    return `${tokens.slice(0, from).join(':')}::${tokens.slice(to).join(':')}`;
  });

const v4Groups = (n: number) => [Math.floor(n / 65536), n % 65536];
/** IPv6 forms that embed an IPv4 address and which the guard judges by that address. */
const embeddings = (n: number) => [
  [0, 0, 0, 0, 0, 0xffff, ...v4Groups(n)], // IPv4-mapped
  [0, 0, 0, 0, 0xffff, 0, ...v4Groups(n)], // IPv4-translated (SIIT)
  [0x64, 0xff9b, 0, 0, 0, 0, ...v4Groups(n)], // NAT64 well-known prefix
  [0x2002, ...v4Groups(n), 0, 0, 0, 0, 1], // 6to4
];

/** How the host is placed in a URL: scheme case, slashes, port, and `@`/`#`/`?`/`\` tricks that leave it the host. */
const frame = fc.tuple(
  fc.constantFrom('http', 'HTTP', 'HtTp', 'https', 'HTTPS'),
  fc.constantFrom('://', ':\\\\', ':/', ':', ':///'),
  fc.constantFrom('', ':80', ':443', ':8080'),
  fc.constantFrom('/', '', '/latest/meta-data/', '#@public.example/', '?@public.example/', '\\@public.example/', '/@public.example', '\\.public.example/'),
  fc.constantFrom('', ' ', '\u0000 '),
);
const url = (host: string) => frame.map(([scheme, slashes, port, rest, pad]) => `${pad}${scheme}${slashes}${host}${port}${rest}${pad}`);

const canonicalV6 = (groups: readonly number[]) => new URL(`http://[${groups.map((g) => g.toString(16)).join(':')}]/`).hostname;

/** Any spelling of the IPv4 address n, with the host WHATWG must read from it. */
const spellV4 = (n: number): fc.Arbitrary<readonly [input: string, host: string]> =>
  fc.oneof(
    ipv4Text(n).chain(disguise).chain(url).map((input) => [input, dotted(n)] as const),
    fc.constantFrom(...embeddings(n)).chain((groups) => ipv6Text(groups).chain((text) => url(`[${text}]`)).map((input) => [input, canonicalV6(groups)] as const)),
  );

const expectHost = (input: string, canonical: string) => {
  // The generator must produce what it claims, or the property would prove nothing.
  expect(new URL(input).hostname, JSON.stringify(input)).toBe(canonical);
};

async function verdict(input: string): Promise<GuardResult> {
  return urlGuard({ resolve: fakeResolver().resolve }).check(input, call);
}

describe('url guard properties', () => {
  it('a blocked IPv4 address never flips to allow, however it is spelled', async () => {
    await fc.assert(
      fc.asyncProperty(blockedV4.chain((n) => fc.tuple(fc.constant(n), spellV4(n))), async ([n, [input, host]]) => {
        expectHost(input, host);
        const result = await verdict(input);
        // 6to4 puts the address in the prefix: `2002:7f00:1::1` is not a literal loopback, but still refused.
        expect(result?.rule, input).toBe(V4_METADATA.includes(dotted(n)) ? 'url.metadata' : 'url.private-address');
      }),
      { numRuns: 500 },
    );
  });

  it('a public IPv4 address stays allowed in the same spellings', async () => {
    await fc.assert(
      fc.asyncProperty(publicV4.chain((n) => fc.tuple(fc.constant(n), spellV4(n))), async ([, [input, host]]) => {
        expectHost(input, host);
        expect(await verdict(input), input).toBeUndefined();
      }),
      { numRuns: 500 },
    );
  });

  const group = fc.integer({ min: 0, max: 0xffff });
  const blockedV6 = fc.oneof(
    fc.constantFrom([0, 0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 0, 0], [0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254], [0xfe80, 0, 0, 0, 0, 0, 0, 1], [0xff02, 0, 0, 0, 0, 0, 0, 1]),
    fc.tuple(fc.integer({ min: 0xfc00, max: 0xfdff }), fc.array(group, { minLength: 7, maxLength: 7 })).map(([g, rest]) => [g, ...rest]), // unique-local
    fc.tuple(fc.integer({ min: 0xfe80, max: 0xfeff }), fc.array(group, { minLength: 7, maxLength: 7 })).map(([g, rest]) => [g, ...rest]), // link- and site-local
    fc.tuple(fc.integer({ min: 0xff00, max: 0xffff }), fc.array(group, { minLength: 7, maxLength: 7 })).map(([g, rest]) => [g, ...rest]), // multicast
    fc.tuple(fc.array(fc.constant(0), { minLength: 3, maxLength: 3 }), fc.array(group, { minLength: 4, maxLength: 4 })).map(([z, rest]) => [0x100, ...z, ...rest]), // discard
  );
  const publicV6 = fc.oneof(
    fc.constantFrom([0x2606, 0x2800, 0x220, 1, 0x248, 0x1893, 0x25c8, 0x1946], [0x2001, 0x4860, 0x4860, 0, 0, 0, 0, 0x8888]),
    fc.tuple(fc.integer({ min: 0x2400, max: 0x2fff }), fc.array(group, { minLength: 7, maxLength: 7 })).map(([g, rest]) => [g, ...rest]),
  );

  it('a blocked IPv6 address never flips to allow, however it is spelled', async () => {
    await fc.assert(
      fc.asyncProperty(blockedV6.chain((g) => fc.tuple(fc.constant(g), ipv6Text(g).chain((text) => url(`[${text}]`)))), async ([groups, input]) => {
        expectHost(input, canonicalV6(groups));
        const result = await verdict(input);
        expect(result?.rule, input).toBe(groups[0] === 0xfd00 && groups[1] === 0xec2 && groups[7] === 0x254 && groups.slice(2, 7).every((g) => g === 0) ? 'url.metadata' : 'url.private-address');
      }),
      { numRuns: 300 },
    );
  });

  it('a public IPv6 address stays allowed in the same spellings', async () => {
    await fc.assert(
      fc.asyncProperty(publicV6.chain((g) => fc.tuple(fc.constant(g), ipv6Text(g).chain((text) => url(`[${text}]`)))), async ([groups, input]) => {
        expectHost(input, canonicalV6(groups));
        expect(await verdict(input), input).toBeUndefined();
      }),
      { numRuns: 300 },
    );
  });

  it('a blocked name spelled with WHATWG-undone disguises stays refused (localhost, the GCP metadata name)', () => {
    fc.assert(
      fc.property(fc.constantFrom('localhost', 'api.localhost', 'metadata.google.internal').chain((name) => fc.tuple(fc.constant(name), disguise(name).chain(url))), ([name, input]) => {
        expect(new URL(input).hostname.replace(/\.$/, ''), JSON.stringify(input)).toBe(name);
        const result = check({}, input);
        expect(result instanceof Promise, 'judged without the resolver').toBe(false);
        expect((result as GuardResult)?.rule, input).toBe(name.startsWith('metadata') ? 'url.metadata' : 'url.private-address');
      }),
      { numRuns: 300 },
    );
  });
});
