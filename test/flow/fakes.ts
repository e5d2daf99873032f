/**
 * Deterministic FAKE values for the detector corpus (test/flow/corpus/README.md gives the
 * placeholder grammar). Nothing secret-shaped is committed: the corpus holds placeholders, and
 * each one is expanded here from a PRNG seeded by the case name and the placeholder's position,
 * so a case reads the same on every run and on every machine.
 *
 * Valid variants are really valid (GitHub CRC32 checksum, Luhn, IBAN mod 97, SSN ranges, JWT
 * JSON segments). A flawed variant is the valid value broken in exactly ONE way, so a detector
 * that accepts it has skipped exactly that check.
 *
 * Random bodies never hold a run of five digits: a token body must not read as a phone, card or
 * SSN by accident and change the set of detectors a case expects.
 */
import { crc32 as zlibCrc32 } from 'node:zlib';

export type Rng = () => number;

/** mulberry32: a tiny 32-bit PRNG, plenty for fixtures. */
export function mulberry32(seed: number): Rng {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** FNV-1a over UTF-16 code units: the seed of a case's placeholder. */
export function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return hash >>> 0;
}

/** The PRNG for one placeholder: the case name plus its slot (position, or `#tag`). */
export const rngFor = (caseName: string, slot: string): Rng => mulberry32(fnv1a(`${caseName}\u0000${slot}`));

// ------------------------------------------------------------------ alphabets and helpers

const DIGITS = '0123456789';
const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const LOWER = 'abcdefghijklmnopqrstuvwxyz';
/** Also the base62 alphabet GitHub uses for its checksum (0-9, A-Z, a-z). */
const ALNUM = DIGITS + UPPER + LOWER;
const BASE32 = `${UPPER}234567`;
const URLSAFE = `${ALNUM}-_`;
const HEX = '0123456789abcdef';

const int = (rng: Rng, n: number): number => Math.floor(rng() * n);
const between = (rng: Rng, lo: number, hi: number): number => lo + int(rng, hi - lo + 1);
const pick = <T>(rng: Rng, items: readonly T[]): T => items[int(rng, items.length)]!;

function chars(rng: Rng, alphabet: string, n: number): string {
  let out = '';
  for (let i = 0; i < n; i++) out += alphabet[int(rng, alphabet.length)];
  return out;
}

/** Draws until `ok` holds (and there is no run of 5 digits); deterministic for a given rng. */
function draw(rng: Rng, make: () => string, ok: (s: string) => boolean = () => true): string {
  for (let i = 0; i < 1000; i++) {
    const s = make();
    if (!/\d{5}/.test(s) && ok(s)) return s;
  }
  throw new Error('fakes: no acceptable draw in 1000 tries');
}

const body = (rng: Rng, alphabet: string, n: number, ok?: (s: string) => boolean): string =>
  draw(rng, () => chars(rng, alphabet, n), ok);

/** A different character of `alphabet` at `index` (a one-character near miss). */
function mutateAt(rng: Rng, s: string, index: number, alphabet: string): string {
  const others = [...alphabet].filter((c) => c !== s[index]);
  return s.slice(0, index) + pick(rng, others) + s.slice(index + 1);
}

function randomBytes(rng: Rng, n: number): Buffer {
  const out = Buffer.alloc(n);
  for (let i = 0; i < n; i++) out[i] = int(rng, 256);
  return out;
}

export const base64 = (text: string | Buffer): string => Buffer.from(text).toString('base64');
export const base64url = (text: string | Buffer): string => Buffer.from(text).toString('base64url');

function percentAll(text: string): string {
  return [...Buffer.from(text, 'utf8')].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join('');
}

// ------------------------------------------------------------------ checksums

export const crc32 = (text: string): number => zlibCrc32(text) >>> 0;

/** Base62 (0-9A-Za-z), zero-padded to `width`. */
export function base62(n: number, width = 6): string {
  let out = '';
  let rest = n;
  do {
    out = ALNUM[rest % 62] + out;
    rest = Math.floor(rest / 62);
  } while (rest > 0);
  return out.padStart(width, '0');
}

/** The 6-character checksum of a modern GitHub token's 30 random characters. */
export const githubChecksum = (random30: string): string => base62(crc32(random30));

export function luhnValid(digits: string): boolean {
  if (!/^\d+$/.test(digits)) return false;
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 1) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
    sum += d;
  }
  return sum % 10 === 0;
}

function luhnComplete(partial: string): string {
  for (let d = 0; d < 10; d++) if (luhnValid(partial + d)) return partial + d;
  throw new Error('unreachable');
}

