/**
 * The fake-value generators and the corpus loader, on their own (no detector involved): each
 * valid variant passes the format's own check, computed here independently of fakes.ts; each
 * near miss fails exactly the one check it is named for; values are deterministic; the
 * placeholder grammar expands as README.md says; and the corpus is well formed, covers every
 * detector, and commits no secret-shaped literal.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { isIPv4, isIPv6 } from 'node:net';
import { join } from 'node:path';
import { crc32 as zlibCrc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { CORPUS_DIR, loadCorpus } from './corpus.ts';
import { base62, CARD_ISSUERS, expandPlaceholders, generate, generatorNames, githubChecksum, IBAN_COUNTRIES, ibanValid, luhnValid, mulberry32, rngFor } from './fakes.ts';
import { DETECTORS } from './metrics.ts';

/** 200 values of one generator variant, each from its own seed. */
const sample = (name: string, args: string[] = [], n = 200): string[] => Array.from({ length: n }, (_, i) => generate(name, args, rngFor(`sample ${name}:${args.join(':')}`, String(i))));

// ---------------------------------------------------------------- independent checks

/** Luhn by doubling from the right, written differently from fakes.ts on purpose. */
function luhn(digits: string): boolean {
  const sum = [...digits].reverse().reduce((acc, ch, i) => {
    const d = Number(ch) * (i % 2 ? 2 : 1);
    return acc + Math.floor(d / 10) + (d % 10);
  }, 0);
  return /^\d+$/.test(digits) && sum % 10 === 0;
}

/** ISO 13616 mod 97 with BigInt. */
function mod97(iban: string): bigint {
  const c = iban.replace(/ /g, '');
  const numeric = [...(c.slice(4) + c.slice(0, 4))].map((ch) => (/\d/.test(ch) ? ch : String(ch.charCodeAt(0) - 55))).join('');
  return BigInt(numeric) % 97n;
}

/** Base62 with BigInt, alphabet 0-9A-Za-z, padded to 6. */
function b62(n: number): string {
  const alphabet = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
  let v = BigInt(n);
  let out = '';
  while (v > 0n) {
    out = alphabet[Number(v % 62n)] + out;
    v /= 62n;
  }
  return out.padStart(6, '0');
}

const githubValid = (token: string): boolean => {
  const m = /^gh[pousr]_([A-Za-z0-9]{30})([A-Za-z0-9]{6})$/.exec(token);
  return m !== null && b62(zlibCrc32(m[1]!) >>> 0) === m[2];
};

