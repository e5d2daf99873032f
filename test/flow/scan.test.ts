/**
 * The scanner as a whole, not any one format: offsets are UTF-16 offsets into the text, base64
 * and percent-encoded blocks are decoded and scanned again (nested up to the bound, within the
 * decode budget, never binary), the `detectors` option filters, generic-secret yields to a
 * specific detector on the same span, and texts above FULL_BASE64_SEARCH still decode what
 * they mark. Fake values are generated per case (test/flow/fakes.ts); none is committed.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { FULL_BASE64_SEARCH, scanText, type Finding } from '../../src/flow/scan.ts';
import { generate, rngFor } from './fakes.ts';

const fake = (name: string, slot: string, args: string[] = []) => generate(name, args, rngFor(`scan.test:${name}`, slot));
const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');
/** Every byte as %XX, so a value keeps none of its own characters. */
const percentAll = (text: string) => [...Buffer.from(text, 'utf8')].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join('');
const ids = (findings: readonly Finding[]) => findings.map((f) => f.detector);
/** Plain prose: no digits, no keywords, nothing any detector looks for. */
const PHRASE = 'lorem ipsum dolor sit amet consectetur adipiscing elit ';
const prose = (chars: number) => PHRASE.repeat(Math.ceil(chars / PHRASE.length)).slice(0, chars);

describe('offsets', () => {
  it('are UTF-16 offsets into the text, with emoji and non-ASCII before the finding', () => {
    const key = fake('aws-access-key-id', 'emoji');
    const text = `😀 Grüße, 東京 — ключ: ${key} 🎉`;
    const [finding, ...rest] = scanText(text);
    expect(rest).toEqual([]);
    expect(finding).toMatchObject({ detector: 'aws-access-key-id', start: text.indexOf(key), end: text.indexOf(key) + key.length });
    expect(text.slice(finding!.start, finding!.end)).toBe(key);
    // A surrogate pair counts as two: the UTF-16 offset is past the code-point offset.
    expect(finding!.start).toBeGreaterThan([...text.slice(0, finding!.start)].length);
  });

  it('are UTF-16 offsets for several findings in one text, in order of position', () => {
    const email = fake('email', 'order');
    const card = fake('payment-card', 'order');
    const text = `👩‍💻 ${email} — 💳 ${card}`;
    const findings = scanText(text);
    expect(ids(findings)).toEqual(['email', 'payment-card']);
    expect(findings.map((f) => text.slice(f.start, f.end))).toEqual([email, card]);
  });

  it('of an encoded finding cover the encoded block, counted in UTF-16 after emoji', () => {
    const key = fake('aws-access-key-id', 'encoded-emoji');
    const block = b64(`id ${key}`);
    const text = `🔑🔑 payload ${block} ✅`;
    const [finding] = scanText(text);
    expect(finding).toMatchObject({ detector: 'aws-access-key-id', encoding: 'base64', start: text.indexOf(block), end: text.indexOf(block) + block.length });
  });
});