/** IBAN length per country (ISO 13616 registry) and a BBAN shape: n digits, a letters, c alnum. */
export const IBAN_COUNTRIES: Readonly<Record<string, { length: number; bban: string }>> = {
  AT: { length: 20, bban: '16n' },
  BE: { length: 16, bban: '12n' },
  CH: { length: 21, bban: '5n12c' },
  CZ: { length: 24, bban: '20n' },
  DE: { length: 22, bban: '18n' },
  DK: { length: 18, bban: '14n' },
  ES: { length: 24, bban: '20n' },
  FI: { length: 18, bban: '14n' },
  FR: { length: 27, bban: '10n11c2n' },
  GB: { length: 22, bban: '4a14n' },
  IE: { length: 22, bban: '4a14n' },
  IT: { length: 27, bban: '1a10n12c' },
  LU: { length: 20, bban: '3n13c' },
  NL: { length: 18, bban: '4a10n' },
  NO: { length: 15, bban: '11n' },
  PL: { length: 28, bban: '24n' },
  PT: { length: 25, bban: '21n' },
  SE: { length: 24, bban: '20n' },
};

/** Remainder mod 97 of the IBAN's rearranged numeric form (letters A=10 ... Z=35). */
export function ibanMod97(iban: string): number {
  const compact = iban.replace(/ /g, '');
  const rearranged = compact.slice(4) + compact.slice(0, 4);
  let rest = 0;
  for (const ch of rearranged) {
    const value = /\d/.test(ch) ? ch : String(ch.charCodeAt(0) - 55);
    for (const digit of value) rest = (rest * 10 + Number(digit)) % 97;
  }
  return rest;
}

export function ibanValid(iban: string): boolean {
  const compact = iban.replace(/ /g, '');
  const country = IBAN_COUNTRIES[compact.slice(0, 2)];
  return country !== undefined && compact.length === country.length && /^[A-Z]{2}\d{2}[A-Z0-9]+$/.test(compact) && ibanMod97(compact) === 1;
}

function ibanWithCheck(country: string, bban: string): string {
  const check = 98 - ibanMod97(`${country}00${bban}`);
  return `${country}${String(check).padStart(2, '0')}${bban}`;
}

const groups = (s: string, sizes: readonly number[], sep: string): string => {
  const out: string[] = [];
  let at = 0;
  for (const size of sizes) {
    if (at >= s.length) break;
    out.push(s.slice(at, at + size));
    at += size;
  }
  if (at < s.length) out.push(s.slice(at));
  return out.join(sep);
};
const fours = (s: string, sep: string): string => s.replace(new RegExp(`(.{4})(?!$)`, 'g'), `$1${sep}`);

// ------------------------------------------------------------------ generators

type Generate = (rng: Rng, args: readonly string[]) => string;

interface GeneratorSpec {
  /** The args this generator accepts (any order); the first of each list is the default. */
  readonly args: readonly string[];
  readonly generate: Generate;
  /** Takes a number as its single argument instead (alnum:24). */
  readonly numeric?: boolean;
}

const has = (args: readonly string[], name: string): boolean => args.includes(name);
const oneOf = (args: readonly string[], names: readonly string[], fallback: string): string => args.find((a) => names.includes(a)) ?? fallback;

function awsAccessKeyId(rng: Rng, args: readonly string[]): string {
  const variant = oneOf(args, ['akia', 'asia', 'abia', 'acca', 'aida'], 'akia').toUpperCase();
  // A document-style value must not end in EXAMPLE by chance, and fillers are the negatives' job.
  const tail = body(rng, BASE32, 16, (s) => /[A-Z]/.test(s) && /[2-7]/.test(s) && new Set(s).size > 8);
  if (has(args, 'example')) return `${variant}${tail.slice(0, 9)}EXAMPLE`;
  if (has(args, 'short')) return `${variant}${tail.slice(0, 15)}`;
  if (has(args, 'bad-charset')) return `${variant}${tail.slice(0, 7)}${pick(rng, ['0', '1', '8', '9'])}${tail.slice(8)}`;
  if (has(args, 'lowercase')) {
    const i = [...tail].findIndex((c) => /[A-Z]/.test(c));
    return `${variant}${tail.slice(0, i)}${tail[i]!.toLowerCase()}${tail.slice(i + 1)}`;
  }
  return variant + tail;
}

function awsSecretAccessKey(rng: Rng, args: readonly string[]): string {
  const n = has(args, 'short') ? 39 : has(args, 'long') ? 41 : 40;
  return body(rng, `${ALNUM}/+`, n, (s) => /[a-z]/.test(s) && /[A-Z]/.test(s) && /\d/.test(s));
}

