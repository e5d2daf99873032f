/**
 * Property tests for the flow detectors: a generated fake token, dropped into random prose, a
 * JSON document or a line of code, is found (and only it, with a span that covers it); a near
 * miss of a checksummed format is not; and prose made of ordinary words yields no secret.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { scanText } from '../../src/flow/scan.ts';
import { generate, mulberry32 } from './fakes.ts';
import { SECRET_DETECTORS } from './metrics.ts';

const WORDS = [
  'the', 'deploy', 'finished', 'after', 'review', 'and', 'tests', 'passed', 'on', 'main', 'branch', 'release', 'notes', 'mention', 'a', 'new',
  'dashboard', 'for', 'latency', 'with', 'retries', 'queue', 'worker', 'restarted', 'cache', 'warm', 'customer', 'asked', 'about', 'invoice',
  'timeline', 'meeting', 'moved', 'to', 'thursday', 'please', 'check', 'logs', 'before', 'merging', 'it', 'looks', 'fine', 'now',
];
const PUNCTUATION = ['', '', '', '.', ',', ';', '!', '?'];

const prose = fc
  .array(fc.tuple(fc.constantFrom(...WORDS), fc.constantFrom(...PUNCTUATION)), { minLength: 0, maxLength: 14 })
  .map((words) => words.map(([w, p]) => w + p).join(' '));

/** Generator name, args, and the detector that must find it. Single-line values only. */
const TOKENS: ReadonlyArray<readonly [string, readonly string[], string]> = [
  ['aws-access-key-id', ['akia'], 'aws-access-key-id'],
  ['aws-access-key-id', ['asia'], 'aws-access-key-id'],
  ['github-token', ['ghp'], 'github-token'],
  ['github-token', ['ghs'], 'github-token'],
  ['github-token', ['fine-grained'], 'github-token'],
  ['gitlab-token', [], 'gitlab-token'],
  ['slack-token', ['xoxb'], 'slack-token'],
  ['slack-token', ['xoxp'], 'slack-token'],
  ['slack-webhook', [], 'slack-webhook'],
  ['discord-webhook', [], 'discord-webhook'],
  ['telegram-bot-token', [], 'telegram-bot-token'],
  ['stripe-key', ['sk-live'], 'stripe-key'],
  ['stripe-key', ['rk-test'], 'stripe-key'],
  ['square-token', ['sq0atp'], 'square-token'],
  ['openai-api-key', ['proj'], 'openai-api-key'],
  ['openai-api-key', ['legacy'], 'openai-api-key'],
  ['anthropic-api-key', ['api03'], 'anthropic-api-key'],
  ['google-api-key', [], 'google-api-key'],
  ['npm-token', [], 'npm-token'],
  ['jwt', ['hs256'], 'jwt'],
  ['jwt', ['rs256'], 'jwt'],
];

/** Near misses of checksummed or validated formats: never reported, whatever surrounds them. */
const NEAR_MISSES: ReadonlyArray<readonly [string, readonly string[]]> = [
  ['github-token', ['bad-checksum']],
  ['payment-card', ['visa', 'bad-luhn']],
  ['payment-card', ['mastercard', 'bad-luhn', 'spaces']],
  ['payment-card', ['no-issuer']],
  ['iban', ['DE', 'bad-check']],
  ['iban', ['GB', 'bad-check', 'spaces']],
  ['jwt', ['header-not-json']],
  ['jwt', ['no-alg']],
  ['us-ssn', ['area-666']],
];

type Context = (before: string, value: string, after: string) => string;
/** Places that separate a value from its neighbours; no key name here is secret-shaped. */
const CONTEXTS: readonly Context[] = [
  (b, v, a) => `${b} ${v} ${a}`,
  (b, v, a) => `${b}\n${v}\n${a}`,
  (b, v, a) => JSON.stringify({ note: b, value: v, more: a }),
  (b, v, a) => `const value = "${v}"; // ${b} ${a}`,
  (b, v, a) => `note: ${b}\nvalue: '${v}'\nmore: ${a}`,
  (b, v, a) => `${b} (${v}) ${a}`,
  (b, v, a) => `<td>${v}</td><!-- ${b} ${a} -->`,
];

const seed = fc.integer({ min: 0, max: 0x7fffffff });
const context = fc.integer({ min: 0, max: CONTEXTS.length - 1 });

describe('flow detectors: properties', () => {
  it('find a generated token wherever it is embedded, and nothing else', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: TOKENS.length - 1 }), seed, context, prose, prose, (which, s, ctx, before, after) => {
        const [name, args, id] = TOKENS[which]!;
        const token = generate(name, args, mulberry32(s));
        const text = CONTEXTS[ctx]!(before, token, after);
        const findings = scanText(text);
        expect([...new Set(findings.map((f) => f.detector))], text).toEqual([id]);
        const at = text.indexOf(token);
        expect(findings.some((f) => f.detector === id && f.start < at + token.length && f.end > at), `${text}\nno ${id} span covers the token`).toBe(true);
      }),
      { numRuns: Number(process.env.FC_RUNS ?? 300) },
    );
  });

  it('find a generated private key block between lines of prose', () => {
    fc.assert(
      fc.property(fc.constantFrom('rsa', 'ec', 'openssh', 'pkcs8', 'encrypted', 'pgp'), seed, prose, prose, (kind, s, before, after) => {
        const text = `${before}\n${generate('private-key', [kind], mulberry32(s))}\n${after}`;
        expect([...new Set(scanText(text).map((f) => f.detector))], text).toEqual(['private-key']);
      }),
      { numRuns: Number(process.env.FC_RUNS ?? 100) },
    );
  });

  it('never report a near miss of a checksummed format', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: NEAR_MISSES.length - 1 }), seed, context, prose, prose, (which, s, ctx, before, after) => {
        const [name, args] = NEAR_MISSES[which]!;
        const text = CONTEXTS[ctx]!(before, generate(name, args, mulberry32(s)), after);
        expect(scanText(text), text).toEqual([]);
      }),
      { numRuns: Number(process.env.FC_RUNS ?? 300) },
    );
  });

  it('find no secret in prose made of ordinary words', () => {
    fc.assert(
      fc.property(prose, context, prose, (before, ctx, after) => {
        const text = CONTEXTS[ctx]!(before, 'nothing here', after);
        const secrets = scanText(text).filter((f) => (SECRET_DETECTORS as readonly string[]).includes(f.detector));
        expect(secrets, text).toEqual([]);
      }),
      { numRuns: Number(process.env.FC_RUNS ?? 300) },
    );
  });
});
