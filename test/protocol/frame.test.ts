/**
 * Frames: `withId` re-addresses a message by splicing the id's bytes and nothing else (string
 * ids with escapes, numeric spellings, "id" text inside params), refuses ambiguous messages,
 * and frames keep their bytes single-line. Complements test/protocol/envelope.test.ts, which
 * covers the SDK layouts, nested "id" keys in results and the byte-identity property.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AmbiguousIdError, decodeFrame, encodeFrame, frameOf, mutated, withId, type Frame } from '../../src/protocol/frame.ts';
import type { JsonRpcId } from '../../src/protocol/jsonrpc.ts';

function decoded(text: string | Buffer): Frame {
  const result = decodeFrame(typeof text === 'string' ? Buffer.from(text, 'utf8') : text);
  if (!result.ok) throw new Error(result.reason);
  return result.frame;
}

/** withId on the text; the spliced bytes as text (fails the test when it had to re-serialise). */
function respliced(text: string, id: JsonRpcId | null): string {
  const out = withId(decoded(text), id);
  expect(out.raw, 'expected the id to be spliced into the original bytes').toBeDefined();
  return out.raw!.toString('utf8');
}

describe('withId', () => {
  it('writes a string id with characters that need escaping as valid JSON', () => {
    const text = '{"jsonrpc":"2.0","method":"tools/call","params":{"name":"x"},"id":1}';
    const id = 'quote" back\\slash \n newline \u2028 sep \u0001 ctl é 😀';
    const out = respliced(text, id);
    expect(out).toBe(`{"jsonrpc":"2.0","method":"tools/call","params":{"name":"x"},"id":${JSON.stringify(id)}}`);
    expect(JSON.parse(out).id).toBe(id);
    // Still one line: an escaped newline in the id is not a line break on the wire.
    expect(out).not.toMatch(/[\r\n]/);
  });

  it('replaces a string id that itself contains escapes, quotes and braces', () => {
    const text = '{"jsonrpc":"2.0","method":"ping","id":"a\\"b}\\\\\\u0041,\\"id\\":2"}';
    const parsedId = (decoded(text).message as { id: string }).id;
    expect(parsedId).toBe('a"b}\\A,"id":2');
    expect(respliced(text, 5)).toBe('{"jsonrpc":"2.0","method":"ping","id":5}');
  });

  it('replaces numeric ids however the peer spelled them', () => {
    for (const spelling of ['0', '-12', '1.0', '1e0', '9007199254740991']) {
      const text = `{"id": ${spelling} ,"jsonrpc":"2.0","result":{"v":${spelling}}}`;
      expect(respliced(text, 'g-1'), spelling).toBe(`{"id": "g-1" ,"jsonrpc":"2.0","result":{"v":${spelling}}}`);
    }
  });

  it('turns a string id into a number and back', () => {
    const text = '{"jsonrpc":"2.0","id":"abc","result":{}}';
    const numeric = respliced(text, 42);
    expect(numeric).toBe('{"jsonrpc":"2.0","id":42,"result":{}}');
    expect(respliced(numeric, 'abc')).toBe(text);
  });

  it('writes a null id on an error response', () => {
    expect(respliced('{"jsonrpc":"2.0","error":{"code":-32600,"message":"bad"},"id":3}', null)).toBe('{"jsonrpc":"2.0","error":{"code":-32600,"message":"bad"},"id":null}');
  });

  it('never touches "id" text inside params, whichever layout the peer used', () => {
    const params = '"params":{"id":1,"name":"x","arguments":{"id":"1","note":"\\"id\\":1","list":[{"id":1}]}}';
    const layouts = [
      `{"jsonrpc":"2.0","method":"tools/call",${params},"id":1}`,
      `{"jsonrpc":"2.0","id":1,"method":"tools/call",${params}}`,
      `{"id":1,"jsonrpc":"2.0",${params},"method":"tools/call"}`,
      `{"method":"tools/call",${params},"id":1,"jsonrpc":"2.0"}`,
    ];
    for (const text of layouts) {
      const out = respliced(text, 77);
      const parsed = JSON.parse(out) as { id: number; params: unknown };
      expect(parsed.id, text).toBe(77);
      expect(parsed.params, text).toEqual(JSON.parse(text).params);
      // Only the top-level id's one byte became two: everything before and after is as it was.
      const diff = [...text].findIndex((c, i) => c !== out[i]);
      expect(text.slice(0, diff) + '77' + text.slice(diff + 1), text).toBe(out);
    }
  });

  it('keeps multi-byte UTF-8 before and after the id intact', () => {
    const text = '{"jsonrpc":"2.0","id":"ключ","result":{"text":"日本語 ✓ 😀"}}';
    const out = withId(decoded(text), 1).raw!;
    expect(out.equals(Buffer.from('{"jsonrpc":"2.0","id":1,"result":{"text":"日本語 ✓ 😀"}}', 'utf8'))).toBe(true);
  });

  it('re-serialises a frame that has no bytes, and splices one that does not carry an id at all', () => {
    const built = withId(frameOf({ jsonrpc: '2.0', id: 1, method: 'ping' }), 'x');
    expect(built.raw).toBeUndefined();
    expect(JSON.parse(encodeFrame(built).toString())).toEqual({ jsonrpc: '2.0', id: 'x', method: 'ping' });
    const changed = withId(mutated(decoded('{"jsonrpc":"2.0","id":1,"method":"ping"}'), { jsonrpc: '2.0', id: 1, method: 'ping', params: {} }), 2);
    expect(changed.raw).toBeUndefined();
    expect(JSON.parse(encodeFrame(changed).toString())).toEqual({ jsonrpc: '2.0', id: 2, method: 'ping', params: {} });
  });

  it('leaves the original frame as it was', () => {
    const text = '{"jsonrpc":"2.0","id":1,"result":{}}';
    const frame = decoded(text);
    const out = withId(frame, 2);
    expect(frame.raw!.toString()).toBe(text);
    expect((frame.message as { id: number }).id).toBe(1);
    expect((out.message as { id: number }).id).toBe(2);
    expect(out.kind).toBe('result');
  });

  it('splices any new id into any message byte-exactly (property)', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string(), fc.integer()),
        fc.oneof(fc.string(), fc.integer({ min: -1e9, max: 1e9 })),
        fc.dictionary(fc.string(), fc.jsonValue(), { maxKeys: 4 }),
        fc.boolean(),
        (oldId, newId, params, idFirst) => {
          const members = idFirst
            ? [`"id":${JSON.stringify(oldId)}`, '"jsonrpc":"2.0"', '"method":"tools/call"', `"params":${JSON.stringify({ ...params, id: oldId })}`]
            : ['"jsonrpc":"2.0"', '"method":"tools/call"', `"params":${JSON.stringify({ ...params, id: oldId })}`, `"id":${JSON.stringify(oldId)}`];
          const text = `{${members.join(',')}}`;
          const out = respliced(text, newId);
          const oldJson = JSON.stringify(oldId);
          const newJson = JSON.stringify(newId);
          const k = idFirst ? '{"id":'.length : text.length - 1 - oldJson.length;
          expect(out).toBe(text.slice(0, k) + newJson + text.slice(k + oldJson.length));
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('AmbiguousIdError', () => {
  const ambiguous = [
    // Two plain id members, neither of them last.
    '{"id":1,"id":2,"jsonrpc":"2.0","method":"ping"}',
    // Duplicates around nested content.
    '{"jsonrpc":"2.0","id":1,"params":{"id":1},"id":1,"method":"ping"}',
    // A duplicate spelled with an escape, where the walk has to decide.
    '{"id":1,"method":"ping","\\u0069d":1,"jsonrpc":"2.0"}',
  ];

  it('is thrown for messages with more than one id member', () => {
    for (const text of ambiguous) {
      const frame = decoded(text);
      expect(() => withId(frame, 9), text).toThrow(AmbiguousIdError);
    }
  });

  it('is thrown when a key spelled with escapes hides where the id is (names cannot be compared undecoded)', () => {
    const frame = decoded('{"id":1,"m\\u0065thod":"ping","jsonrpc":"2.0","params":{}}');
    expect((frame.message as { method: string }).method).toBe('ping');
    expect(() => withId(frame, 9)).toThrow(AmbiguousIdError);
  });

  it('names the problem', () => {
    try {
      withId(decoded(ambiguous[0]!), 9);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(AmbiguousIdError);
      expect((error as Error).name).toBe('AmbiguousIdError');
      expect((error as Error).message).toMatch(/more than one "id"/);
    }
  });

  it('is not thrown for one id member next to "id" keys in nested objects', () => {
    expect(() => withId(decoded('{"jsonrpc":"2.0","params":{"id":1,"x":{"id":2}},"method":"ping","id":3}'), 4)).not.toThrow();
  });
});

describe('CR and LF', () => {
  it('makes a CRLF pretty-printed message single-line and still splices the id', () => {
    const text = '{\r\n  "jsonrpc": "2.0",\r\n  "id": 12,\r\n  "result": {\r\n    "s": "line1\\r\\nline2"\r\n  }\r\n}';
    const frame = decoded(text);
    const flat = frame.raw!.toString('utf8');
    expect(flat).toBe(text.replace(/[\r\n]/g, ' '));
    // The escaped \r\n inside the string are text, not line breaks: kept as written.
    expect(flat).toContain('"line1\\r\\nline2"');
    expect(JSON.parse(flat)).toEqual(JSON.parse(text));
    const out = withId(frame, 'x').raw!.toString('utf8');
    expect(out).toBe(flat.replace('"id": 12', '"id": "x"'));
    expect(out).not.toMatch(/[\r\n]/);
  });

  it('does not copy bytes that need no change', () => {
    const bytes = Buffer.from('{"jsonrpc":"2.0","id":1,"result":{}}');
    expect(decoded(bytes).raw).toBe(bytes);
    const crlf = Buffer.from('{"jsonrpc":"2.0",\r\n"id":1,"result":{}}');
    const frame = decoded(crlf);
    expect(frame.raw).not.toBe(crlf);
    // The input buffer is not modified in place.
    expect(crlf.toString()).toBe('{"jsonrpc":"2.0",\r\n"id":1,"result":{}}');
  });

  it('rejects a raw (unescaped) line break inside a string as invalid JSON', () => {
    const result = decodeFrame(Buffer.from('{"jsonrpc":"2.0","id":1,"result":{"s":"a\nb"}}'));
    expect(result).toMatchObject({ ok: false, code: -32700 });
  });
});

describe('encodeFrame', () => {
  it('sends the peer\'s bytes as they came when the frame has them', () => {
    const frame = decoded('{ "id" : 1 , "jsonrpc" : "2.0" , "result" : { "big" : 123456789012345678901234567890 } }');
    expect(encodeFrame(frame)).toBe(frame.raw);
  });

  it('serialises frames the gateway built', () => {
    const frame = frameOf({ jsonrpc: '2.0', method: 'notifications/progress', params: { progress: 1 } });
    expect(frame.kind).toBe('notification');
    expect(encodeFrame(frame).toString()).toBe('{"jsonrpc":"2.0","method":"notifications/progress","params":{"progress":1}}');
  });
});