function githubToken(rng: Rng, args: readonly string[]): string {
  if (has(args, 'fine-grained') || has(args, 'fine-grained-short')) {
    const first = body(rng, ALNUM, 22);
    const second = body(rng, ALNUM, has(args, 'fine-grained-short') ? 58 : 59);
    return `github_pat_${first}_${second}`;
  }
  const prefix = oneOf(args, ['ghp', 'gho', 'ghu', 'ghs', 'ghr', 'ghx'], 'ghp');
  // The checksum may be zero-padded digits: the whole token, not just the random part, must
  // stay free of five-digit runs.
  const random = body(rng, ALNUM, 30, (r) => !/\d{5}/.test(r + githubChecksum(r)) && !/\d{5}/.test(r.slice(0, 29) + githubChecksum(r.slice(0, 29))));
  let token = `${prefix}_${random}${githubChecksum(random)}`;
  if (has(args, 'bad-checksum')) token = mutateAt(rng, token, token.length - 1 - int(rng, 6), ALNUM);
  if (has(args, 'short')) {
    // One character fewer, checksum still right for what remains: only the length is wrong.
    const r29 = random.slice(0, 29);
    token = `${prefix}_${r29}${githubChecksum(r29)}`;
  }
  return token;
}

function slackToken(rng: Rng, args: readonly string[]): string {
  const prefix = oneOf(args, ['xoxb', 'xoxp', 'xoxa', 'xoxr', 'xoxe', 'xoxz'], 'xoxb');
  const digits = (n: number) => String(between(rng, 1, 9)) + chars(rng, DIGITS, n - 1);
  const size = has(args, 'short-digits') ? 7 : 0;
  const numeric = [digits(size || between(rng, 10, 13)), digits(size || between(rng, 10, 13))];
  if (prefix === 'xoxp') numeric.push(digits(size || 12));
  const secret = body(rng, ALNUM, has(args, 'short-secret') ? 20 : prefix === 'xoxp' ? 32 : 24, (s) => /[a-z]/.test(s) && /[A-Z]/.test(s));
  return [prefix, ...numeric, secret].join('-');
}

function slackWebhook(rng: Rng, args: readonly string[]): string {
  const team = `T${body(rng, `${UPPER}${DIGITS}`, between(rng, 8, 10))}`;
  const bot = `B${body(rng, `${UPPER}${DIGITS}`, between(rng, 8, 10))}`;
  const secret = body(rng, ALNUM, has(args, 'short-secret') ? 20 : 24, (s) => /[a-z]/.test(s) && /\d/.test(s));
  return has(args, 'no-bot') ? `https://hooks.slack.com/services/${team}/${secret}` : `https://hooks.slack.com/services/${team}/${bot}/${secret}`;
}

function discordWebhook(rng: Rng, args: readonly string[]): string {
  const host = has(args, 'discordapp') ? 'discordapp.com' : 'discord.com';
  const id = String(between(rng, 1, 9)) + chars(rng, DIGITS, (has(args, 'short-id') ? 15 : between(rng, 17, 19)) - 1);
  const token = body(rng, URLSAFE, has(args, 'short-token') ? 50 : 68);
  return `https://${host}/api/webhooks/${id}/${token}`;
}

function telegramBotToken(rng: Rng, args: readonly string[]): string {
  const id = String(between(rng, 1, 9)) + chars(rng, DIGITS, (has(args, 'short-id') ? 7 : between(rng, 8, 10)) - 1);
  const rest = body(rng, URLSAFE, has(args, 'short') ? 32 : 33);
  return `${id}:${has(args, 'no-aa') ? 'AB' : 'AA'}${rest}`;
}

function stripeKey(rng: Rng, args: readonly string[]): string {
  const kind = oneOf(args, ['sk-live', 'sk-test', 'rk-live', 'rk-test', 'pk-live', 'pk-test'], 'sk-live').replace('-', '_');
  const n = has(args, 'short') ? 20 : has(args, 'long') ? 99 : 24;
  return `${kind}_${body(rng, ALNUM, n, (s) => /[a-z]/.test(s) && /[A-Z]/.test(s) && /\d/.test(s))}`;
}

function squareToken(rng: Rng, args: readonly string[]): string {
  const prefix = oneOf(args, ['sq0atp', 'sq0csp', 'sq0xyz'], 'sq0atp');
  return `${prefix}-${body(rng, URLSAFE, has(args, 'short') ? 16 : prefix === 'sq0csp' ? 43 : 22)}`;
}

function openaiApiKey(rng: Rng, args: readonly string[]): string {
  const variant = oneOf(args, ['proj', 'svcacct', 'legacy', 'legacy-no-marker'], 'proj');
  if (variant === 'legacy') return `sk-${body(rng, ALNUM, 20)}T3BlbkFJ${body(rng, ALNUM, 20)}`;
  if (variant === 'legacy-no-marker') return `sk-${body(rng, ALNUM, 48, (s) => !s.includes('T3BlbkFJ'))}`;
  return `sk-${variant}-${body(rng, URLSAFE, has(args, 'short') ? 30 : 64)}`;
}

