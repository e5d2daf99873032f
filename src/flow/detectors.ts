/**
 * The built-in detectors: secrets in well-known token formats, personal data backed by
 * checksums or strict shapes, and network addresses. Each is anchored on something cheap to
 * find (a literal prefix, `@`, `://`, a run of digits) and confirmed by a strict pattern and,
 * where the format has one, its checksum, so that the scanner never runs an unanchored
 * expression over a whole text. `scan.ts` drives them; this module only knows formats.
 */
import { entropy, githubChecksum, iban, isPlaceholder, lowVariety, luhn } from './checks.ts';
import type { LevelName } from './levels.ts';

export type DetectorKind = 'secret' | 'pii' | 'network';

export interface DetectorInfo {
  readonly id: string;
  readonly kind: DetectorKind;
  readonly level: LevelName;
  readonly confidence: number;
  readonly description: string;
}

/** One match, before the scanner turns it into a finding. */
export interface Hit {
  readonly id: string;
  readonly start: number;
  readonly end: number;
  /** When it differs from the detector's (a Stripe test key is less sensitive than a live one). */
  readonly level?: LevelName;
}

const info = (id: string, kind: DetectorKind, level: LevelName, confidence: number, description: string): DetectorInfo => ({ id, kind, level, confidence, description });

export const DETECTORS: readonly DetectorInfo[] = [
  info('aws-access-key-id', 'secret', 'RESTRICTED', 0.95, 'AWS access key id (AKIA…, ASIA…)'),
  info('aws-secret-access-key', 'secret', 'RESTRICTED', 0.9, 'AWS secret access key assigned to an AWS key name'),
  info('github-token', 'secret', 'RESTRICTED', 0.99, 'GitHub token (gh[pousr]_ with a valid CRC32 checksum, github_pat_)'),
  info('gitlab-token', 'secret', 'RESTRICTED', 0.95, 'GitLab personal access token (glpat-)'),
  info('slack-token', 'secret', 'RESTRICTED', 0.95, 'Slack bot, user or app token (xoxb-, xoxp-, …)'),
  info('slack-webhook', 'secret', 'RESTRICTED', 0.99, 'Slack incoming webhook URL'),
  info('discord-webhook', 'secret', 'RESTRICTED', 0.99, 'Discord webhook URL'),
  info('telegram-bot-token', 'secret', 'RESTRICTED', 0.9, 'Telegram bot token'),
  info('stripe-key', 'secret', 'RESTRICTED', 0.95, 'Stripe secret or restricted key (live: RESTRICTED, test: SENSITIVE)'),
  info('square-token', 'secret', 'RESTRICTED', 0.95, 'Square access token or OAuth secret'),
  info('openai-api-key', 'secret', 'RESTRICTED', 0.95, 'OpenAI API key'),
  info('anthropic-api-key', 'secret', 'RESTRICTED', 0.99, 'Anthropic API key'),
  info('google-api-key', 'secret', 'RESTRICTED', 0.9, 'Google API key (AIza…)'),
  info('npm-token', 'secret', 'RESTRICTED', 0.95, 'npm access token'),
  info('private-key', 'secret', 'RESTRICTED', 0.99, 'PEM private key block (RSA, EC, DSA, OpenSSH, PKCS#8, PGP)'),
  info('jwt', 'secret', 'RESTRICTED', 0.95, 'JSON Web Token whose header and payload decode to JSON'),
  info('database-url', 'secret', 'RESTRICTED', 0.95, 'Database or broker URL with a password (the password is the finding)'),
  info('generic-secret', 'secret', 'RESTRICTED', 0.8, 'A random-looking value assigned to a key named password, secret, token, api key, …'),
  info('email', 'pii', 'SENSITIVE', 0.9, 'Email address (documentation domains excluded)'),
  info('phone', 'pii', 'SENSITIVE', 0.7, 'Phone number: international (+CC) or North-American formatted'),
  info('payment-card', 'pii', 'RESTRICTED', 0.95, 'Payment card number (issuer prefix, length, Luhn)'),
  info('iban', 'pii', 'SENSITIVE', 0.95, 'IBAN (country length, mod-97)'),
  info('us-ssn', 'pii', 'RESTRICTED', 0.85, 'US Social Security number, formatted, invalid ranges excluded'),
  info('ip-address', 'network', 'INTERNAL', 0.8, 'IPv4 or IPv6 address'),
];

