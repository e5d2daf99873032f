import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { locateId, peekEnvelope } from '../../src/protocol/envelope.ts';
import { withId, decodeFrame, AmbiguousIdError } from '../../src/protocol/frame.ts';

const buf = (s: string) => Buffer.from(s, 'utf8');

function splice(text: string, newId: string | number): string {
  const decoded = decodeFrame(buf(text));
  if (!decoded.ok) throw new Error(decoded.reason);
  const out = withId(decoded.frame, newId);
  return out.raw === undefined ? `REBUILT:${JSON.stringify(out.message)}` : out.raw.toString('utf8');
}

describe('locateId / withId', () => {
  it('splices the id when it is the last member (TypeScript SDK layout), keeping every other byte', () => {
    const text = '{"result":{"n":12345678901234567890,"s":"\\u00e9"},"jsonrpc":"2.0","id":7}';
    expect(splice(text, 'g-1')).toBe('{"result":{"n":12345678901234567890,"s":"\\u00e9"},"jsonrpc":"2.0","id":"g-1"}');
  });

  it('splices the id when it comes first (Python SDK layout)', () => {
    const text = '{"jsonrpc": "2.0", "id": "abc", "result": {"items": [{"x": "}\\"{"}]}}';
    expect(splice(text, 42)).toBe('{"jsonrpc": "2.0", "id": 42, "result": {"items": [{"x": "}\\"{"}]}}');
  });

  it('finds the top-level id when nested objects also carry "id" keys', () => {
    const text = '{"result":{"rows":[{"id":1},{"id":2}]},"id":3,"jsonrpc":"2.0"}';
    expect(splice(text, 9)).toBe('{"result":{"rows":[{"id":1},{"id":2}]},"id":9,"jsonrpc":"2.0"}');
    const nestedLast = '{"jsonrpc":"2.0","result":{"id":3},"id":3}';
    expect(splice(nestedLast, 5)).toBe('{"jsonrpc":"2.0","result":{"id":3},"id":5}');
  });

  it('refuses a message with two id members instead of guessing which one the peer honours', () => {
    const decoded = decodeFrame(buf('{"jsonrpc":"2.0","id":1,"result":{},"id":1}'));
    expect(decoded.ok).toBe(true);
    if (!decoded.ok) return;
    expect(() => withId(decoded.frame, 2)).toThrow(AmbiguousIdError);
    // An id key spelled with escapes is a duplicate to JSON.parse; the exact walk refuses it.
    expect(locateId(buf('{"jsonrpc":"2.0","id":1,"\\u0069d":1,"result":{}}'), 1)).toBe('ambiguous');
  });

  it('handles escaped backslashes before a closing quote', () => {
    const text = '{"jsonrpc":"2.0","result":{"p":"C:\\\\dir\\\\"},"id":"a\\\\"}';
    expect(splice(text, 1)).toBe('{"jsonrpc":"2.0","result":{"p":"C:\\\\dir\\\\"},"id":1}');
  });

  it('keeps arbitrary messages byte-identical apart from the id (property)', () => {
    const scalar = fc.oneof(fc.string(), fc.integer(), fc.boolean(), fc.constant(null));
    const json = fc.letrec((tie) => ({
      value: fc.oneof({ depthSize: 'small' }, scalar, fc.array(tie('value'), { maxLength: 4 }), fc.dictionary(fc.oneof(fc.string(), fc.constant('id')), tie('value'), { maxKeys: 4 })),
    })).value;
    fc.assert(
      fc.property(
        fc.oneof(fc.string(), fc.integer()),
        fc.dictionary(fc.string().filter((k) => k !== 'id' && k !== 'jsonrpc' && k !== '__proto__'), json, { maxKeys: 4 }),
        fc.nat(5),
        fc.boolean(),
        fc.oneof(fc.string(), fc.integer({ min: 0 })),
        (id, members, position, pretty, newId) => {
          const entries: Array<[string, unknown]> = Object.entries({ result: members });
          entries.splice(Math.min(position, entries.length), 0, ['id', id]);
          entries.splice(position % 2 === 0 ? 0 : entries.length, 0, ['jsonrpc', '2.0']);
          const pretty_ = JSON.stringify(Object.fromEntries(entries), null, pretty ? 2 : undefined);
          const out = splice(pretty_, newId);
          // Frames are made single-line at ingress (CR/LF outside strings are only whitespace).
          const text = pretty_.replace(/[\r\n]/g, ' ');
          expect(out.startsWith('REBUILT:')).toBe(false);
          const expected = JSON.parse(text);
          expected.id = newId;
          expect(JSON.parse(out)).toEqual(expected);
          // Only the id's bytes changed: text = p + oldId + s and out = p + newId + s.
          const oldJson = JSON.stringify(id);
          const newJson = JSON.stringify(newId);
          const spliced = [...Array(text.length + 1).keys()].some(
            (k) => text.slice(k, k + oldJson.length) === oldJson && out === text.slice(0, k) + newJson + text.slice(k + oldJson.length),
          );
          expect(spliced).toBe(true);
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('decodeFrame', () => {
  it('turns a pretty-printed body into one line without changing its meaning', () => {
    const text = '{\r\n  "jsonrpc": "2.0",\n  "id": 1,\n  "result": {"s": "a\\nb"}\n}';
    const decoded = decodeFrame(buf(text));
    expect(decoded.ok).toBe(true);
    if (!decoded.ok) return;
    const raw = decoded.frame.raw!.toString('utf8');
    expect(raw).not.toMatch(/[\r\n]/);
    expect(JSON.parse(raw)).toEqual(JSON.parse(text));
  });

  it('reports invalid JSON and invalid JSON-RPC with the right codes', () => {
    expect(decodeFrame(buf('{"jsonrpc":'))).toMatchObject({ ok: false, code: -32700, id: null });
    expect(decodeFrame(buf('{"jsonrpc":"1.0","id":4,"method":"x"}'))).toMatchObject({ ok: false, code: -32600, id: 4 });
    expect(decodeFrame(buf('{"jsonrpc":"2.0","id":1.5,"method":"x"}'))).toMatchObject({ ok: false, code: -32600, id: null });
    expect(decodeFrame(buf('[{"jsonrpc":"2.0","id":1,"method":"x"}]'))).toMatchObject({ ok: false, code: -32600, reason: expect.stringContaining('batch') });
  });
});

describe('peekEnvelope', () => {
  it('recovers id and method from the head of a truncated request', () => {
    const head = buf('{"jsonrpc":"2.0","id":17,"method":"tools/call","params":{"name":"x","arguments":{"blob":"AAAA');
    expect(peekEnvelope(head, buf('AAAA"}}}'))).toEqual({ id: 17, method: 'tools/call' });
  });

  it('recovers the id from the tail when the SDK wrote it last', () => {
    const head = buf('{"method":"tools/call","params":{"arguments":{"blob":"AAAA');
    const tail = buf('AAAA"}},"jsonrpc":"2.0","id":"req-9"}');
    expect(peekEnvelope(head, tail)).toEqual({ id: 'req-9', method: 'tools/call' });
  });

  it('returns nothing it cannot read', () => {
    expect(peekEnvelope(buf('garbage'), buf('more garbage'))).toEqual({});
  });
});