function decodeJson(segment: string): unknown {
  try {
    return JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
}
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function cardIssuerLengths(d: string): number[] {
  const p = (k: number) => Number(d.slice(0, k));
  if (d.startsWith('4')) return [13, 16, 19];
  if ((p(2) >= 51 && p(2) <= 55) || (p(4) >= 2221 && p(4) <= 2720)) return [16];
  if (p(2) === 34 || p(2) === 37) return [15];
  if (p(4) === 6011 || (p(3) >= 644 && p(3) <= 649) || p(2) === 65) return [16, 17, 18, 19];
  if (p(4) >= 3528 && p(4) <= 3589) return [16, 17, 18, 19];
  if ((p(3) >= 300 && p(3) <= 305) || p(2) === 36 || p(2) === 38) return [14];
  return [];
}

const TEST_CARDS = ['4111111111111111', '4242424242424242', '5555555555554444', '378282246310005', '6011111111111117', '4000056655665556', '5105105105105100', '371449635398431'];

// ---------------------------------------------------------------- PRNG and checksums

describe('PRNG and checksum helpers', () => {
  it('mulberry32 is deterministic per seed and differs across seeds', () => {
    const a = mulberry32(42);
    const b = mulberry32(42);
    const seqA = Array.from({ length: 5 }, a);
    expect(Array.from({ length: 5 }, b)).toEqual(seqA);
    expect(Array.from({ length: 5 }, mulberry32(43))).not.toEqual(seqA);
    for (const x of seqA) expect(x >= 0 && x < 1).toBe(true);
  });

  it('rngFor gives each case and slot its own stream', () => {
    expect(rngFor('case a', '0')()).toBe(rngFor('case a', '0')());
    expect(rngFor('case a', '0')()).not.toBe(rngFor('case a', '1')());
    expect(rngFor('case a', '0')()).not.toBe(rngFor('case b', '0')());
  });

  it('base62 and the GitHub checksum match an independent computation', () => {
    expect(base62(0)).toBe('000000');
    expect(base62(61)).toBe('00000z');
    expect(base62(62)).toBe('000010');
    expect(base62(0xffffffff)).toBe(b62(0xffffffff));
    expect(zlibCrc32('123456789') >>> 0).toBe(0xcbf43926);
    for (const s of ['abc', 'A'.repeat(30), 'Zx09'.repeat(7) + 'ab']) expect(githubChecksum(s)).toBe(b62(zlibCrc32(s) >>> 0));
  });

  it('Luhn and IBAN validators agree with known values', () => {
    for (const n of [...TEST_CARDS, '79927398713']) {
      expect(luhnValid(n)).toBe(true);
      expect(luhn(n)).toBe(true);
    }
    expect(luhnValid('4111111111111112')).toBe(false);
    expect(luhnValid('79927398710')).toBe(false);
    // Documented examples of ISO 13616 and of the German and British banks' specs.
    for (const iban of ['GB82WEST12345698765432', 'GB82 WEST 1234 5698 7654 32', 'DE89370400440532013000']) {
      expect(ibanValid(iban)).toBe(true);
      expect(mod97(iban)).toBe(1n);
    }
    expect(ibanValid('GB83WEST12345698765432')).toBe(false);
    expect(ibanValid('DE8937040044053201300')).toBe(false);
  });
});

// ---------------------------------------------------------------- secrets

describe('secret generators', () => {
  it('aws access key ids: valid prefixes and base32 tails; each near miss broken one way', () => {
    for (const prefix of ['akia', 'asia', 'abia', 'acca']) {
      for (const v of sample('aws-access-key-id', [prefix])) {
        expect(v).toMatch(new RegExp(`^${prefix.toUpperCase()}[A-Z2-7]{16}$`));
        expect(v.endsWith('EXAMPLE')).toBe(false);
        expect(new Set(v.slice(4)).size).toBeGreaterThan(8);
      }
    }
    for (const v of sample('aws-access-key-id', ['example'])) expect(v).toMatch(/^AKIA[A-Z2-7]{9}EXAMPLE$/);
    for (const v of sample('aws-access-key-id', ['short'])) expect(v).toMatch(/^AKIA[A-Z2-7]{15}$/);
    for (const v of sample('aws-access-key-id', ['aida'])) expect(v).toMatch(/^AIDA[A-Z2-7]{16}$/);
    for (const v of sample('aws-access-key-id', ['bad-charset'])) {
      expect(v).toMatch(/^AKIA[A-Z0-9]{16}$/);
      expect(v.slice(4).replace(/[A-Z2-7]/g, '')).toMatch(/^[0189]$/);
    }
    for (const v of sample('aws-access-key-id', ['lowercase'])) {
      expect(v).toMatch(/^AKIA[A-Za-z2-7]{16}$/);
      expect(v.replace(/[^a-z]/g, '')).toHaveLength(1);
    }
  });

  it('aws secret access keys are 40 characters of [A-Za-z0-9/+]; near misses 39 and 41', () => {
    for (const v of sample('aws-secret-access-key')) expect(v).toMatch(/^[A-Za-z0-9/+]{40}$/);
    for (const v of sample('aws-secret-access-key', ['short'])) expect(v).toMatch(/^[A-Za-z0-9/+]{39}$/);
    for (const v of sample('aws-secret-access-key', ['long'])) expect(v).toMatch(/^[A-Za-z0-9/+]{41}$/);
  });

  it('github tokens carry a valid CRC32 checksum; bad-checksum differs in exactly one checksum character', () => {
    for (const prefix of ['ghp', 'gho', 'ghu', 'ghs', 'ghr']) {
      for (const v of sample('github-token', [prefix])) {
        expect(v.startsWith(`${prefix}_`)).toBe(true);
        expect(githubValid(v)).toBe(true);
      }
    }
    for (const prefix of ['ghp', 'ghs']) {
      for (const v of sample('github-token', [prefix, 'bad-checksum'])) {
        expect(v).toMatch(/^gh[ps]_[A-Za-z0-9]{36}$/);
        expect(githubValid(v)).toBe(false);
        const right = b62(zlibCrc32(v.slice(4, 34)) >>> 0);
        expect([...right].filter((c, i) => c !== v[34 + i])).toHaveLength(1);
      }
    }
    for (const v of sample('github-token', ['short'])) {
      expect(v).toMatch(/^ghp_[A-Za-z0-9]{35}$/);
      expect(v.slice(-6)).toBe(b62(zlibCrc32(v.slice(4, 33)) >>> 0));
    }
    for (const v of sample('github-token', ['ghx'])) {
      expect(v).toMatch(/^ghx_[A-Za-z0-9]{36}$/);
      expect(githubValid(`ghp${v.slice(3)}`)).toBe(true);
    }
    for (const v of sample('github-token', ['fine-grained'])) expect(v).toMatch(/^github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59}$/);
    for (const v of sample('github-token', ['fine-grained-short'])) expect(v).toMatch(/^github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{58}$/);
  });

  it('slack tokens and webhooks follow the catalogue; near misses break one part', () => {
    for (const prefix of ['xoxb', 'xoxp', 'xoxa', 'xoxr', 'xoxe']) {
      for (const v of sample('slack-token', [prefix])) expect(v).toMatch(new RegExp(`^${prefix}-(?:[1-9]\\d{7,12}-){2,}[A-Za-z0-9]{24,32}$`));
    }
    for (const v of sample('slack-token', ['short-digits'])) expect(v).toMatch(/^xoxb-\d{7}-\d{7}-[A-Za-z0-9]{24}$/);
    for (const v of sample('slack-token', ['short-secret'])) expect(v).toMatch(/^xoxb-\d{10,13}-\d{10,13}-[A-Za-z0-9]{20}$/);
    for (const v of sample('slack-token', ['xoxz'])) expect(v).toMatch(/^xoxz-\d{10,13}-\d{10,13}-[A-Za-z0-9]{24}$/);
    for (const v of sample('slack-webhook')) expect(v).toMatch(/^https:\/\/hooks\.slack\.com\/services\/T[A-Z0-9]{8,}\/B[A-Z0-9]{8,}\/[A-Za-z0-9]{24}$/);
    for (const v of sample('slack-webhook', ['short-secret'])) expect(v).toMatch(/^https:\/\/hooks\.slack\.com\/services\/T[A-Z0-9]{8,}\/B[A-Z0-9]{8,}\/[A-Za-z0-9]{20}$/);
    for (const v of sample('slack-webhook', ['no-bot'])) expect(v).toMatch(/^https:\/\/hooks\.slack\.com\/services\/T[A-Z0-9]{8,}\/[A-Za-z0-9]{24}$/);
  });

  it('discord, telegram, stripe, square, gitlab, google and npm follow the catalogue', () => {
    const cases: Array<[string, string[], RegExp]> = [
      ['discord-webhook', [], /^https:\/\/discord\.com\/api\/webhooks\/\d{17,20}\/[A-Za-z0-9_-]{60,68}$/],
      ['discord-webhook', ['discordapp'], /^https:\/\/discordapp\.com\/api\/webhooks\/\d{17,20}\/[A-Za-z0-9_-]{60,68}$/],
      ['discord-webhook', ['short-id'], /^https:\/\/discord\.com\/api\/webhooks\/\d{15}\/[A-Za-z0-9_-]{68}$/],
      ['discord-webhook', ['short-token'], /^https:\/\/discord\.com\/api\/webhooks\/\d{17,19}\/[A-Za-z0-9_-]{50}$/],
      ['telegram-bot-token', [], /^\d{8,10}:AA[A-Za-z0-9_-]{33}$/],
      ['telegram-bot-token', ['no-aa'], /^\d{8,10}:AB[A-Za-z0-9_-]{33}$/],
      ['telegram-bot-token', ['short'], /^\d{8,10}:AA[A-Za-z0-9_-]{32}$/],
      ['telegram-bot-token', ['short-id'], /^\d{7}:AA[A-Za-z0-9_-]{33}$/],
      ['stripe-key', ['sk-live'], /^sk_live_[A-Za-z0-9]{24}$/],
      ['stripe-key', ['sk-test'], /^sk_test_[A-Za-z0-9]{24}$/],
      ['stripe-key', ['rk-live'], /^rk_live_[A-Za-z0-9]{24}$/],
      ['stripe-key', ['rk-test'], /^rk_test_[A-Za-z0-9]{24}$/],
      ['stripe-key', ['sk-live', 'long'], /^sk_live_[A-Za-z0-9]{99}$/],
      ['stripe-key', ['pk-live'], /^pk_live_[A-Za-z0-9]{24}$/],
      ['stripe-key', ['sk-live', 'short'], /^sk_live_[A-Za-z0-9]{20}$/],
      ['square-token', ['sq0atp'], /^sq0atp-[A-Za-z0-9_-]{22,43}$/],
      ['square-token', ['sq0csp'], /^sq0csp-[A-Za-z0-9_-]{22,43}$/],
      ['square-token', ['sq0atp', 'short'], /^sq0atp-[A-Za-z0-9_-]{16}$/],
      ['square-token', ['sq0xyz'], /^sq0xyz-[A-Za-z0-9_-]{22}$/],
      ['gitlab-token', [], /^glpat-[A-Za-z0-9][A-Za-z0-9_-]{18}[A-Za-z0-9]$/],
      ['gitlab-token', ['short'], /^glpat-[A-Za-z0-9_-]{19}$/],
      ['google-api-key', [], /^AIza[A-Za-z0-9_-]{35}$/],
      ['google-api-key', ['short'], /^AIza[A-Za-z0-9_-]{34}$/],
      ['google-api-key', ['bad-prefix'], /^AIzb[A-Za-z0-9_-]{35}$/],
      ['npm-token', [], /^npm_[A-Za-z0-9]{36}$/],
      ['npm-token', ['short'], /^npm_[A-Za-z0-9]{35}$/],
    ];
    for (const [name, args, re] of cases) for (const v of sample(name, args, 50)) expect(v, `${name}:${args.join(':')}`).toMatch(re);
  });

  it('openai and anthropic keys follow the catalogue; near misses break one part', () => {
    for (const v of sample('openai-api-key', ['proj'])) expect(v).toMatch(/^sk-proj-[A-Za-z0-9_-]{40,}$/);
    for (const v of sample('openai-api-key', ['svcacct'])) expect(v).toMatch(/^sk-svcacct-[A-Za-z0-9_-]{40,}$/);
    for (const v of sample('openai-api-key', ['legacy'])) expect(v).toMatch(/^sk-[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20}$/);
    for (const v of sample('openai-api-key', ['legacy-no-marker'])) {
      expect(v).toMatch(/^sk-[A-Za-z0-9]{48}$/);
      expect(v).not.toContain('T3BlbkFJ');
    }
    for (const v of sample('openai-api-key', ['proj', 'short'])) expect(v).toMatch(/^sk-proj-[A-Za-z0-9_-]{30}$/);
    for (const v of sample('anthropic-api-key', ['api03'])) expect(v).toMatch(/^sk-ant-api03-[A-Za-z0-9_-]{80,120}$/);
    for (const v of sample('anthropic-api-key', ['admin01'])) expect(v).toMatch(/^sk-ant-admin01-[A-Za-z0-9_-]{80,120}$/);
    for (const v of sample('anthropic-api-key', ['api03', 'short'])) expect(v).toMatch(/^sk-ant-api03-[A-Za-z0-9_-]{60}$/);
    for (const v of sample('anthropic-api-key', ['API03'])) expect(v).toMatch(/^sk-ant-API03-[A-Za-z0-9_-]{95}$/);
    for (const v of sample('anthropic-api-key', ['api'])) expect(v).toMatch(/^sk-ant-api-[A-Za-z0-9_-]{95}$/);
  });

  it('private keys are PEM blocks with a base64 body of 64+ characters; near misses break one part', () => {
    const pem = /^-----BEGIN ([A-Z ]+)-----\n([\s\S]*?)\n-----END \1-----$/;
    const bodyLength = (body: string) => body.replace(/^=[A-Za-z0-9]{4}$/m, '').replace(/\s/g, '').length;
    for (const kind of ['rsa', 'ec', 'dsa', 'openssh', 'encrypted', 'pkcs8', 'pgp']) {
      for (const v of sample('private-key', [kind], 30)) {
        const m = pem.exec(v);
        expect(m, v).not.toBeNull();
        expect(m![1]).toMatch(/PRIVATE KEY/);
        expect(m![2]).toMatch(/^[A-Za-z0-9+/=\n]+$/);
        expect(bodyLength(m![2]!)).toBeGreaterThanOrEqual(64);
      }
    }
    for (const kind of ['public', 'rsa-public', 'certificate']) for (const v of sample('private-key', [kind], 30)) expect(pem.exec(v)![1]).not.toMatch(/PRIVATE/);
    for (const v of sample('private-key', ['rsa', 'short-body'], 30)) expect(bodyLength(pem.exec(v)![2]!)).toBeLessThan(64);
    for (const v of sample('private-key', ['rsa', 'header-only'], 30)) expect(v).toBe('-----BEGIN RSA PRIVATE KEY-----');
    for (const v of sample('private-key', ['ec', 'no-end'], 30)) {
      expect(v.startsWith('-----BEGIN EC PRIVATE KEY-----\n')).toBe(true);
      expect(v).not.toContain('-----END');
    }
    for (const v of sample('private-key', ['rsa', 'mismatched-end'], 30)) expect(v).toMatch(/^-----BEGIN RSA PRIVATE KEY-----\n[\s\S]+\n-----END EC PRIVATE KEY-----$/);
    for (const v of sample('private-key', ['rsa', 'crlf'], 30)) expect(pem.exec(v.replace(/\r\n/g, '\n'))).not.toBeNull();
    for (const v of sample('private-key', ['pkcs8', 'escaped'], 30)) expect(pem.exec(v.replace(/\\n/g, '\n'))).not.toBeNull();
    for (const v of sample('private-key', ['rsa', 'indented'], 30)) expect(pem.exec(v.replace(/\n {4}/g, '\n'))).not.toBeNull();
  });

  it('jwts have a JSON header with alg and a JSON object payload; each near miss breaks one part', () => {
    for (const variant of ['hs256', 'rs256', 'es256']) {
      for (const v of sample('jwt', [variant], 50)) {
        const parts = v.split('.');
        expect(parts).toHaveLength(3);
        for (const part of parts) expect(part).toMatch(/^[A-Za-z0-9_-]+$/);
        const header = decodeJson(parts[0]!);
        expect(isObject(header) && typeof header.alg === 'string').toBe(true);
        expect(isObject(decodeJson(parts[1]!))).toBe(true);
      }
    }
    for (const v of sample('jwt', ['two-segments'], 50)) expect(v.split('.')).toHaveLength(2);
    for (const v of sample('jwt', ['header-not-json'], 50)) {
      expect(v.startsWith('eyJ')).toBe(true);
      expect(decodeJson(v.split('.')[0]!)).toBeUndefined();
      expect(isObject(decodeJson(v.split('.')[1]!))).toBe(true);
    }
    for (const v of sample('jwt', ['no-alg'], 50)) {
      const header = decodeJson(v.split('.')[0]!);
      expect(isObject(header) && !('alg' in header)).toBe(true);
    }
    for (const v of sample('jwt', ['payload-not-json'], 50)) {
      expect(isObject(decodeJson(v.split('.')[0]!))).toBe(true);
      expect(decodeJson(v.split('.')[1]!)).toBeUndefined();
    }
  });

  it('passwords mix cases and digits and stay URL-safe', () => {
    for (const v of sample('password')) {
      expect(v).toMatch(/^[A-Za-z0-9][A-Za-z0-9\-_.!*~]{14}[A-Za-z0-9]$/);
      expect(v).toMatch(/[a-z]/);
      expect(v).toMatch(/[A-Z]/);
      expect(v).toMatch(/\d/);
    }
    for (const v of sample('password', ['alnum', '24'])) expect(v).toMatch(/^[A-Za-z0-9]{24}$/);
  });
});