export const DETECTOR_IDS: ReadonlySet<string> = new Set(DETECTORS.map((d) => d.id));

// --- character classes --------------------------------------------------------------------

const isAlnum = (c: number) => (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
const isDigit = (c: number) => c >= 48 && c <= 57;

// --- tokens with a literal prefix ------------------------------------------------------------

interface TokenRule {
  readonly id: string;
  readonly re: RegExp; // sticky, matches the whole token from the anchor
  readonly valid?: (token: string) => boolean;
  readonly level?: (token: string) => LevelName;
  /** Characters that may not follow the token (default: letters and digits). */
  readonly stop?: RegExp;
}

const TOKEN_TAIL = /[A-Za-z0-9_-]/;
const ALNUM = /[A-Za-z0-9]/;
/**
 * A token body that looks random: varied characters, and no placeholder word unless the body
 * is long and dense enough that the word is chance (a 60-character random body holds "your"
 * now and then).
 */
const randomEnough = (body: string, distinct: number) => !lowVariety(body, distinct) && !(isPlaceholder(body) && (body.length < 24 || entropy(body) < 4));

const TOKEN_RULES: readonly TokenRule[] = [
  { id: 'aws-access-key-id', re: /(?:AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16}/y, valid: (t) => randomEnough(t.slice(4), 6) },
  { id: 'google-api-key', re: /AIza[0-9A-Za-z_-]{35}/y, valid: (t) => randomEnough(t.slice(4), 10), stop: TOKEN_TAIL },
  { id: 'github-token', re: /gh[pousr]_[A-Za-z0-9]{36}/y, valid: githubChecksum },
  { id: 'github-token', re: /github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59}/y, valid: (t) => randomEnough(t.slice(11), 12) },
  { id: 'gitlab-token', re: /glpat-[A-Za-z0-9_-]{20}/y, valid: (t) => randomEnough(t.slice(6), 8), stop: TOKEN_TAIL },
  { id: 'slack-token', re: /xox[abpre]-\d{8,13}-\d{8,13}(?:-\d{8,13})?-[A-Za-z0-9]{24,32}/y, valid: (t) => randomEnough(t.slice(t.lastIndexOf('-') + 1), 10) },
  {
    id: 'stripe-key',
    re: /[sr]k_(?:live|test)_[A-Za-z0-9]{24,99}/y,
    valid: (t) => randomEnough(t.slice(8), 10),
    level: (t) => (t.includes('_live_') ? 'RESTRICTED' : 'SENSITIVE'),
  },
  { id: 'square-token', re: /sq0(?:atp|csp)-[A-Za-z0-9_-]{22,43}/y, valid: (t) => randomEnough(t.slice(7), 10), stop: TOKEN_TAIL },
  { id: 'anthropic-api-key', re: /sk-ant-[a-z]+\d\d-[A-Za-z0-9_-]{80,120}/y, valid: (t) => randomEnough(t.slice(14), 16), stop: TOKEN_TAIL },
  { id: 'openai-api-key', re: /sk-(?:proj|svcacct|admin)-[A-Za-z0-9_-]{40,200}/y, valid: (t) => randomEnough(t.slice(8), 16), stop: TOKEN_TAIL },
  { id: 'openai-api-key', re: /sk-[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20}/y },
  { id: 'npm-token', re: /npm_[A-Za-z0-9]{36}/y, valid: (t) => randomEnough(t.slice(4), 10) },
];

/** Anchor text → the rules to try there (by the anchor's first two characters). */
const RULES_BY_PREFIX = new Map<string, TokenRule[]>();
for (const rule of TOKEN_RULES) {
  const source = rule.re.source;
  const heads = source.startsWith('(?:AKIA') ? ['AK', 'AS', 'AB', 'AC'] : source.startsWith('[sr]k') ? ['sk', 'rk'] : [source.slice(0, 2)];
  for (const head of heads) RULES_BY_PREFIX.set(head, [...(RULES_BY_PREFIX.get(head) ?? []), rule]);
}

