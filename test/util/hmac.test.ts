/** The cached-key HMAC gives what node:crypto's createHmac gives, per key. */
import { createHmac, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { hmacSha256 } from '../../src/util/hmac.ts';

describe('hmacSha256', () => {
  it('matches createHmac for each key, the same key twice, and keys with equal bytes in other buffers', () => {
    const keys = [randomBytes(32), randomBytes(32), randomBytes(16)];
    keys.push(Buffer.from(keys[0]!));
    for (const key of keys) {
      for (const data of ['', 'x', 'ünïcödé', 'a'.repeat(10_000)]) {
        for (const encoding of ['hex', 'base64url'] as const) {
          const expected = createHmac('sha256', key).update(data, 'utf8').digest(encoding);
          expect(hmacSha256(key, data, encoding)).toBe(expected);
          expect(hmacSha256(key, data, encoding)).toBe(expected);
        }
      }
    }
    expect(hmacSha256(keys[0]!, 'x', 'hex')).not.toBe(hmacSha256(keys[1]!, 'x', 'hex'));
  });
});