// ---------------------------------------------------------------- personal data

describe('personal-data generators', () => {
  it('payment cards: Luhn-valid, issuer prefix and length right, never a documented test number', () => {
    const issuers = CARD_ISSUERS.filter((i) => i !== 'no-issuer');
    for (const issuer of issuers) {
      for (const v of sample('payment-card', [issuer])) {
        expect(v).toMatch(/^\d{13,19}$/);
        expect(luhn(v)).toBe(true);
        expect(cardIssuerLengths(v), `${issuer} ${v}`).toContain(v.length);
        expect(TEST_CARDS).not.toContain(v);
      }
    }
  });

  it('payment card near misses are broken in exactly one way', () => {
    for (const issuer of ['visa', 'mastercard', 'amex', 'discover', 'jcb', 'diners']) {
      for (const v of sample('payment-card', [issuer, 'bad-luhn'])) {
        expect(luhn(v)).toBe(false);
        expect(cardIssuerLengths(v)).toContain(v.length);
      }
      for (const v of sample('payment-card', [issuer, 'bad-length'])) {
        expect(luhn(v)).toBe(true);
        expect(cardIssuerLengths(v).length).toBeGreaterThan(0);
        expect(cardIssuerLengths(v)).not.toContain(v.length);
      }
    }
    for (const v of sample('payment-card', ['no-issuer'])) {
      expect(v).toMatch(/^\d{16}$/);
      expect(luhn(v)).toBe(true);
      expect(cardIssuerLengths(v)).toEqual([]);
    }
  });

  it('payment cards group by single spaces or dashes in the issuer layout', () => {
    for (const v of sample('payment-card', ['visa', 'spaces'])) expect(v).toMatch(/^\d{4} \d{4} \d{4} \d{4}$/);
    for (const v of sample('payment-card', ['amex', 'spaces'])) expect(v).toMatch(/^\d{4} \d{6} \d{5}$/);
    for (const v of sample('payment-card', ['diners', 'dashes'])) expect(v).toMatch(/^\d{4}-\d{6}-\d{4}$/);
    for (const v of sample('payment-card', ['visa-19', 'dashes'])) expect(v).toMatch(/^\d{4}-\d{4}-\d{4}-\d{4}-\d{3}$/);
    for (const v of sample('payment-card', ['jcb', 'dashes'])) expect(luhn(v.replace(/-/g, ''))).toBe(true);
  });

  it('ibans: right length per country and mod 97 == 1; near misses broken one way', () => {
    for (const [country, { length }] of Object.entries(IBAN_COUNTRIES)) {
      for (const v of sample('iban', [country], 50)) {
        expect(v).toMatch(new RegExp(`^${country}\\d{2}[A-Z0-9]{${length - 4}}$`));
        expect(mod97(v)).toBe(1n);
      }
      for (const v of sample('iban', [country, 'bad-check'], 20)) {
        expect(v).toHaveLength(length);
        expect(mod97(v)).not.toBe(1n);
      }
      for (const v of sample('iban', [country, 'bad-length'], 20)) {
        expect(v).toHaveLength(length - 1);
        expect(mod97(v)).toBe(1n);
      }
    }
    for (const country of ['US', 'QZ']) {
      expect(IBAN_COUNTRIES[country]).toBeUndefined();
      for (const v of sample('iban', [country], 20)) expect(mod97(v)).toBe(1n);
    }
    for (const v of sample('iban', ['GB', 'spaces'], 50)) {
      expect(v).toMatch(/^GB\d{2}( [A-Z0-9]{4}){4} [A-Z0-9]{2}$/);
      expect(ibanValid(v)).toBe(true);
    }
  });

  it('us ssns: valid ranges, never the advertised numbers; each near miss breaks one range', () => {
    const parts = (v: string) => v.split(/[- ]/).map(Number) as [number, number, number];
    const valid = ([a, g, s]: [number, number, number]) => a !== 0 && a !== 666 && a < 900 && g !== 0 && s !== 0;
    for (const v of sample('us-ssn', [], 500)) {
      expect(v).toMatch(/^\d{3}-\d{2}-\d{4}$/);
      expect(valid(parts(v))).toBe(true);
      expect(['078-05-1120', '219-09-9999']).not.toContain(v);
    }
    for (const v of sample('us-ssn', ['spaces'])) expect(v).toMatch(/^\d{3} \d{2} \d{4}$/);
    for (const v of sample('us-ssn', ['bare'])) expect(v).toMatch(/^\d{9}$/);
    const flaws: Array<[string, (p: [number, number, number]) => boolean]> = [
      ['area-000', ([a]) => a === 0],
      ['area-666', ([a]) => a === 666],
      ['area-9xx', ([a]) => a >= 900],
      ['group-00', ([, g]) => g === 0],
      ['serial-0000', ([, , s]) => s === 0],
    ];
    for (const [flaw, broken] of flaws) {
      for (const v of sample('us-ssn', [flaw], 50)) {
        const p = parts(v);
        expect(broken(p)).toBe(true);
        // Only that one part is out of range.
        const fixed: [number, number, number] = [flaw.startsWith('area') ? 123 : p[0], flaw === 'group-00' ? 45 : p[1], flaw === 'serial-0000' ? 6789 : p[2]];
        expect(valid(fixed)).toBe(true);
      }
    }
  });

  it('phones: North-American area code and exchange not starting with 0 or 1; international + and 7-14 digits', () => {
    for (const v of sample('phone', ['us-paren'])) expect(v).toMatch(/^\([2-9]\d{2}\) [2-9]\d{2}-\d{4}$/);
    for (const v of sample('phone', ['us-dash'])) expect(v).toMatch(/^[2-9]\d{2}-[2-9]\d{2}-\d{4}$/);
    for (const v of sample('phone', ['us-dot'])) expect(v).toMatch(/^[2-9]\d{2}\.[2-9]\d{2}\.\d{4}$/);
    for (const v of sample('phone', ['bad-area'])) expect(v).toMatch(/^\([01]\d{2}\) [2-9]\d{2}-\d{4}$/);
    for (const v of sample('phone', ['bad-exchange'])) expect(v).toMatch(/^\([2-9]\d{2}\) [01]\d{2}-\d{4}$/);
    const codes: Record<string, string> = { 'us-intl': '1', uk: '44', de: '49', fr: '33', in: '91', jp: '81', au: '61', br: '55' };
    for (const [variant, cc] of Object.entries(codes)) {
      for (const v of sample('phone', [variant], 50)) {
        expect(v.startsWith(`+${cc} `)).toBe(true);
        expect(v).toMatch(/^\+[\d .()-]+\d$/);
        const rest = v.slice(cc.length + 1).replace(/\D/g, '');
        expect(rest.length).toBeGreaterThanOrEqual(7);
        expect(rest.length).toBeLessThanOrEqual(14);
      }
    }
  });

  it('emails use real-looking, non-reserved domains', () => {
    for (const variant of [[], ['plus'], ['upper'], ['short']]) {
      for (const v of sample('email', variant)) {
        expect(v).toMatch(/^[A-Za-z0-9.+]+@[a-z0-9-]+(\.[a-z0-9-]+)*\.[a-z]{2,}$/);
        expect(v).not.toMatch(/@(.*\.)?(example\.(com|org|net)|example|test|invalid|localhost)$/);
      }
    }
  });

  it('ip addresses are valid and written without leading zeros', () => {
    for (const v of [...sample('ipv4'), ...sample('ipv4', ['private'])]) {
      expect(isIPv4(v)).toBe(true);
      expect(v).not.toMatch(/(^|\.)0\d/);
    }
    for (const args of [[], ['compressed'], ['link-local']]) for (const v of sample('ipv6', args)) expect(isIPv6(v)).toBe(true);
  });
});