export function tokenAt(text: string, at: number, out: Hit[]): number {
  const rules = RULES_BY_PREFIX.get(text.slice(at, at + 2));
  if (!rules || isAlnum(text.charCodeAt(at - 1))) return at + 1;
  for (const rule of rules) {
    rule.re.lastIndex = at;
    const m = rule.re.exec(text);
    if (!m) continue;
    const end = at + m[0].length;
    const next = text.charAt(end);
    if ((rule.stop ?? ALNUM).test(next)) continue;
    if (rule.valid && !rule.valid(m[0])) continue;
    const level = rule.level?.(m[0]);
    out.push(level ? { id: rule.id, start: at, end, level } : { id: rule.id, start: at, end });
    return end;
  }
  return at + 1;
}

// --- JSON Web Tokens and PEM private keys ---------------------------------------------------

/** Segments are bounded: inside a long base64 blob, every `eyJ` would otherwise walk the rest of it. */
const JWT = /eyJ[A-Za-z0-9_-]{4,4096}\.[A-Za-z0-9_-]{4,16384}\.[A-Za-z0-9_-]{0,4096}/y;

function jsonObject(segment: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

export function jwtAt(text: string, at: number, out: Hit[]): number {
  if (isAlnum(text.charCodeAt(at - 1))) return at + 1;
  JWT.lastIndex = at;
  const m = JWT.exec(text);
  if (!m) return at + 1;
  const token = m[0];
  const end = at + token.length;
  if (/[A-Za-z0-9_.-]/.test(text.charAt(end))) return at + 1;
  const [header, payload, signature] = token.split('.') as [string, string, string];
  const head = jsonObject(header);
  if (!head || typeof head.alg !== 'string' || !jsonObject(payload)) return at + 1;
  if (signature === '' && head.alg.toLowerCase() !== 'none') return at + 1;
  out.push({ id: 'jwt', start: at, end });
  return end;
}

const PEM_BEGIN = /-----BEGIN ((?:[A-Z0-9]+ )*)PRIVATE KEY( BLOCK)?-----/y;

/** Where one scan has already looked for an END line and not found it (per marker). */
export type PemMemo = Map<string, number>;

export function privateKeyAt(text: string, at: number, out: Hit[], memo: PemMemo = new Map()): number {
  PEM_BEGIN.lastIndex = at;
  const m = PEM_BEGIN.exec(text);
  if (!m) return at + 1;
  const endMarker = `-----END ${m[1]}PRIVATE KEY${m[2] ?? ''}-----`;
  const bodyStart = at + m[0].length;
  // Keys are a few KiB; a marker further away than this is not this block's end. Each search
  // starts where the last one for this marker stopped, so many headers without an end (or a
  // text of nothing but headers) cost one pass, not one pass per header.
  const limit = bodyStart + 65_536 + endMarker.length;
  const from = Math.max(bodyStart, (memo.get(endMarker) ?? 0) - endMarker.length + 1);
  const found = from >= limit ? -1 : text.slice(from, limit).indexOf(endMarker);
  if (found === -1) {
    memo.set(endMarker, Math.min(limit, text.length));
    return bodyStart;
  }
  return privateKeyBody(text, at, bodyStart, from + found, endMarker, out);
}

function privateKeyBody(text: string, at: number, bodyStart: number, close: number, endMarker: string, out: Hit[]): number {
  const body = text.slice(bodyStart, close);
  // Another block begins before this one ends: this header has no body of its own.
  if (body.includes('-----BEGIN')) return bodyStart;
  // The body may carry headers (Proc-Type: …) and escaped newlines from JSON or code (\n).
  const base64 = body.replace(/\\[nr]|[A-Za-z-]+:[^\n]*\n|\s/g, '');
  if (base64.length < 64 || !/^[A-Za-z0-9+/=]+$/.test(base64)) return bodyStart;
  out.push({ id: 'private-key', start: at, end: close + endMarker.length });
  return close + endMarker.length;
}

// --- URLs: webhooks and database URLs with passwords ----------------------------------------

const SLACK_WEBHOOK = /https:\/\/hooks\.slack\.com\/services\/T[A-Z0-9]{8,}\/B[A-Z0-9]{8,}\/[A-Za-z0-9]{24}(?![A-Za-z0-9])/y;
const DISCORD_WEBHOOK = /https:\/\/(?:discord|discordapp)\.com\/api\/webhooks\/\d{17,20}\/[A-Za-z0-9_-]{60,68}(?![A-Za-z0-9_-])/y;
const DB_URL = /(?:postgres|postgresql|mysql|mariadb|mongodb|mongodb\+srv|redis|rediss|amqp|amqps|mssql|sqlserver):\/\/([^\s:/@"'`<>]*):([^\s/@"'`<>]+)@[A-Za-z0-9[._-]/y;
const DB_PLACEHOLDER = /^(?:password|passwd|pass|pwd|secret|changeme|root|admin|user|test|guest|\*+|x+|\.+)$/i;

/** At `://`: looks back for the scheme and tries the URL detectors from there. */
export function urlAt(text: string, at: number, out: Hit[]): number {
  let start = at;
  while (start > 0 && start > at - 16 && /[a-z+]/.test(text.charAt(start - 1))) start--;
  if (start === at) return at + 3;
  for (const [re, id] of [
    [SLACK_WEBHOOK, 'slack-webhook'],
    [DISCORD_WEBHOOK, 'discord-webhook'],
  ] as const) {
    re.lastIndex = start;
    const m = re.exec(text);
    if (m) {
      // Fillers (`XXXXXXXX`) and documented examples are not webhooks anyone can call.
      if (!randomEnough(m[0].slice(m[0].lastIndexOf('/') + 1), 10)) return start + m[0].length;
      out.push({ id, start, end: start + m[0].length });
      return start + m[0].length;
    }
  }
  if (isAlnum(text.charCodeAt(start - 1))) return at + 3;
  DB_URL.lastIndex = start;
  const m = DB_URL.exec(text);
  if (!m) return at + 3;
  const password = m[2]!;
  if (DB_PLACEHOLDER.test(password) || isPlaceholder(password) || /^\$\w+$|^%[sd]$/.test(password)) return at + 3;
  // The finding is the password: the rest of the URL stays readable after redaction.
  const passwordStart = start + m[0].length - 2 - password.length;
  out.push({ id: 'database-url', start: passwordStart, end: passwordStart + password.length });
  return passwordStart + password.length;
}

/** `12345678:AA…`: a Telegram bot token, anchored on `:AA`. */
export function telegramAt(text: string, at: number, out: Hit[]): number {
  let start = at;
  while (start > at - 10 && isDigit(text.charCodeAt(start - 1))) start--;
  const digits = at - start;
  // Glued to letters it is something else, except in the Bot API's own URL (`/bot<token>/`).
  if (digits < 8 || (isAlnum(text.charCodeAt(start - 1)) && text.slice(start - 4, start) !== '/bot')) return at + 3;
  const tail = /[A-Za-z0-9_-]{33}/y;
  tail.lastIndex = at + 3;
  if (!tail.exec(text) || /[A-Za-z0-9_-]/.test(text.charAt(at + 36))) return at + 3;
  if (!randomEnough(text.slice(at + 3, at + 36), 12)) return at + 3;
  out.push({ id: 'telegram-bot-token', start, end: at + 36 });
  return at + 36;
}

// --- email ----------------------------------------------------------------------------------

const LOCAL_CHAR = /[A-Za-z0-9._%+-]/;
const DOMAIN = /[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+/y;
const DOC_DOMAIN = /(?:^|\.)(?:example\.(?:com|org|net)|example|test|invalid|localhost)$/i;
const FILE_TLD = /^(?:png|jpe?g|gif|svg|webp|ico|bmp|js|mjs|cjs|ts|tsx|jsx|css|json|html?|xml|ya?ml|txt|pdf|zip|gz|tar|exe|dll|so|min)$/i;

/** Whether the text before `start` opens a URL authority (`scheme://…`) that `start` is still inside. */
function userinfo(text: string, start: number): boolean {
  for (let i = start - 1; i >= 0 && start - i < 256; i--) {
    const c = text.charCodeAt(i);
    if (c <= 32 || c === 34 || c === 39 || c === 60 || c === 62 || c === 96 || c === 63 || c === 35) return false;
    // The authority ends at the first `/` after `://`: an `@` in the path or query is not userinfo.
    if (c === 47) return text.charCodeAt(i - 1) === 47 && text.charCodeAt(i - 2) === 58;
  }
  return false;
}

export function emailAt(text: string, at: number, out: Hit[]): number {
  let start = at;
  while (start > 0 && at - start < 64 && LOCAL_CHAR.test(text.charAt(start - 1))) start--;
  if (start === at) return at + 1;
  // `scheme://user:password@host` is URL userinfo, not a mail address (`mailto:` is one).
  if (userinfo(text, start)) return at + 1;
  const local = text.slice(start, at);
  if (local.startsWith('.') || local.endsWith('.') || local.includes('..')) return at + 1;
  DOMAIN.lastIndex = at + 1;
  const m = DOMAIN.exec(text);
  if (!m) return at + 1;
  let domain = m[0];
  while (domain.endsWith('-') || domain.endsWith('.')) domain = domain.slice(0, -1);
  const labels = domain.split('.');
  const tld = labels.at(-1)!;
  if (labels.length < 2 || !/^[A-Za-z]{2,24}$/.test(tld) || labels.some((l) => l === '' || l.startsWith('-') || l.endsWith('-'))) return at + 1;
  if (DOC_DOMAIN.test(domain) || FILE_TLD.test(tld)) return at + 1;
  const end = at + 1 + domain.length;
  // `git@github.com:org/repo.git` is an ssh remote.
  if (text.charAt(end) === ':' && /[A-Za-z0-9_~/]/.test(text.charAt(end + 1))) return at + 1;
  out.push({ id: 'email', start, end });
  return end;
}

// --- numbers: payment cards, SSNs, phone numbers, IPv4 ---------------------------------------

const CARD_TEST_NUMBERS = new Set([
  '4111111111111111', '4242424242424242', '4012888888881881', '4000056655665556', '5555555555554444', '5105105105105100', '5200828282828210',
  '2223003122003222', '378282246310005', '371449635398431', '378734493671000', '6011111111111117', '6011000990139424', '3530111333300000',
  '3566002020360505', '30569309025904', '38520000023237', '36227206271667', '6200000000000005',
]);

function cardIssuer(d: string): boolean {
  const n = d.length;
  const p2 = Number(d.slice(0, 2));
  const p3 = Number(d.slice(0, 3));
  const p4 = Number(d.slice(0, 4));
  if (d[0] === '4') return n === 13 || n === 16 || n === 19;
  if ((p2 >= 51 && p2 <= 55) || (p4 >= 2221 && p4 <= 2720)) return n === 16;
  if (p2 === 34 || p2 === 37) return n === 15;
  if (p4 === 6011 || (p3 >= 644 && p3 <= 649) || p2 === 65) return n >= 16 && n <= 19;
  if (p4 >= 3528 && p4 <= 3589) return n >= 16 && n <= 19;
  if ((p3 >= 300 && p3 <= 305) || p2 === 36 || p2 === 38) return n === 14;
  return false;
}

/** Contiguous, or in the groupings issuers print: 4-4-4-4 (and -1 to -3 more), 4-6-5, 4-6-4. */
const CARD = /^\d{13,19}$|^(?:\d{4}([ -])\d{4}\1\d{4}\1\d{4}(?:\1\d{1,3})?|\d{4}([ -])\d{6}\2\d{4,5})$/;
const SSN = /^(\d{3})([- ])(\d{2})\2(\d{4})$/;
const NANP = /^(?:\+?1[ .-]?)?(?:\(([2-9]\d\d)\) ?|([2-9]\d\d)([.-]))([2-9]\d\d)[.-](\d{4})$/;
const INTERNATIONAL = /^\+(\d{1,3})(?:[ .-]?\(?\d{1,5}\)?){2,7}$/;
const VERSION_BEFORE = /(?:\bv|\bversion:?\s?)$/i;
const IPV4 = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

/** Characters that can be part of a formatted number. */
const NUM_CHAR = (c: number) => isDigit(c) || c === 32 || c === 45 || c === 46 || c === 40 || c === 41 || c === 43;

/**
 * At a digit: finds the run of number-like characters around it, splits it into candidate
 * spans (separated by double spaces or by single spaces that join unrelated numbers) and tries
 * every numeric detector on each. Returns where the next search should start.
 */
export function numberAt(text: string, at: number, out: Hit[]): number {
  let start = at;
  while (start > 0 && at - start < 40 && NUM_CHAR(text.charCodeAt(start - 1))) start--;
  let end = at;
  while (end < text.length && end - start < 64 && NUM_CHAR(text.charCodeAt(end))) end++;
  // Trim what cannot begin or end a number.
  while (start < end && !isDigit(text.charCodeAt(start)) && text.charCodeAt(start) !== 43 && !/^\(\d{3}\)/.test(text.slice(start, start + 5))) start++;
  while (end > start && !isDigit(text.charCodeAt(end - 1))) end--;
  // `2001:db8:…`: the digits begin an IPv6 address.
  if (text.charCodeAt(end) === 58 && end - start <= 4 && /^\d+$/.test(text.slice(start, end)) && /[0-9A-Fa-f]/.test(text.charAt(end + 1))) return ipv6At(text, end, out);
  if (end - start < 7) return Math.max(end, at + 1);
  // Glued to letters (`v1.2.3.4`, `id123456789`, hex hashes) or to more digits: not a number we judge.
  const before = text.charCodeAt(start - 1);
  const after = text.charCodeAt(end);
  if (isAlnum(before) || isAlnum(after) || before === 46 || (after === 46 && isDigit(text.charCodeAt(end + 1))) || before === 95 || after === 95) {
    return end;
  }
  judgeNumber(text, start, end, out);
  return end;
}

function judgeNumber(text: string, start: number, end: number, out: Hit[]): void {
  const run = text.slice(start, end);
  if (matchNumber(text, run, start, out)) return;
  // A run such as "call 555-123-4567 or 555-765-4321" holds several numbers separated by spaces.
  if (run.includes(' ')) {
    let offset = 0;
    for (const part of run.split(/ {2,}| (?=[+(])|(?<=\d) (?=\d{3}[.-]\d)/)) {
      const partStart = run.indexOf(part, offset);
      offset = partStart + part.length;
      if (part.length >= 7 && /^[+(\d]/.test(part) && /\d$/.test(part)) matchNumber(text, part, start + partStart, out);
    }
  }
}

function matchNumber(text: string, run: string, start: number, out: Hit[]): boolean {
  const end = start + run.length;
  if (IPV4.test(run)) {
    // `v1.2.3.4`, `version 10.0.0.1`: a four-part version number, not an address.
    if (!VERSION_BEFORE.test(text.slice(Math.max(0, start - 9), start))) out.push({ id: 'ip-address', start, end });
    return true;
  }
  if (CARD.test(run)) {
    const digits = run.replace(/[ -]/g, '');
    if (cardIssuer(digits) && luhn(digits) && !CARD_TEST_NUMBERS.has(digits)) {
      out.push({ id: 'payment-card', start, end });
      return true;
    }
  }
  const ssn = SSN.exec(run);
  if (ssn) {
    const area = Number(ssn[1]);
    const valid = area !== 0 && area !== 666 && area < 900 && ssn[3] !== '00' && ssn[4] !== '0000' && run !== '078-05-1120' && run !== '219-09-9999';
    if (valid) out.push({ id: 'us-ssn', start, end });
    return valid;
  }
  if (NANP.test(run)) {
    out.push({ id: 'phone', start, end });
    return true;
  }
  if (INTERNATIONAL.test(run)) {
    const digits = run.replace(/\D/g, '').length;
    if (digits >= 8 && digits <= 15) {
      out.push({ id: 'phone', start, end });
      return true;
    }
  }
  return false;
}

// --- IBAN ---------------------------------------------------------------------------------

const IBAN_SHAPE = /[A-Z]{2}\d{2}(?:[A-Z0-9]{11,30}|(?: [A-Z0-9]{4}){2,7}(?: [A-Z0-9]{1,4})?)/y;

export function ibanAt(text: string, at: number, out: Hit[]): number {
  if (isAlnum(text.charCodeAt(at - 1))) return at + 1;
  IBAN_SHAPE.lastIndex = at;
  const m = IBAN_SHAPE.exec(text);
  if (!m) return at + 1;
  // The spaced form may have swallowed the next word's first letters: try shorter endings too.
  let candidate = m[0];
  while (candidate.length >= 15) {
    if (!isAlnum(text.charCodeAt(at + candidate.length)) && iban(candidate.replace(/ /g, ''))) {
      out.push({ id: 'iban', start: at, end: at + candidate.length });
      return at + candidate.length;
    }
    const space = candidate.lastIndexOf(' ');
    if (space === -1) break;
    candidate = candidate.slice(0, space);
  }
  return at + 1;
}

// --- IPv6 ---------------------------------------------------------------------------------

const IPV6_RUN = /[0-9A-Fa-f:.]/;

/** At `::` or at a hex group followed by `:`: an IPv6 address when the run parses as one. */
export function ipv6At(text: string, at: number, out: Hit[]): number {
  let start = at;
  while (start > 0 && at - start < 40 && IPV6_RUN.test(text.charAt(start - 1))) start--;
  let end = at;
  while (end < text.length && end - start < 45 && IPV6_RUN.test(text.charAt(end))) end++;
  while (end > start && (text.charAt(end - 1) === '.' || (text.charAt(end - 1) === ':' && text.charAt(end - 2) !== ':'))) end--;
  const candidate = text.slice(start, end);
  if (/[G-Zg-z_]/.test(text.charAt(start - 1)) || /[G-Zg-z_]/.test(text.charAt(end))) return Math.max(end, at + 2);
  // `items[0::2]` is a slice: a subscript of something named, not an address in brackets.
  if (text.charAt(start - 1) === '[' && /[\w)\]]/.test(text.charAt(start - 2))) return Math.max(end, at + 2);
  if (ipv6(candidate)) out.push({ id: 'ip-address', start, end });
  return Math.max(end, at + 2);
}

function ipv6(s: string): boolean {
  const colons = s.split(':').length - 1;
  if (colons < 2 || s === '::') return false;
  const double = s.indexOf('::');
  if (double !== -1 && s.indexOf('::', double + 1) !== -1) return false;
  let groups = s.split(':');
  let expected = 8;
  const last = groups.at(-1)!;
  if (last.includes('.')) {
    if (!IPV4.test(last)) return false;
    groups = groups.slice(0, -1);
    expected = 6;
  }
  if (double === -1) {
    // Eight full groups; six colon-separated pairs of two hex digits are a MAC address, not this.
    return groups.length === expected && groups.every((g) => /^[0-9A-Fa-f]{1,4}$/.test(g));
  }
  const filled = groups.filter((g) => g !== '');
  if (filled.length >= expected || !filled.every((g) => /^[0-9A-Fa-f]{1,4}$/.test(g))) return false;
  // `std::vector`, `a::b`: a lone `::` between words is a scope operator, not an address.
  return filled.length > 0 || expected === 6;
}

// --- generic `key = value` assignments ------------------------------------------------------

const SECRET_KEY_END = /(?:passw(?:or)?d|pwd|secret|token|api[_-]?key|apikey|access[_-]?key|auth[_-]?key|private[_-]?key|secret[_-]?key|credentials?)$/i;
const AWS_SECRET_KEY = /aws.{0,4}secret|secret.?access.?key/i;
const AWS_WORDS = /aws[ _-]secret(?:[ _-]access)?[ _-]key$/i;
const KEY_CHAR = /[A-Za-z0-9_.-]/;
const isKeyTail = (c: number) => isAlnum(c) || c === 95 || c === 45;
/** After the key: optional closing quote, `=`, `:`, `:=` or `=>`, optional opening quote. */
const ASSIGNMENT = /["']?\s{0,4}(?::=|=>|[:=])\s{0,4}(["'`]?)/y;
const REFERENCE = /^(?:process\.env|os\.environ|os\.getenv|env\(|getenv|config\.|settings\.|vault:|secret:|ref\(|\$\{|\$\(|\$[A-Z_]|tok_[a-z2-7]{16}$)/i;
const LITERAL_WORDS = /^(?:null|none|nil|undefined|true|false|yes|no|on|off|required|optional|string|number|boolean|secret|password|token)$/i;

/**
 * At a keyword (`password`, `token`, `secret`, `api_key` …): when it ends a key that is
 * assigned a value, and the value looks random rather than a placeholder, a reference or a
 * word, reports the value.
 */
export function assignmentAt(text: string, at: number, out: Hit[]): number {
  let keyEnd = at;
  while (keyEnd < text.length && keyEnd - at < 48 && isKeyTail(text.charCodeAt(keyEnd))) keyEnd++;
  // Most key words in text are not keys being assigned: look for the assignment first.
  if (!/^["']?\s{0,4}(?::|=)/.test(text.slice(keyEnd, keyEnd + 6))) return keyEnd;
  let keyStart = at;
  while (keyStart > 0 && at - keyStart < 48 && KEY_CHAR.test(text.charAt(keyStart - 1))) keyStart--;
  let key = text.slice(keyStart, keyEnd);
  // "AWS Secret Key = …", "aws secret access key: …": the name written as words.
  const words = AWS_WORDS.exec(text.slice(Math.max(0, keyStart - 24), keyEnd));
  if (words) key = words[0];
  if (!SECRET_KEY_END.test(key) && !words) return keyEnd;
  ASSIGNMENT.lastIndex = keyEnd;
  const a = ASSIGNMENT.exec(text);
  if (!a) return keyEnd;
  // `x-access-token:ghs_…@github.com`, `arn:…:secret:prod/db`: a colon with nothing after it
  // is an assignment only after a quoted key (JSON).
  const quotedKey = /["']/.test(text.charAt(keyStart - 1)) || /["']/.test(text.charAt(keyEnd));
  if (/^["']?:["'`]?$/.test(a[0]) && !quotedKey) return keyEnd;
  const quote = a[1]!;
  const valueStart = keyEnd + a[0].length;
  let valueEnd = valueStart;
  if (quote) {
    const close = text.indexOf(quote, valueStart);
    if (close === -1 || close - valueStart > 200) return keyEnd;
    valueEnd = close;
  } else {
    while (valueEnd < text.length && valueEnd - valueStart <= 200 && !/[\s"'`,;}\])]/.test(text.charAt(valueEnd))) valueEnd++;
  }
  const value = text.slice(valueStart, valueEnd);
  if (value.length < 8 || value.length > 200 || /\s/.test(value)) return keyEnd;
  if (isPlaceholder(value) || REFERENCE.test(value) || LITERAL_WORDS.test(value) || /^[a-z]+(?:[_-][a-z]+)*$/.test(value)) return keyEnd;
  // A call, a path or a URL is not a secret value (`getToken()`, `/run/secrets/db`, `https://…`).
  if (/^[\w.]+\(.*\)?$|^\/|^\w+:\/\//.test(value)) return keyEnd;
  const mixed = /[A-Za-z]/.test(value) && /\d/.test(value);
  if (!(mixed || entropy(value) >= 3.5) || lowVariety(value, 6)) return keyEnd;
  const aws = AWS_SECRET_KEY.test(key) && /^[A-Za-z0-9/+]{40}$/.test(value);
  out.push({ id: aws ? 'aws-secret-access-key' : 'generic-secret', start: valueStart, end: valueEnd });
  return valueEnd;
}
