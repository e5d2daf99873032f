/**
 * The transformations on one text: spans applied in place, overlapping spans merged into one
 * transformed by the strongest (drop, redact, hash, tokenize), `hash` as a keyed HMAC, and the
 * session's TokenVault: stable pseudonyms per value and server, bounded with the oldest
 * forgotten (and never restored), restore counts. Real HMAC-SHA-256 and real random tokens.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { keyedHash, TokenVault, transformText, type Span, type TransformationName } from '../../src/flow/transform.ts';

const KEY = randomBytes(32);
const context = (vault = new TokenVault(), origin: string | undefined = 'files') => ({ hashKey: KEY, vault, origin });
const span = (start: number, end: number, transformation: TransformationName, detector = 'd'): Span => ({ start, end, detector, level: 'RESTRICTED', transformation });
const hmac16 = (key: Buffer, value: string) => createHmac('sha256', key).update(value, 'utf8').digest('hex').slice(0, 16);

describe('transformText', () => {
  const text = '0123456789abcdefghij';

  it('returns the text unchanged with no spans', () => {
    expect(transformText(text, [], context())).toBe(text);
  });

  it('applies each span in place and keeps the text between them', () => {
    const out = transformText('user alice key K123 end', [span(5, 10, 'hash', 'name'), span(15, 19, 'redact', 'key')], context());
    expect(out).toBe(`user [HASH:name:${hmac16(KEY, 'alice')}] key [REDACTED:key] end`);
  });

  it('applies spans given in any order', () => {
    const spans = [span(10, 12, 'redact', 'b'), span(0, 2, 'redact', 'a')];
    expect(transformText(text, spans, context())).toBe('[REDACTED:a]23456789[REDACTED:b]cdefghij');
  });

  it('merges overlapping spans into one, transformed by the strongest (redact over hash)', () => {
    expect(transformText(text, [span(2, 8, 'hash', 'h'), span(5, 12, 'redact', 'r')], context())).toBe('01[REDACTED:r]cdefghij');
    expect(transformText(text, [span(5, 12, 'redact', 'r'), span(2, 8, 'hash', 'h')], context())).toBe('01[REDACTED:r]cdefghij');
  });

  it('merges a span contained in another, keeping the outer extent and the stronger transformation', () => {
    expect(transformText(text, [span(2, 15, 'tokenize', 'outer'), span(5, 6, 'redact', 'inner')], context())).toBe('01[REDACTED:inner]fghij');
  });

  it('hash wins over tokenize, and the hash is of the whole merged span', () => {
    const vault = new TokenVault();
    const out = transformText(text, [span(0, 6, 'tokenize', 't'), span(4, 10, 'hash', 'h')], context(vault));
    expect(out).toBe(`[HASH:h:${hmac16(KEY, '0123456789')}]abcdefghij`);
    expect(vault.size).toBe(0);
  });

  it('merges chains of overlaps into one span', () => {
    const spans = [span(0, 4, 'hash', 'a'), span(3, 8, 'tokenize', 'b'), span(7, 12, 'hash', 'c')];
    expect(transformText(text, spans, context())).toBe(`[HASH:a:${hmac16(KEY, '0123456789ab')}]cdefghij`);
  });

  it('does not merge spans that only touch', () => {
    expect(transformText(text, [span(0, 4, 'redact', 'a'), span(4, 8, 'redact', 'b')], context())).toBe('[REDACTED:a][REDACTED:b]89abcdefghij');
  });

  it('drop withholds the whole text, whatever else overlaps it', () => {
    expect(transformText(text, [span(0, 2, 'redact', 'a'), span(5, 7, 'drop', 'pem')], context())).toBe('[WITHHELD:pem]');
    expect(transformText(text, [span(5, 9, 'drop', 'pem'), span(3, 12, 'redact', 'a')], context())).toBe('[WITHHELD:pem]');
  });

  it('tokenize puts a pseudonym from the vault in place', () => {
    const vault = new TokenVault();
    const out = transformText('mail pat@corp.io now', [span(5, 16, 'tokenize', 'email')], context(vault));
    expect(out).toMatch(/^mail tok_[a-z2-7]{16} now$/);
    expect(vault.size).toBe(1);
    expect(vault.restore(out, 'files')).toEqual({ text: 'mail pat@corp.io now', restored: 1, kept: 0 });
  });
});

describe('keyedHash', () => {
  it('is the first 16 hex characters of HMAC-SHA-256 under the key', () => {
    expect(keyedHash(KEY, 'pat@corp.io')).toBe(hmac16(KEY, 'pat@corp.io'));
    expect(keyedHash(KEY, 'pat@corp.io')).toMatch(/^[0-9a-f]{16}$/);
  });

  it('is stable for one key and differs between keys and values', () => {
    const other = randomBytes(32);
    expect(keyedHash(KEY, 'v')).toBe(keyedHash(Buffer.from(KEY), 'v'));
    expect(keyedHash(other, 'v')).not.toBe(keyedHash(KEY, 'v'));
    expect(keyedHash(KEY, 'w')).not.toBe(keyedHash(KEY, 'v'));
  });
});

describe('TokenVault', () => {
  it('gives one token per value and server, a new one for another value or another server', () => {
    const vault = new TokenVault();
    const a = vault.tokenize('pat@corp.io', 'email', 'files');
    expect(a).toMatch(/^tok_[a-z2-7]{16}$/);
    expect(vault.tokenize('pat@corp.io', 'email', 'files')).toBe(a);
    expect(vault.tokenize('sam@corp.io', 'email', 'files')).not.toBe(a);
    expect(vault.tokenize('pat@corp.io', 'email', 'mail')).not.toBe(a);
    expect(vault.size).toBe(3);
  });

  it('restores a token only for the server its value came from; counts restored and kept', () => {
    const vault = new TokenVault();
    const a = vault.tokenize('pat@corp.io', 'email', 'files');
    const b = vault.tokenize('sam@corp.io', 'email', 'files');
    const c = vault.tokenize('kim@corp.io', 'email', 'mail');
    const text = `${a}, ${b} and ${c}; also ${a}`;
    expect(vault.restore(text, 'files')).toEqual({ text: `pat@corp.io, sam@corp.io and ${c}; also pat@corp.io`, restored: 3, kept: 1 });
    expect(vault.restore(text, 'mail')).toEqual({ text: `${a}, ${b} and kim@corp.io; also ${a}`, restored: 1, kept: 3 });
    expect(vault.restore(text, 'calendar')).toEqual({ text, restored: 0, kept: 4 });
  });

  it('leaves a token it does not know alone and counts it neither way', () => {
    const vault = new TokenVault();
    vault.tokenize('pat@corp.io', 'email', 'files');
    expect(vault.restore('tok_aaaaaaaaaaaaaaaa', 'files')).toEqual({ text: 'tok_aaaaaaaaaaaaaaaa', restored: 0, kept: 0 });
  });

  it('a value with no server is restored only where there is no server', () => {
    const vault = new TokenVault();
    const t = vault.tokenize('v@corp.io', 'email', undefined);
    expect(vault.restore(t, undefined)).toMatchObject({ text: 'v@corp.io', restored: 1 });
    expect(vault.restore(t, 'files')).toMatchObject({ text: t, kept: 1 });
  });

  it('is bounded: the oldest token is forgotten first and is never restored again', () => {
    const vault = new TokenVault(3);
    const tokens = ['a@corp.io', 'b@corp.io', 'c@corp.io', 'd@corp.io'].map((v) => vault.tokenize(v, 'email', 'files'));
    expect(vault.size).toBe(3);
    expect(vault.restore(tokens[0]!, 'files')).toEqual({ text: tokens[0], restored: 0, kept: 0 });
    expect(vault.restore(tokens.slice(1).join(' '), 'files')).toEqual({ text: 'b@corp.io c@corp.io d@corp.io', restored: 3, kept: 0 });
    // The forgotten value gets a new token; the old one still means nothing.
    const again = vault.tokenize('a@corp.io', 'email', 'files');
    expect(again).not.toBe(tokens[0]);
    expect(vault.size).toBe(3);
    expect(vault.restore(`${tokens[0]} ${again}`, 'files')).toEqual({ text: `${tokens[0]} a@corp.io`, restored: 1, kept: 0 });
    // …and b, now the oldest, was forgotten to make room.
    expect(vault.restore(tokens[1]!, 'files').restored).toBe(0);
  });

  it('mayHold: only with tokens in the vault and `tok_` in the text', () => {
    const vault = new TokenVault();
    expect(vault.mayHold('tok_aaaaaaaaaaaaaaaa')).toBe(false);
    vault.tokenize('pat@corp.io', 'email', 'files');
    expect(vault.mayHold('nothing here')).toBe(false);
    expect(vault.mayHold('see tok_abc')).toBe(true);
  });
});