// ---------------------------------------------------------------- look-alikes

describe('look-alike generators for negatives', () => {
  it('produce the shape they are named for, and nothing detector-shaped by accident', () => {
    for (const v of sample('uuid')) expect(v).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    for (const v of sample('git-sha')) expect(v).toMatch(/^[0-9a-f]{40}$/);
    for (const v of sample('sha256')) expect(v).toMatch(/^[0-9a-f]{64}$/);
    for (const v of [...sample('uuid'), ...sample('git-sha'), ...sample('sha256'), ...sample('hex', ['32'])]) expect(v).not.toMatch(/\d{4}/);
    for (const v of sample('sri-sha512')) expect(v).toMatch(/^sha512-[A-Za-z0-9+/]{86}==$/);
    for (const v of sample('digits', ['16'])) {
      expect(v).toMatch(/^[1-9]\d{15}$/);
      expect(luhn(v)).toBe(false);
    }
    for (const v of sample('imei')) {
      expect(v).toMatch(/^(35|86)\d{13}$/);
      expect(luhn(v)).toBe(true);
      expect(cardIssuerLengths(v)).not.toContain(15);
    }
    for (const v of sample('png-base64')) expect(Buffer.from(v, 'base64').subarray(1, 4).toString()).toBe('PNG');
    for (const v of sample('alnum', ['24'])) expect(v).toMatch(/^[A-Za-z0-9]{24}$/);
  });

  it('random token bodies never hold a run of five digits', () => {
    for (const name of ['aws-secret-access-key', 'github-token', 'gitlab-token', 'google-api-key', 'npm-token', 'openai-api-key', 'password', 'alnum']) {
      for (const v of sample(name)) expect(v, name).not.toMatch(/\d{5}/);
    }
  });

  it('every generator variant expands', () => {
    for (const name of generatorNames()) expect(() => sample(name, [], 5)).not.toThrow();
    expect(() => generate('no-such-thing', [], mulberry32(1))).toThrow(/unknown generator/);
    expect(() => generate('github-token', ['ghq'], mulberry32(1))).toThrow(/no variant/);
    expect(() => generate('alnum', ['x'], mulberry32(1))).toThrow(/takes one number/);
  });
});