function anthropicApiKey(rng: Rng, args: readonly string[]): string {
  const kind = oneOf(args, ['api03', 'admin01', 'API03', 'api'], 'api03');
  return `sk-ant-${kind}-${body(rng, URLSAFE, has(args, 'short') ? 60 : 93)}${has(args, 'short') ? '' : 'AA'}`;
}

const googleApiKey = (rng: Rng, args: readonly string[]): string =>
  `${has(args, 'bad-prefix') ? 'AIzb' : 'AIza'}${body(rng, URLSAFE, has(args, 'short') ? 34 : 35)}`;

const gitlabToken = (rng: Rng, args: readonly string[]): string => `glpat-${body(rng, URLSAFE, has(args, 'short') ? 19 : 20, (s) => /[A-Za-z0-9]$/.test(s) && /^[A-Za-z0-9]/.test(s))}`;

const npmToken = (rng: Rng, args: readonly string[]): string => `npm_${body(rng, ALNUM, has(args, 'short') ? 35 : 36)}`;

const PEM_LABELS: Readonly<Record<string, string>> = {
  rsa: 'RSA PRIVATE KEY',
  ec: 'EC PRIVATE KEY',
  dsa: 'DSA PRIVATE KEY',
  openssh: 'OPENSSH PRIVATE KEY',
  encrypted: 'ENCRYPTED PRIVATE KEY',
  pkcs8: 'PRIVATE KEY',
  pgp: 'PGP PRIVATE KEY BLOCK',
  public: 'PUBLIC KEY',
  'rsa-public': 'RSA PUBLIC KEY',
  certificate: 'CERTIFICATE',
};

function privateKey(rng: Rng, args: readonly string[]): string {
  const kind = oneOf(args, Object.keys(PEM_LABELS), 'rsa');
  const label = PEM_LABELS[kind]!;
  const lines = kind === 'rsa' ? 6 : kind === 'ec' ? 3 : 4;
  const prefix = kind === 'openssh' ? Buffer.from('openssh-key-v1\0') : Buffer.alloc(0);
  const raw = base64(Buffer.concat([prefix, randomBytes(rng, lines * 48 - prefix.length - 10)]));
  let bodyText = has(args, 'short-body') ? raw.slice(0, 40) : raw.replace(/(.{64})(?!$)/g, '$1\n');
  if (kind === 'pgp') bodyText = `\n${bodyText}\n=${body(rng, ALNUM, 4)}`;
  const begin = `-----BEGIN ${label}-----`;
  const endLabel = has(args, 'mismatched-end') ? (label === 'EC PRIVATE KEY' ? 'RSA PRIVATE KEY' : 'EC PRIVATE KEY') : label;
  const end = `-----END ${endLabel}-----`;
  if (has(args, 'header-only')) return begin;
  const parts = has(args, 'no-end') ? [begin, bodyText] : [begin, bodyText, end];
  // `indented`: every line after the first gets 4 blanks, as in a YAML block scalar (the text
  // supplies the first line's indentation).
  const eol = has(args, 'crlf') ? '\r\n' : has(args, 'escaped') ? '\\n' : has(args, 'indented') ? '\n    ' : '\n';
  return parts.join('\n').replace(/\n/g, eol);
}

function jwt(rng: Rng, args: readonly string[]): string {
  const variant = oneOf(args, ['hs256', 'rs256', 'es256', 'two-segments', 'header-not-json', 'no-alg', 'payload-not-json'], 'hs256');
  const alg = variant === 'rs256' ? 'RS256' : variant === 'es256' ? 'ES256' : 'HS256';
  const header = variant === 'no-alg' ? { typ: 'JWT', kid: body(rng, HEX, 8) } : { alg, typ: 'JWT' };
  const issuedAt = 1_700_000_000 + int(rng, 50_000_000);
  const payload = { sub: `usr_${body(rng, ALNUM, 12)}`, scope: pick(rng, ['read:docs', 'repo write', 'openid profile']), iat: issuedAt, exp: issuedAt + 3600 };
  const sigBytes = alg === 'RS256' ? 256 : alg === 'ES256' ? 64 : 32;
  const h = variant === 'header-not-json' ? `eyJ${body(rng, URLSAFE, 33)}` : base64url(JSON.stringify(header));
  const p = variant === 'payload-not-json' ? base64url('session for the nightly report job') : base64url(JSON.stringify(payload));
  const s = base64url(randomBytes(rng, sigBytes));
  return variant === 'two-segments' ? `${h}.${p}` : `${h}.${p}.${s}`;
}

