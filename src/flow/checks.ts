/**
 * The checks that turn a pattern match into a finding: checksums (Luhn, IBAN mod-97, GitHub's
 * CRC32), entropy, and the placeholder test that keeps documented examples and `xxxx` fillers
 * from being reported.
 */
import { crc32 } from 'node:zlib';

/** Luhn (ISO/IEC 7812) over a string of digits. */
export function luhn(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return sum % 10 === 0;
}

/** IBAN lengths by country (the SWIFT IBAN registry). */
const IBAN_LENGTHS: Readonly<Record<string, number>> = {
  AD: 24, AE: 23, AL: 28, AT: 20, AZ: 28, BA: 20, BE: 16, BG: 22, BH: 22, BI: 27, BR: 29, BY: 28, CH: 21, CR: 22, CY: 28, CZ: 24,
  DE: 22, DJ: 27, DK: 18, DO: 28, EE: 20, EG: 29, ES: 24, FI: 18, FK: 18, FO: 18, FR: 27, GB: 22, GE: 22, GI: 23, GL: 18, GR: 27,
  GT: 28, HR: 21, HU: 28, IE: 22, IL: 23, IQ: 23, IS: 26, IT: 27, JO: 30, KW: 30, KZ: 20, LB: 28, LC: 32, LI: 21, LT: 20, LU: 20,
  LV: 21, LY: 25, MC: 27, MD: 24, ME: 22, MK: 19, MN: 20, MR: 27, MT: 31, MU: 30, NI: 28, NL: 18, NO: 15, OM: 23, PK: 24, PL: 28,
  PS: 29, PT: 25, QA: 29, RO: 24, RS: 22, RU: 33, SA: 24, SC: 31, SD: 18, SE: 24, SI: 19, SK: 24, SM: 27, SO: 23, ST: 25, SV: 28,
  TL: 23, TN: 24, TR: 26, UA: 29, VA: 22, VG: 24, XK: 20, YE: 30,
};

/** An IBAN without spaces: known country, its exact length, mod-97 = 1 (ISO 13616). */
export function iban(compact: string): boolean {
  if (IBAN_LENGTHS[compact.slice(0, 2)] !== compact.length) return false;
  const rearranged = compact.slice(4) + compact.slice(0, 4);
  let remainder = 0;
  for (let i = 0; i < rearranged.length; i++) {
    const c = rearranged.charCodeAt(i);
    if (c >= 48 && c <= 57) remainder = (remainder * 10 + (c - 48)) % 97;
    else if (c >= 65 && c <= 90) remainder = (remainder * 100 + (c - 55)) % 97;
    else return false;
  }
  return remainder === 1;
}

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** GitHub's token checksum: the last 6 characters are base62(CRC32 of the 30 before), zero-padded. */
export function githubChecksum(token: string): boolean {
  const body = token.slice(4, 34);
  let n = crc32(body);
  let encoded = '';
  while (n > 0) {
    encoded = BASE62[n % 62]! + encoded;
    n = Math.floor(n / 62);
  }
  return encoded.padStart(6, '0') === token.slice(34, 40);
}

/** Shannon entropy in bits per character. */
export function entropy(value: string): number {
  const counts = new Map<string, number>();
  for (const c of value) counts.set(c, (counts.get(c) ?? 0) + 1);
  let bits = 0;
  for (const n of counts.values()) {
    const p = n / value.length;
    bits -= p * Math.log2(p);
  }
  return bits;
}

const FILLER = /^(.)\1+$|^(?:x+|X+|\*+|\.+|#+|0+|-+|_+)$/;
/** Any case, letter by letter: `[yY][oO][uU][rR]`. */
const anyCase = (word: string) => [...word].map((c) => (/[a-z]/.test(c) ? `[${c}${c.toUpperCase()}]` : c)).join('');
/**
 * Words that say "this is not a real value", as words: at the start or after a separator, and
 * at the end, before a separator or before a capital (`yourKeyHere`). Inside a random body
 * (`…vglmxfakeSLb…`) they are chance, not meaning.
 */
const PLACEHOLDER_WORDS = new RegExp(
  `(?:^|[_./: -])(?:${['example', 'sample', 'dummy', 'placeholder', 'your', 'changeme', 'change_me', 'change-me', 'redacted', 'replaceme', 'replace_me', 'insert', 'fake', 'test_key', 'test_token', 'test_secret', 'testkey', 'testtoken', 'notareal', 'not_a_real', 'not-a-real'].map(anyCase).join('|')})(?=$|[_./: A-Z0-9-])`,
);
const PLACEHOLDER_MARKS = /x{6}|X{6}|\*\*\*|<[^>]*>|\$\{|\{\{|%\(|%s\b/;

/**
 * A value that only stands in for a secret: a filler (`xxxx`, `****`), a template variable
 * (`${X}`, `{{x}}`, `<your-token>`), a documented example (`…EXAMPLE`) or a word that says so.
 */
export function isPlaceholder(value: string): boolean {
  return FILLER.test(value) || PLACEHOLDER_WORDS.test(value) || PLACEHOLDER_MARKS.test(value) || /EXAMPLE/.test(value);
}

/** Too few different characters to be random (`AKIAAAAAAAAAAAAAAAAA`, `abababab…`). */
export function lowVariety(value: string, minDistinct: number): boolean {
  return new Set(value).size < minDistinct;
}