// ---------------------------------------------------------------- placeholder grammar

describe('placeholder grammar', () => {
  it('is deterministic per case name and differs across names and positions', () => {
    const text = '{{github-token}} {{github-token}}';
    const once = expandPlaceholders(text, 'case one');
    expect(expandPlaceholders(text, 'case one')).toBe(once);
    expect(expandPlaceholders(text, 'case two')).not.toBe(once);
    const [a, b] = once.split(' ');
    expect(a).not.toBe(b);
  });

  it('gives equal values to equal tags', () => {
    const [a, b, c] = expandPlaceholders('{{email#x}} {{email#x}} {{email#y}}', 'tags').split(' ');
    expect(a).toBe(b);
    expect(c).not.toBe(a);
  });

  it('leaves text without placeholders alone, including jinja, github actions and single braces', () => {
    for (const text of ['plain', 'password: "{{ secret }}"', '${{ secrets.TOKEN }}', '{"a": {"b": 1}}', 'x }} y', '{{ }}', '{{1}}']) expect(expandPlaceholders(text, 'literal')).toBe(text);
  });

  it('writes a literal {{ as {{{{', () => {
    expect(expandPlaceholders('url: "mysql://app:{{{{db_password}}@db/app"', 'escape')).toBe('url: "mysql://app:{{db_password}}@db/app"');
  });

  it('encodes nested text, placeholders and balanced braces included', () => {
    const out = expandPlaceholders('x={{base64:{"token":"{{github-token#t}}"}}} same={{github-token#t}}', 'nested');
    const token = /same=(\S+)/.exec(out)![1]!;
    const encoded = /x=(\S+)/.exec(out)![1]!;
    expect(Buffer.from(encoded, 'base64').toString()).toBe(`{"token":"${token}"}`);
    expect(Buffer.from(expandPlaceholders('{{base64url:a?b>c}}', 'u'), 'base64url').toString()).toBe('a?b>c');
    expect(expandPlaceholders('{{base64url:a?b>c}}', 'u')).not.toMatch(/[+/=]/);
    expect(expandPlaceholders('{{percent:a=b&c d}}', 'p')).toBe('a%3Db%26c%20d');
    expect(expandPlaceholders('{{percent-all:ab}}', 'p')).toBe('%61%62');
    expect(expandPlaceholders('{{base64:{{base64:hi}}}}', 'twice')).toBe(Buffer.from(Buffer.from('hi').toString('base64')).toString('base64'));
  });

  it('fails loudly on mistakes', () => {
    expect(() => expandPlaceholders('{{githubtoken}}', 'typo')).toThrow(/unknown generator/);
    expect(() => expandPlaceholders('{{github-token:nope}}', 'variant')).toThrow(/no variant/);
    expect(() => expandPlaceholders('{{base64:never closed', 'open')).toThrow(/not closed/);
    expect(() => expandPlaceholders('{{email', 'open')).toThrow(/not closed/);
    expect(() => expandPlaceholders('{{base64}}', 'no text')).toThrow(/needs/);
  });
});