/** A password that mixes upper, lower, digits and URL-safe symbols. */
function password(rng: Rng, args: readonly string[]): string {
  const n = Number(args.find((a) => /^\d+$/.test(a)) ?? 16);
  const symbols = has(args, 'alnum') ? '' : '-_.!*~';
  return body(rng, ALNUM + symbols, n, (s) => /[a-z]/.test(s) && /[A-Z]/.test(s) && /\d/.test(s) && /^[A-Za-z0-9]/.test(s) && /[A-Za-z0-9]$/.test(s));
}

// --- PII

const FIRST = ['alice', 'bruno', 'chen', 'dana', 'emeka', 'farah', 'goran', 'hana', 'ivan', 'jules', 'kofi', 'lena', 'mateo', 'nadia', 'oskar', 'priya'];
const LAST = ['moreau', 'silva', 'wang', 'keller', 'okafor', 'haddad', 'petrov', 'sato', 'novak', 'dubois', 'mensah', 'berg', 'rossi', 'iqbal', 'lind', 'raman'];
const DOMAINS = ['acme-corp.io', 'globex.com', 'initech.net', 'umbrella-labs.co.uk', 'hooli.xyz', 'piedpiper.dev', 'soylent.co', 'wayne-ent.com', 'stark-industries.io', 'mail.tyrell.tech'];

function email(rng: Rng, args: readonly string[]): string {
  const first = pick(rng, FIRST);
  const last = pick(rng, LAST);
  const domain = pick(rng, DOMAINS);
  if (has(args, 'plus')) return `${first}+${pick(rng, ['billing', 'news', 'jira'])}@${domain}`;
  if (has(args, 'upper')) return `${first[0]!.toUpperCase()}${first.slice(1)}.${last[0]!.toUpperCase()}${last.slice(1)}@${domain}`;
  if (has(args, 'short')) return `${first[0]}${last}@${domain}`;
  return `${first}.${last}@${domain}`;
}

function phone(rng: Rng, args: readonly string[]): string {
  const variant = oneOf(args, ['us-paren', 'us-dash', 'us-dot', 'us-intl', 'uk', 'de', 'fr', 'in', 'jp', 'au', 'br', 'bad-area', 'bad-exchange'], 'us-paren');
  const d = (n: number) => chars(rng, DIGITS, n);
  const area = `${between(rng, 2, 9)}${d(2)}`;
  const line = `01${d(2)}`; // 555-0100..0199: the fictional range
  switch (variant) {
    case 'us-dash': return `${area}-555-${line}`;
    case 'us-dot': return `${area}.555.${line}`;
    case 'us-intl': return `+1 ${area} 555 ${line}`;
    case 'uk': return `+44 20 7946 0${d(3)}`; // Ofcom's drama range
    case 'de': return `+49 30 ${between(rng, 2, 9)}${d(6)}`;
    case 'fr': return `+33 ${between(rng, 1, 7)} ${d(2)} ${d(2)} ${d(2)} ${d(2)}`;
    case 'in': return `+91 ${between(rng, 7, 9)}${d(4)} ${d(5)}`;
    case 'jp': return `+81 3-${d(4)}-${d(4)}`;
    case 'au': return `+61 4${d(2)} ${d(3)} ${d(3)}`;
    case 'br': return `+55 11 9${d(4)}-${d(4)}`;
    case 'bad-area': return `(${pick(rng, ['0', '1'])}${d(2)}) 555-${line}`;
    case 'bad-exchange': return `(${area}) ${pick(rng, ['0', '1'])}${d(2)}-${line}`;
    default: return `(${area}) 555-${line}`;
  }
}

const TEST_CARDS = new Set(['4111111111111111', '4242424242424242', '5555555555554444', '378282246310005', '6011111111111117', '4000056655665556', '5105105105105100', '371449635398431']);

function issuer(rng: Rng, name: string): { prefix: string; length: number } {
  switch (name) {
    case 'visa-13': return { prefix: '4', length: 13 };
    case 'visa-19': return { prefix: '4', length: 19 };
    case 'mastercard': return { prefix: String(between(rng, 51, 55)), length: 16 };
    case 'mastercard-2': return { prefix: String(between(rng, 2221, 2720)), length: 16 };
    case 'amex': return { prefix: pick(rng, ['34', '37']), length: 15 };
    case 'discover': return { prefix: pick(rng, ['6011', String(between(rng, 644, 649)), '65']), length: 16 };
    case 'discover-19': return { prefix: '6011', length: 19 };
    case 'jcb': return { prefix: String(between(rng, 3528, 3589)), length: 16 };
    case 'diners': return { prefix: pick(rng, [String(between(rng, 300, 305)), '36', '38']), length: 14 };
    case 'no-issuer': return { prefix: pick(rng, ['1', '7', '9']), length: 16 };
    default: return { prefix: '4', length: 16 };
  }
}