describe('encoded content', () => {
  it('decodes a base64 block and reports its finding with the encoding and the span of the whole block', () => {
    const key = fake('aws-access-key-id', 'b64');
    const block = b64(`AWS_ACCESS_KEY_ID=${key}\n`);
    const text = `config: ${block} (end)`;
    expect(text).not.toContain(key);
    expect(scanText(text)).toEqual([
      { detector: 'aws-access-key-id', start: text.indexOf(block), end: text.indexOf(block) + block.length, level: 'RESTRICTED', confidence: 0.95, encoding: 'base64' },
    ]);
  });

  it('decodes base64url as well as base64', () => {
    const email = fake('email', 'b64url');
    const block = Buffer.from(`contact ${email}??>>`, 'utf8').toString('base64url');
    expect(block).toMatch(/[-_]/);
    const findings = scanText(`x ${block} y`);
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ detector: 'email', encoding: 'base64' });
  });

  // emailAt takes the `:` before the local part for URL userinfo (`user:pass@host`), so the
  // address in every `mailto:` link is missed.
  it('finds an email address in a mailto: link', () => {
    const email = fake('email', 'mailto');
    expect(ids(scanText(`<a href="mailto:${email}">write</a>`))).toEqual(['email']);
  });

  it('decodes a percent-encoded run and reports its finding with the span of the run', () => {
    const email = fake('email', 'percent');
    const run = `https://tracker.corp-mail.io/open?u=${percentAll(email)}`;
    const text = `link: ${run} (end)`;
    const findings = scanText(text);
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ detector: 'email', encoding: 'percent', start: text.indexOf(run), end: text.indexOf(run) + run.length });
  });

  it('does not decode a run with fewer than three escapes, and then finds the value as plain text', () => {
    const email = fake('email', 'percent-few');
    const text = `write to ${email}?subject=hi%21`;
    expect(scanText(text).map((f) => ({ detector: f.detector, encoding: f.encoding }))).toEqual([{ detector: 'email', encoding: undefined }]);
  });

  // One `%20` in the same URL-ish run hides a token that follows it: percentAt skips to the
  // end of the run without decoding it (fewer than three escapes) and without scanning it.
  it('finds a token that follows a single percent escape in the same run', () => {
    const key = fake('aws-access-key-id', 'percent-one');
    const text = `https://files.corp.io/share?name=q3%20report&key=${key}`;
    expect(ids(scanText(text))).toEqual(['aws-access-key-id']);
  });

  it('finds an email address that follows a single percent escape in the same run', () => {
    const email = fake('email', 'percent-one-email');
    const text = `https://crm.corp.io/find?q=a%20b&owner=${email}`;
    expect(ids(scanText(text))).toEqual(['email']);
  });

  it('decodes nested encodings up to the bound (two layers), not three', () => {
    const key = fake('aws-access-key-id', 'nested');
    const once = b64(`k=${key}`);
    const twice = b64(once);
    const thrice = b64(twice);
    expect(scanText(`a ${twice} b`)).toEqual([expect.objectContaining({ detector: 'aws-access-key-id', encoding: 'base64' })]);
    expect(scanText(`a ${thrice} b`)).toEqual([]);
    // Mixed nesting counts the same: percent inside base64.
    expect(ids(scanText(`a ${b64(`https://h.corp.io/?k=${percentAll(key)}`)} b`))).toEqual(['aws-access-key-id']);
  });

  it('ignores base64 of binary data (random bytes)', () => {
    for (let i = 0; i < 50; i++) {
      const block = randomBytes(48 + i).toString('base64');
      expect(scanText(`blob: ${block}`), block).toEqual([]);
    }
  });

  it('does not decode a run that is itself a finding (a token is reported once, as itself)', () => {
    const token = fake('github-token', 'run');
    const findings = scanText(`token ghp: ${token}`);
    expect(findings).toEqual([expect.objectContaining({ detector: 'github-token' })]);
    expect(findings[0]!.encoding).toBeUndefined();
  });

  it('does not decode with decode: false', () => {
    const key = fake('aws-access-key-id', 'no-decode');
    const text = `x ${b64(`k ${key}`)} ${percentAll(key)}`;
    expect(scanText(text)).toHaveLength(2);
    expect(scanText(text, { decode: false })).toEqual([]);
  });

  it('stops decoding once the decode budget of the scan is spent', () => {
    const key = fake('aws-access-key-id', 'budget');
    // Blocks marked `;base64,` are decoded in texts of any size. The secret's block is about 27 KiB.
    const secret = `data:text/plain;base64,${b64(`k ${key}\n${prose(20_000)}`)}`;
    // Doubly encoded filler: each block costs its own length plus its inner block's (about 100 KiB).
    const inner = b64(b64(prose(33_000)));
    expect(inner.length).toBeLessThan(64 * 1024);
    const filler = `data:text/plain;base64,${inner}`;
    const text = (before: number) => [...Array.from({ length: before }, () => filler), secret].join('\n');
    expect(ids(scanText(text(0)))).toEqual(['aws-access-key-id']);
    expect(ids(scanText(text(5)))).toEqual(['aws-access-key-id']);
    // Ten filler blocks spend more than 1 MiB less the secret's block: it is not decoded.
    expect(scanText(text(10))).toEqual([]);
  });
});

describe('the detectors option', () => {
  it('keeps only the findings of the detectors named, in plain and in decoded text', () => {
    const email = fake('email', 'filter');
    const key = fake('aws-access-key-id', 'filter');
    const text = `${email} ${key} ${b64(`again ${email} and ${key}`)}`;
    expect(ids(scanText(text)).sort()).toEqual(['aws-access-key-id', 'aws-access-key-id', 'email', 'email']);
    const emails = scanText(text, { detectors: new Set(['email']) });
    expect(emails.map((f) => [f.detector, f.encoding])).toEqual([['email', undefined], ['email', 'base64']]);
    expect(scanText(text, { detectors: new Set() })).toEqual([]);
  });
});

describe('generic-secret and specific detectors', () => {
  it('reports a random value assigned to a secret-named key as generic-secret', () => {
    const value = fake('password', 'generic');
    const text = `db_password=${value}`;
    expect(scanText(text)).toEqual([expect.objectContaining({ detector: 'generic-secret', start: text.indexOf(value), end: text.length })]);
  });

  it('yields to a specific detector on the same span', () => {
    const key = fake('aws-access-key-id', 'yield');
    const token = fake('github-token', 'yield');
    expect(ids(scanText(`password=${key}`))).toEqual(['aws-access-key-id']);
    expect(ids(scanText(`api_key: "${token}"`))).toEqual(['github-token']);
  });

  // The specific detector suppresses generic-secret even when the caller did not ask for it
  // (settle() builds `specific` from every hit before filtering by `detectors`): with the AWS
  // detector disabled, `password=AKIA…` is not reported at all.
  it('still reports generic-secret when the specific detector is not among those run', () => {
    const key = fake('aws-access-key-id', 'yield-filtered');
    expect(ids(scanText(`password=${key}`, { detectors: new Set(['generic-secret']) }))).toEqual(['generic-secret']);
  });
});

describe('texts larger than FULL_BASE64_SEARCH', () => {
  const key = fake('aws-access-key-id', 'large');

  it('decodes a `;base64,` data URI, with the span of its payload', () => {
    const payload = b64(`AWS_ACCESS_KEY_ID=${key}\n`);
    const text = `${prose(FULL_BASE64_SEARCH + 10)} <img src="data:text/plain;base64,${payload}"> ${prose(100)}`;
    expect(text.length).toBeGreaterThan(FULL_BASE64_SEARCH);
    expect(scanText(text)).toEqual([expect.objectContaining({ detector: 'aws-access-key-id', encoding: 'base64', start: text.indexOf(payload), end: text.indexOf(payload) + payload.length })]);
  });

  it('does not search the rest of a large text for unmarked base64 runs (that costs a pass without an anchor)', () => {
    const block = b64(`k ${key}`);
    expect(ids(scanText(`${prose(1000)} ${block} ${prose(1000)}`))).toEqual(['aws-access-key-id']);
    expect(scanText(`${prose(FULL_BASE64_SEARCH + 10)} ${block} ${prose(100)}`)).toEqual([]);
  });

  // scan.ts decodes the whole text as one block only when `text.length <= MAX_BLOCK + 8`, which a
  // text above FULL_BASE64_SEARCH (1 MiB) never is: the branch cannot run.
  it('decodes a text that is one base64 block', () => {
    const text = b64(`AWS_ACCESS_KEY_ID=${key}\n${prose(FULL_BASE64_SEARCH)}`);
    expect(text.length).toBeGreaterThan(FULL_BASE64_SEARCH);
    expect(scanText(text)).toEqual([expect.objectContaining({ detector: 'aws-access-key-id', encoding: 'base64' })]);
  });
});

describe('texts built to be slow', () => {
  // Each of these once cost a pass over the rest of the text per anchor; they assert what is
  // found, and stay in the suite's time budget only while the scanner stays linear.
  it('finds a private key after many PEM headers without an end line, and none in the headers', () => {
    const body = randomBytes(600).toString('base64').replace(/(.{64})/g, '$1\n');
    const headers = '-----BEGIN RSA PRIVATE KEY-----\n'.repeat(20_000);
    const key = `-----BEGIN RSA PRIVATE KEY-----\n${body}\n-----END RSA PRIVATE KEY-----`;
    expect(scanText(headers)).toEqual([]);
    const found = scanText(`${headers}${key}\n`);
    expect(ids(found)).toEqual(['private-key']);
    expect(found[0]!.start).toBe(headers.length);
  });

  it('reports many secrets and lets each hide the digits inside it, with many findings in one text', () => {
    const keys = Array.from({ length: 3000 }, (_, i) => fake('aws-access-key-id', `many-${i}`));
    const text = keys.map((k, i) => `id ${i}: ${k} mail user${i}@corp-mail.io`).join('\n');
    const found = scanText(text);
    expect(found.filter((f) => f.detector === 'aws-access-key-id')).toHaveLength(3000);
    expect(found.filter((f) => f.detector === 'email')).toHaveLength(3000);
  });

  it('walks a long run of percent escapes once the decode budget is spent', () => {
    const run = `${'%41'.repeat(20_000)}/`.repeat(60);
    const key = fake('aws-access-key-id', 'after-escapes');
    expect(ids(scanText(`${run} ${key}`))).toEqual(['aws-access-key-id']);
  });
});