// ---------------------------------------------------------------- the corpus itself

describe('the detector corpus', () => {
  const corpus = loadCorpus();

  it('loads: names unique, ids known, placeholders all expanded', () => {
    expect(corpus.cases.length).toBeGreaterThan(600);
    for (const c of [...corpus.cases, ...corpus.disputed]) {
      for (const id of c.expect) expect(DETECTORS).toContain(id);
      expect(c.text, c.name).not.toMatch(/\{\{[a-z][a-z0-9-]*(?::[^}]*)?\}\}/);
    }
  });

  it('has at least 20 positives and 20 near misses for every detector', () => {
    for (const id of DETECTORS) {
      const positives = corpus.cases.filter((c) => c.expect.includes(id)).length;
      const nearMisses = corpus.cases.filter((c) => c.about === id && !c.expect.includes(id)).length;
      expect(positives, `${id} positives`).toBeGreaterThanOrEqual(20);
      expect(nearMisses, `${id} near misses`).toBeGreaterThanOrEqual(20);
    }
  });

  it('commits no secret-shaped literal: only placeholders, published examples and fillers', () => {
    const allowed = /AKIAIOSFODNN7EXAMPLE|wJalrXUtnFEMI\/K7MDENG\/bPxRfiCYEXAMPLEKEY/;
    const shapes = [
      /(?:AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16}/,
      /gh[pousr]_[A-Za-z0-9]{36}/,
      /github_pat_[A-Za-z0-9_]{82}/,
      /glpat-[A-Za-z0-9_-]{20}/,
      /xox[bpare]-\d{8,}/,
      /hooks\.slack\.com\/services\/T[A-Z0-9]{8,}\/B[A-Z0-9]{8,}\/[A-Za-z0-9]{24}/,
      /[sr]k_(?:live|test)_[A-Za-z0-9]{24}/,
      /sq0(?:atp|csp)-[A-Za-z0-9_-]{22}/,
      /sk-(?:proj|svcacct|ant-[a-z]+\d\d)-[A-Za-z0-9_-]{40}/,
      /AIza[A-Za-z0-9_-]{35}/,
      /npm_[A-Za-z0-9]{36}/,
      /PRIVATE KEY(?: BLOCK)?-----\s*\n[A-Za-z0-9+/]{40}/,
      /eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}/,
      /\b\d{8,10}:AA[A-Za-z0-9_-]{33}/,
    ];
    for (const file of readdirSync(CORPUS_DIR).filter((f) => f.endsWith('.yaml'))) {
      const lines = readFileSync(join(CORPUS_DIR, file), 'utf8').split('\n');
      lines.forEach((line, i) => {
        const rest = line.replace(new RegExp(allowed.source, 'g'), '');
        const fillerFree = rest.replace(/([A-Za-z0-9*])\1{7,}/g, '');
        for (const shape of shapes) expect(shape.test(fillerFree), `${file}:${i + 1} holds a literal matching ${shape}`).toBe(false);
      });
    }
  });
});