export const CARD_ISSUERS = ['visa', 'visa-13', 'visa-19', 'mastercard', 'mastercard-2', 'amex', 'discover', 'discover-19', 'jcb', 'diners', 'no-issuer'] as const;

function paymentCard(rng: Rng, args: readonly string[]): string {
  const name = oneOf(args, CARD_ISSUERS, 'visa');
  const { prefix, length: validLength } = issuer(rng, name);
  const length = has(args, 'bad-length') ? validLength - 1 : validLength;
  const number = drawDigits(rng, () => luhnComplete(prefix + chars(rng, DIGITS, length - prefix.length - 1)), (s) => !TEST_CARDS.has(s));
  const digits = has(args, 'bad-luhn') ? number.slice(0, -1) + String((Number(number.at(-1)) + between(rng, 1, 9)) % 10) : number;
  const sep = has(args, 'spaces') ? ' ' : has(args, 'dashes') ? '-' : '';
  if (!sep) return digits;
  const sizes = digits.length === 15 ? [4, 6, 5] : digits.length === 14 ? [4, 6, 4] : digits.length === 13 ? [4, 4, 5] : [4, 4, 4, 4, 4];
  return groups(digits, sizes, sep);
}

// The draw() guard against 5-digit runs must not apply to card numbers: they are digit runs.
function drawDigits(rng: Rng, make: () => string, ok: (s: string) => boolean): string {
  for (let i = 0; i < 1000; i++) {
    const s = make();
    if (ok(s)) return s;
  }
  throw new Error('fakes: no acceptable draw in 1000 tries');
}

function bban(rng: Rng, shape: string): string {
  let out = '';
  for (const [, count, kind] of shape.matchAll(/(\d+)([nac])/g)) {
    out += chars(rng, kind === 'n' ? DIGITS : kind === 'a' ? UPPER : `${UPPER}${DIGITS}`, Number(count));
  }
  return out;
}

function iban(rng: Rng, args: readonly string[]): string {
  const code = args.find((a) => /^[A-Z]{2}$/.test(a)) ?? 'DE';
  const known = IBAN_COUNTRIES[code];
  const shape = known?.bban ?? '18n';
  let value: string;
  if (has(args, 'bad-length')) value = ibanWithCheck(code, bban(rng, shape).slice(0, -1));
  else value = ibanWithCheck(code, bban(rng, shape));
  if (has(args, 'bad-check')) {
    const right = Number(value.slice(2, 4));
    const candidates = Array.from({ length: 97 }, (_, i) => i + 2).filter((c) => c !== right && c <= 98);
    value = `${code}${String(pick(rng, candidates)).padStart(2, '0')}${value.slice(4)}`;
  }
  return has(args, 'spaces') ? fours(value, ' ') : value;
}

const SSN_SHOWCASE = new Set(['078-05-1120', '219-09-9999']);

function usSsn(rng: Rng, args: readonly string[]): string {
  const pad = (n: number, w: number) => String(n).padStart(w, '0');
  const ssn = drawDigits(
    rng,
    () => {
      let area = pad(draw3(rng), 3);
      let group = pad(between(rng, 1, 99), 2);
      let serial = pad(between(rng, 1, 9999), 4);
      if (has(args, 'area-000')) area = '000';
      if (has(args, 'area-666')) area = '666';
      if (has(args, 'area-9xx')) area = String(between(rng, 900, 999));
      if (has(args, 'group-00')) group = '00';
      if (has(args, 'serial-0000')) serial = '0000';
      return `${area}-${group}-${serial}`;
    },
    (s) => !SSN_SHOWCASE.has(s),
  );
  if (has(args, 'bare')) return ssn.replace(/-/g, '');
  return has(args, 'spaces') ? ssn.replace(/-/g, ' ') : ssn;
}

/** An SSN area: 001-899 without 666. */
function draw3(rng: Rng): number {
  const area = between(rng, 1, 898);
  return area >= 666 ? area + 1 : area;
}

function ipv4(rng: Rng, args: readonly string[]): string {
  if (has(args, 'private')) {
    return pick(rng, [`10.${between(rng, 0, 255)}.${between(rng, 0, 255)}.${between(rng, 1, 254)}`, `192.168.${between(rng, 0, 255)}.${between(rng, 1, 254)}`, `172.${between(rng, 16, 31)}.${between(rng, 0, 255)}.${between(rng, 1, 254)}`]);
  }
  const first = pick(rng, [23, 34, 45, 52, 63, 81, 91, 104, 141, 151, 185, 203]);
  return `${first}.${between(rng, 0, 255)}.${between(rng, 0, 255)}.${between(rng, 1, 254)}`;
}

function ipv6(rng: Rng, args: readonly string[]): string {
  const group = () => between(rng, 1, 0xffff).toString(16);
  if (has(args, 'compressed')) return `${pick(rng, ['2a01', '2600', '2001', '2a02', '2406'])}:${group()}:${group()}::${group()}`;
  if (has(args, 'link-local')) return `fe80::${group()}:${group()}:${group()}:${group()}`;
  return [pick(rng, ['2a01', '2600', '2001', '2a02', '2406']), ...Array.from({ length: 7 }, group)].join(':');
}

// --- look-alikes for negatives

const hexish = (rng: Rng, n: number): string => body(rng, HEX, n, (s) => !/\d{4}/.test(s));

function uuid(rng: Rng): string {
  return draw(
    rng,
    () => {
      const h = chars(rng, HEX, 32);
      return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${pick(rng, ['8', '9', 'a', 'b'])}${h.slice(17, 20)}-${h.slice(20)}`;
    },
    (s) => !/\d{4}/.test(s),
  );
}

const PNG_HEADER = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, 0x49, 0x48, 0x44, 0x52]);

const numberArg = (args: readonly string[], fallback: number): number => Number(args[0] ?? fallback);

const GENERATORS: Readonly<Record<string, GeneratorSpec>> = {
  'aws-access-key-id': { args: ['akia', 'asia', 'abia', 'acca', 'aida', 'example', 'short', 'bad-charset', 'lowercase'], generate: awsAccessKeyId },
  'aws-secret-access-key': { args: ['short', 'long'], generate: awsSecretAccessKey },
  'github-token': { args: ['ghp', 'gho', 'ghu', 'ghs', 'ghr', 'ghx', 'bad-checksum', 'short', 'fine-grained', 'fine-grained-short'], generate: githubToken },
  'gitlab-token': { args: ['short'], generate: gitlabToken },
  'slack-token': { args: ['xoxb', 'xoxp', 'xoxa', 'xoxr', 'xoxe', 'xoxz', 'short-digits', 'short-secret'], generate: slackToken },
  'slack-webhook': { args: ['short-secret', 'no-bot'], generate: slackWebhook },
  'discord-webhook': { args: ['discordapp', 'short-id', 'short-token'], generate: discordWebhook },
  'telegram-bot-token': { args: ['no-aa', 'short', 'short-id'], generate: telegramBotToken },
  'stripe-key': { args: ['sk-live', 'sk-test', 'rk-live', 'rk-test', 'pk-live', 'pk-test', 'short', 'long'], generate: stripeKey },
  'square-token': { args: ['sq0atp', 'sq0csp', 'sq0xyz', 'short'], generate: squareToken },
  'openai-api-key': { args: ['proj', 'svcacct', 'legacy', 'legacy-no-marker', 'short'], generate: openaiApiKey },
  'anthropic-api-key': { args: ['api03', 'admin01', 'API03', 'api', 'short'], generate: anthropicApiKey },
  'google-api-key': { args: ['short', 'bad-prefix'], generate: googleApiKey },
  'npm-token': { args: ['short'], generate: npmToken },
  'private-key': { args: [...Object.keys(PEM_LABELS), 'short-body', 'header-only', 'no-end', 'mismatched-end', 'crlf', 'escaped', 'indented'], generate: privateKey },
  jwt: { args: ['hs256', 'rs256', 'es256', 'two-segments', 'header-not-json', 'no-alg', 'payload-not-json'], generate: jwt },
  password: { args: ['alnum'], generate: password },
  email: { args: ['plus', 'upper', 'short'], generate: email },
  phone: { args: ['us-paren', 'us-dash', 'us-dot', 'us-intl', 'uk', 'de', 'fr', 'in', 'jp', 'au', 'br', 'bad-area', 'bad-exchange'], generate: phone },
  'payment-card': { args: [...CARD_ISSUERS, 'bad-luhn', 'bad-length', 'spaces', 'dashes'], generate: paymentCard },
  iban: { args: [...Object.keys(IBAN_COUNTRIES), 'US', 'QZ', 'bad-check', 'bad-length', 'spaces'], generate: iban },
  'us-ssn': { args: ['spaces', 'bare', 'area-000', 'area-666', 'area-9xx', 'group-00', 'serial-0000'], generate: usSsn },
  ipv4: { args: ['private'], generate: ipv4 },
  ipv6: { args: ['compressed', 'link-local'], generate: ipv6 },
  // A handset IMEI: 15 digits, Luhn-valid, type allocation code 35 or 86 (no card issuer has those at 15).
  imei: { args: [], generate: (rng) => luhnComplete(pick(rng, ['35', '86']) + chars(rng, DIGITS, 12)) },
  uuid: { args: [], generate: uuid },
  'git-sha': { args: [], generate: (rng) => hexish(rng, 40) },
  sha256: { args: [], generate: (rng) => hexish(rng, 64) },
  'sri-sha512': { args: [], generate: (rng) => `sha512-${base64(randomBytes(rng, 64))}` },
  alnum: { args: [], numeric: true, generate: (rng, args) => body(rng, ALNUM, numberArg(args, 24)) },
  hex: { args: [], numeric: true, generate: (rng, args) => hexish(rng, numberArg(args, 32)) },
  digits: {
    args: [],
    numeric: true,
    // Never Luhn-valid: an order number must not be a card by accident.
    generate: (rng, args) => drawDigits(rng, () => String(between(rng, 1, 9)) + chars(rng, DIGITS, numberArg(args, 16) - 1), (s) => !luhnValid(s)),
  },
  'bytes-base64': { args: [], numeric: true, generate: (rng, args) => base64(randomBytes(rng, numberArg(args, 48))) },
  'bytes-base64url': { args: [], numeric: true, generate: (rng, args) => base64url(randomBytes(rng, numberArg(args, 48))) },
  'png-base64': { args: [], generate: (rng) => base64(Buffer.concat([PNG_HEADER, randomBytes(rng, 120)])) },
};

/** Encoders wrap text (which may hold placeholders of its own): {{base64:...}}. */
const ENCODERS: Readonly<Record<string, (text: string) => string>> = {
  base64,
  base64url,
  percent: encodeURIComponent,
  'percent-all': percentAll,
};

export const generatorNames = (): string[] => Object.keys(GENERATORS);
export const encoderNames = (): string[] => Object.keys(ENCODERS);

/** One fake value: `generate('payment-card', ['amex', 'spaces'], rng)`. Unknown names or args throw. */
export function generate(name: string, args: readonly string[], rng: Rng): string {
  const spec = GENERATORS[name];
  if (spec === undefined) throw new Error(`fakes: unknown generator "${name}"`);
  if (spec.numeric) {
    if (args.length > 1 || (args.length === 1 && !/^\d+$/.test(args[0]!))) throw new Error(`fakes: ${name} takes one number, got "${args.join(':')}"`);
  } else {
    for (const arg of args) if (!spec.args.includes(arg) && !/^\d+$/.test(arg)) throw new Error(`fakes: ${name} has no variant "${arg}" (known: ${spec.args.join(', ')})`);
  }
  return spec.generate(rng, args);
}

// ------------------------------------------------------------------ placeholder expansion

/**
 * Expands every placeholder in `text` (grammar in the corpus README). `caseName` seeds the
 * values: the n-th placeholder of a case draws from rngFor(caseName, n), or from
 * rngFor(caseName, '#tag') when it carries a tag, so equal tags give equal values.
 */
export function expandPlaceholders(text: string, caseName: string): string {
  let slot = 0;
  let at = 0;

  const fail = (why: string): never => {
    throw new Error(`placeholder in case "${caseName}" at offset ${at}: ${why}`);
  };

  /** Reads text up to the end, or (nested) up to the `}}` that closes the enclosing encoder. */
  function readText(nested: boolean): string {
    let out = '';
    let braces = 0;
    while (at < text.length) {
      if (text.startsWith('{{{{', at)) {
        out += '{{';
        at += 4;
      } else if (text.startsWith('{{', at) && /[a-z]/.test(text[at + 2] ?? '')) {
        at += 2;
        out += readPlaceholder();
      } else if (nested && braces === 0 && text.startsWith('}}', at)) {
        return out;
      } else {
        const ch = text[at]!;
        if (nested && ch === '{') braces++;
        if (nested && ch === '}') braces--;
        out += ch;
        at++;
      }
    }
    if (nested) fail('an encoder is not closed with }}');
    return out;
  }

  function readPlaceholder(): string {
    const name = /^[a-z][a-z0-9-]*/.exec(text.slice(at))![0];
    at += name.length;
    const encoder = ENCODERS[name];
    if (encoder !== undefined) {
      if (text[at] !== ':') fail(`encoder ${name} needs ":<text>"`);
      at++;
      slot++;
      const inner = readText(true);
      at += 2;
      return encoder(inner);
    }
    const close = text.indexOf('}}', at);
    if (close < 0) fail(`{{${name} is not closed`);
    const rest = text.slice(at, close);
    const match = /^((?::[A-Za-z0-9-]+)*)(?:#([A-Za-z0-9-]+))?$/.exec(rest);
    if (match === null) fail(`bad arguments "${rest}" for ${name}`);
    at = close + 2;
    const args = match![1] ? match![1].slice(1).split(':') : [];
    const tag = match![2];
    const rng = tag === undefined ? rngFor(caseName, String(slot)) : rngFor(caseName, `#${tag}`);
    slot++;
    return generate(name, args, rng);
  }

  return readText(false);
}
