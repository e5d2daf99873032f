/**
 * Security annotations (seed 000 §10.5): RFC 8785 canonical JSON against the RFC's published
 * examples, the documented HMAC input, sign → serialise → parse → verify round trips, one
 * tampered field at a time, replay protection (RFC 4303 style window) and the promise that
 * verification never throws. Real HMAC-SHA-256 throughout.
 */
import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ANNOTATION_KEY,
  AnnotationSigner,
  AnnotationVerifier,
  canonicalJson,
  type SecurityAnnotation,
  type VerifyResult,
} from '../../src/flow/annotation.ts';
import type { JsonRpcMessage } from '../../src/protocol/jsonrpc.ts';

const KEY_A = Buffer.alloc(32, 0xa1);
const KEY_B = Buffer.alloc(32, 0xb2);
const LABEL = { classification: 'INTERNAL', transformations: ['redact:aws-access-key-id', 'tokenize:email'] } as const;

type Obj = Record<string, unknown>;

const wire = (message: JsonRpcMessage): JsonRpcMessage => JSON.parse(JSON.stringify(message)) as JsonRpcMessage;

function request(params?: Obj, id: string | number = 7): JsonRpcMessage {
  return params === undefined ? { jsonrpc: '2.0', id, method: 'tools/call' } : { jsonrpc: '2.0', id, method: 'tools/call', params };
}

const callParams = (): Obj => ({ name: 'read_file', arguments: { path: '/tmp/a.txt', lines: [1, 2, 3] } });

function setup(options: { window?: number; maxSources?: number } = {}) {
  const signer = new AnnotationSigner({ key: KEY_A, source: 'gw-a' });
  const verifier = new AnnotationVerifier({ keys: new Map([['gw-a', KEY_A]]), ...options });
  return { signer, verifier };
}

/** The annotation object inside a signed message (for reading and tampering). */
function annotationOf(message: JsonRpcMessage): Obj {
  const container = ('result' in message ? message.result : (message as { params?: Obj }).params) as Obj;
  return (container._meta as Obj)[ANNOTATION_KEY] as Obj;
}

function failure(result: VerifyResult): { code: string; reason: string } {
  if (result.ok) throw new Error('expected the verification to fail');
  return { code: result.code, reason: result.reason };
}

function success(result: VerifyResult): { annotation: SecurityAnnotation; message: JsonRpcMessage } {
  if (!result.ok) throw new Error(`expected success, got ${result.code}: ${result.reason}`);
  return result;
}

/** The IEEE 754 double with these 64 bits (big-endian hex). */
function double(bits: string): number {
  const view = new DataView(new ArrayBuffer(8));
  view.setBigUint64(0, BigInt(`0x${bits}`));
  return view.getFloat64(0);
}

describe('canonicalJson (RFC 8785)', () => {
  it('writes the combined example of §3.2.2: literals, numbers, string escapes, sorted members', () => {
    // The RFC's input is JSON text with spellings a JS literal cannot keep (4.50, 1E30, \/).
    const input = String.raw`{
      "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
      "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
      "literals": [null, true, false]
    }`;
    const expected = String.raw`{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}`;
    expect(canonicalJson(JSON.parse(input))).toBe(expected);
  });

  it('sorts member names by UTF-16 code units (§3.2.3), so the emoji sorts before U+FB33', () => {
    const input = {
      '\u20ac': 'Euro Sign',
      '\r': 'Carriage Return',
      '\ufb33': 'Hebrew Letter Dalet With Dagesh',
      '1': 'One',
      '\ud83d\ude00': 'Emoji: Grinning Face',
      '\u0080': 'Control',
      '\u00f6': 'Latin Small Letter O With Diaeresis',
    };
    expect(canonicalJson(input)).toBe(
      '{"\\r":"Carriage Return","1":"One","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis",' +
        '"\u20ac":"Euro Sign","\ud83d\ude00":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}',
    );
  });

  it.each([
    ['0000000000000000', '0'],
    ['8000000000000000', '0'],
    ['0000000000000001', '5e-324'],
    ['8000000000000001', '-5e-324'],
    ['7fefffffffffffff', '1.7976931348623157e+308'],
    ['ffefffffffffffff', '-1.7976931348623157e+308'],
    ['4340000000000000', '9007199254740992'],
    ['c340000000000000', '-9007199254740992'],
    ['4430000000000000', '295147905179352830000'],
    ['44b52d02c7e14af5', '9.999999999999997e+22'],
    ['44b52d02c7e14af6', '1e+23'],
    ['44b52d02c7e14af7', '1.0000000000000001e+23'],
    ['444b1ae4d6e2ef4e', '999999999999999700000'],
    ['444b1ae4d6e2ef4f', '999999999999999900000'],
    ['444b1ae4d6e2ef50', '1e+21'],
    ['3eb0c6f7a0b5ed8c', '9.999999999999997e-7'],
    ['3eb0c6f7a0b5ed8d', '0.000001'],
    ['41b3de4355555553', '333333333.3333332'],
    ['41b3de4355555554', '333333333.33333325'],
    ['41b3de4355555555', '333333333.3333333'],
    ['41b3de4355555556', '333333333.3333334'],
    ['41b3de4355555557', '333333333.33333343'],
    ['becbf647612f3696', '-0.0000033333333333333333'],
    ['43143ff3c1cb0959', '1424953923781206.2'],
  ])('writes the Appendix B number 0x%s as %s', (bits, expected) => {
    expect(canonicalJson(double(bits))).toBe(expected);
  });

  it.each([
    ['NaN (0x7fffffffffffffff)', double('7fffffffffffffff')],
    ['Infinity (0x7ff0000000000000)', double('7ff0000000000000')],
    ['-Infinity', -Infinity],
  ])('refuses the non-finite number %s', (_name, value) => {
    expect(() => canonicalJson({ n: [value] })).toThrow(/non-finite number .* at \$\.n\[0\]/);
  });

  it('refuses what is not JSON, naming the place', () => {
    expect(() => canonicalJson(undefined)).toThrow(/type undefined at \$ /);
    expect(() => canonicalJson({ list: [1, undefined] })).toThrow(/type undefined at \$\.list\[1\]/);
    // eslint-disable-next-line no-sparse-arrays
    expect(() => canonicalJson([1, , 3])).toThrow(/undefined at \$\[1\]/);
    expect(() => canonicalJson({ f: () => 1 })).toThrow(/type function at \$\.f/);
    expect(() => canonicalJson({ s: Symbol('x') })).toThrow(/type symbol/);
    expect(() => canonicalJson({ big: 1n })).toThrow(/type bigint/);
    expect(() => canonicalJson({ 'a b': new Date(0) })).toThrow(/not a plain object at \$\["a b"\]/);
    expect(() => canonicalJson(new Map())).toThrow(/not a plain object/);
    expect(() => canonicalJson(Buffer.from('x'))).toThrow(/not a plain object/);
    const cyclic: Obj = { a: 1 };
    cyclic.self = { back: cyclic };
    expect(() => canonicalJson(cyclic)).toThrow(/a cycle at \$\.self\.back/);
  });

  it('refuses nesting deeper than 2048 levels with an Error, not a stack overflow', () => {
    let deep: unknown = 0;
    for (let i = 0; i < 5000; i++) deep = [deep];
    expect(() => canonicalJson(deep)).toThrow(/nesting deeper than 2048 levels/);
    let ok: unknown = 0;
    for (let i = 0; i < 2000; i++) ok = { a: ok };
    expect(canonicalJson(ok).length).toBe(2000 * 6 + 1);
  });

  it('leaves out object members whose value is undefined, as JSON.stringify does', () => {
    expect(canonicalJson({ b: 1, a: undefined, c: { d: undefined } })).toBe('{"b":1,"c":{}}');
  });

  it('escapes a lone surrogate as JSON.stringify does (the one deliberate deviation)', () => {
    expect(canonicalJson('a\ud800b')).toBe('"a\\ud800b"');
  });

  it('accepts the same object shared twice (only cycles are refused) and null-prototype objects', () => {
    const shared = { z: 1 };
    const bare = Object.assign(Object.create(null) as Obj, { y: 2, x: 1 });
    expect(canonicalJson({ a: shared, b: [shared], c: bare })).toBe('{"a":{"z":1},"b":[{"z":1}],"c":{"x":1,"y":2}}');
  });

  it('property: parses back to the value, and member order does not matter', () => {
    const reversed = (v: unknown): unknown => {
      if (Array.isArray(v)) return v.map(reversed);
      if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).reverse().map(([k, x]) => [k, reversed(x)]));
      return v;
    };
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const text = canonicalJson(value);
        expect(JSON.parse(text)).toEqual(JSON.parse(JSON.stringify(value)));
        expect(canonicalJson(reversed(value))).toBe(text);
        expect(canonicalJson(JSON.parse(text))).toBe(text);
      }),
    );
  });
});

describe('AnnotationSigner', () => {
  it('refuses keys shorter than 32 bytes, non-Buffer keys and empty sources', () => {
    expect(() => new AnnotationSigner({ key: Buffer.alloc(31), source: 'gw-a' })).toThrow(/at least 32 bytes/);
    expect(() => new AnnotationSigner({ key: 'x'.repeat(40) as unknown as Buffer, source: 'gw-a' })).toThrow(/must be a Buffer/);
    expect(() => new AnnotationSigner({ key: KEY_A, source: '' })).toThrow(/non-empty string/);
    expect(() => new AnnotationSigner({ key: KEY_A, source: 's'.repeat(257) })).toThrow(/at most 256/);
  });

  it('adds the annotation under params._meta with sequence numbers 1, 2, 3…', () => {
    const { signer } = setup();
    const first = signer.sign(request(callParams()), LABEL);
    const second = signer.sign(request(callParams()), LABEL);
    expect(annotationOf(first)).toMatchObject({ v: 1, classification: 'INTERNAL', source: 'gw-a', sequence: 1, alg: 'hmac-sha256', transformations: LABEL.transformations });
    expect(annotationOf(first).integrity).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(annotationOf(second).sequence).toBe(2);
    expect(Object.keys(annotationOf(first)).sort()).toEqual(['alg', 'classification', 'integrity', 'sequence', 'source', 'transformations', 'v']);
  });

  it('computes the HMAC over canonicalJson({ message: <message without the annotation>, annotation: <annotation without integrity> })', () => {
    const { signer } = setup();
    const original = request({ ...callParams(), _meta: { progressToken: 'p-1' } }, 'req-9');
    const signed = signer.sign(original, LABEL);
    const { integrity, ...unsigned } = annotationOf(signed);
    const expected = createHmac('sha256', KEY_A).update(canonicalJson({ message: original, annotation: unsigned }), 'utf8').digest('base64url');
    expect(integrity).toBe(expected);
    // The same definition when _meta and params held nothing else: both vanish from the input.
    const bare: JsonRpcMessage = { jsonrpc: '2.0', method: 'notifications/initialized' };
    const signedBare = signer.sign(bare, LABEL);
    const { integrity: bareIntegrity, ...bareUnsigned } = annotationOf(signedBare);
    expect(bareIntegrity).toBe(createHmac('sha256', KEY_A).update(canonicalJson({ message: bare, annotation: bareUnsigned })).digest('base64url'));
  });

  it('never changes its input', () => {
    const { signer } = setup();
    const params = { ...callParams(), _meta: { progressToken: 3 } };
    const original = request(params);
    const snapshot = structuredClone(original);
    const transformations = ['redact:email'];
    const signed = signer.sign(original, { classification: 'SENSITIVE', transformations });
    expect(original).toEqual(snapshot);
    expect(signed).not.toBe(original);
    transformations.push('later');
    expect(annotationOf(signed).transformations).toEqual(['redact:email']);
  });

  it('returns an error response unchanged and spends no sequence number on it', () => {
    const { signer } = setup();
    const error: JsonRpcMessage = { jsonrpc: '2.0', id: 1, error: { code: -32602, message: 'bad' } };
    expect(signer.sign(error, LABEL)).toBe(error);
    expect(annotationOf(signer.sign(request(), LABEL)).sequence).toBe(1);
  });

  it('refuses what it cannot sign, without spending a sequence number', () => {
    const { signer } = setup();
    expect(() => signer.sign(request(), { classification: 'SECRET' as never, transformations: [] })).toThrow(/unknown classification/);
    expect(() => signer.sign(request(), { classification: 'PUBLIC', transformations: [''] })).toThrow(/non-empty strings/);
    expect(() => signer.sign(request({ _meta: 'x' }), LABEL)).toThrow(/"params\._meta" must be an object/);
    expect(() => signer.sign(request({ _meta: [] }), LABEL)).toThrow(/"params\._meta" must be an object/);
    expect(() => signer.sign({ jsonrpc: '2.0', method: 'x', params: [1] as never }, LABEL)).toThrow(/"params" must be an object/);
    expect(() => signer.sign(request({ n: NaN }), LABEL)).toThrow(/non-finite number NaN at \$\.message\.params\.n/);
    expect(annotationOf(signer.sign(request(), LABEL)).sequence).toBe(1);
  });

  it('replaces an annotation from an earlier hop', () => {
    const upstream = new AnnotationSigner({ key: KEY_B, source: 'gw-b' });
    const { signer, verifier } = setup();
    const resigned = signer.sign(upstream.sign(request(callParams()), LABEL), { classification: 'RESTRICTED', transformations: [] });
    const checked = success(verifier.verify(wire(resigned)));
    expect(checked.annotation.source).toBe('gw-a');
    expect(checked.message).toEqual(request(callParams()));
  });
});

describe('AnnotationVerifier: round trips', () => {
  it('verifies a request after JSON serialisation and strips the annotation', () => {
    const { signer, verifier } = setup();
    const original = request(callParams());
    const checked = success(verifier.verify(wire(signer.sign(original, LABEL))));
    expect(checked.message).toStrictEqual(original);
    expect(checked.annotation).toMatchObject({ classification: 'INTERNAL', source: 'gw-a', sequence: 1, transformations: LABEL.transformations });
  });

  it('verifies a notification without params and gives it back without params', () => {
    const { signer, verifier } = setup();
    const original: JsonRpcMessage = { jsonrpc: '2.0', method: 'notifications/initialized' };
    const signed = signer.sign(original, { classification: 'PUBLIC', transformations: [] });
    expect((signed as { params?: Obj }).params).toEqual({ _meta: { [ANNOTATION_KEY]: annotationOf(signed) } });
    const checked = success(verifier.verify(wire(signed)));
    expect(checked.message).toStrictEqual(original);
  });

  it('verifies a result, annotated under result._meta, including an empty result', () => {
    const { signer, verifier } = setup();
    const original: JsonRpcMessage = { jsonrpc: '2.0', id: 'r-1', result: { content: [{ type: 'text', text: 'hello' }], isError: false } };
    const signed = signer.sign(original, { classification: 'SENSITIVE', transformations: ['redact:email'] });
    expect(annotationOf(signed).classification).toBe('SENSITIVE');
    expect(success(verifier.verify(wire(signed))).message).toStrictEqual(original);
    const empty: JsonRpcMessage = { jsonrpc: '2.0', id: 2, result: {} };
    expect(success(verifier.verify(wire(signer.sign(empty, LABEL)))).message).toStrictEqual(empty);
  });

  it('leaves other _meta keys alone, and a _meta that held only the annotation disappears again', () => {
    const { signer, verifier } = setup();
    const withToken = request({ ...callParams(), _meta: { progressToken: 'tok-1', 'example.com/trace': { span: 4 } } });
    const signed = signer.sign(withToken, LABEL);
    expect((signed as unknown as { params: { _meta: Obj } }).params._meta.progressToken).toBe('tok-1');
    expect(success(verifier.verify(wire(signed))).message).toStrictEqual(withToken);
    const without = request(callParams());
    expect(success(verifier.verify(wire(signer.sign(without, LABEL)))).message).toStrictEqual(without);
  });

  it('normalises an empty _meta and an empty params to absent (they cannot be told apart once annotated)', () => {
    const { signer, verifier } = setup();
    const emptyMeta = request({ name: 'x', _meta: {} });
    expect(success(verifier.verify(wire(signer.sign(emptyMeta, LABEL)))).message).toStrictEqual(request({ name: 'x' }));
    const emptyParams = request({});
    expect(success(verifier.verify(wire(signer.sign(emptyParams, LABEL)))).message).toStrictEqual(request());
  });

  it('treats members set to undefined as absent, on both sides', () => {
    const { signer, verifier } = setup();
    const local = { jsonrpc: '2.0', id: 1, method: 'ping', params: { cursor: undefined, _meta: { progressToken: undefined } } } as JsonRpcMessage;
    expect(success(verifier.verify(wire(signer.sign(local, LABEL)))).message).toStrictEqual({ jsonrpc: '2.0', id: 1, method: 'ping' });
    expect(success(verifier.verify(signer.sign(local, LABEL))).message).toStrictEqual({ jsonrpc: '2.0', id: 1, method: 'ping' });
  });

  it('accepts one shared key for every source', () => {
    const verifier = new AnnotationVerifier({ keys: KEY_A });
    const a = new AnnotationSigner({ key: KEY_A, source: 'gw-a' });
    const c = new AnnotationSigner({ key: KEY_A, source: 'gw-c' });
    expect(success(verifier.verify(wire(a.sign(request(), LABEL)))).annotation.source).toBe('gw-a');
    expect(success(verifier.verify(wire(c.sign(request(), LABEL)))).annotation.source).toBe('gw-c');
  });

  it('property: for arbitrary JSON params, sign → stringify → parse → verify is ok and gives back the original', () => {
    const { signer, verifier } = setup();
    const name = fc.string().filter((key) => key !== '_meta');
    const message = fc
      .record({
        kind: fc.constantFrom('request', 'notification', 'result'),
        id: fc.oneof(fc.string(), fc.integer()),
        fields: fc.dictionary(name, fc.jsonValue()),
        meta: fc.dictionary(fc.string().filter((key) => key !== ANNOTATION_KEY), fc.jsonValue()),
      })
      .map(({ kind, id, fields, meta }): JsonRpcMessage => {
        const body: Obj = Object.keys(meta).length > 0 ? { ...fields, _meta: meta } : fields;
        if (kind === 'result') return { jsonrpc: '2.0', id, result: body };
        const base = kind === 'request' ? { jsonrpc: '2.0' as const, id, method: 'tools/call' } : { jsonrpc: '2.0' as const, method: 'notifications/message' };
        return Object.keys(body).length > 0 ? { ...base, params: body } : base;
      });
    fc.assert(
      fc.property(message, fc.constantFrom('PUBLIC', 'INTERNAL', 'SENSITIVE', 'RESTRICTED'), (original, classification) => {
        const checked = verifier.verify(wire(signer.sign(original, { classification, transformations: ['t:1'] })));
        expect(checked.ok).toBe(true);
        expect(success(checked).message).toStrictEqual(wire(original));
      }),
    );
  });
});

describe('AnnotationVerifier: tampering', () => {
  const tamper = (edit: (m: Obj, annotation: Obj) => void, options: { keys?: ReadonlyMap<string, Buffer> | Buffer } = {}) => {
    const signer = new AnnotationSigner({ key: KEY_A, source: 'gw-a' });
    const verifier = new AnnotationVerifier({ keys: options.keys ?? new Map([['gw-a', KEY_A]]) });
    const message = wire(signer.sign(request({ ...callParams(), _meta: { progressToken: 1 } }, 7), LABEL)) as unknown as Obj;
    edit(message, annotationOf(message as unknown as JsonRpcMessage));
    return failure(verifier.verify(message as unknown as JsonRpcMessage));
  };
  const params = (m: Obj) => m.params as Obj;

  it.each<[string, (m: Obj, a: Obj) => void]>([
    ['changing an argument', (m) => ((params(m).arguments as Obj).path = '/etc/shadow')],
    ['adding an argument', (m) => ((params(m).arguments as Obj).extra = true)],
    ['changing the method', (m) => (m.method = 'tools/list')],
    ['changing the id to another number', (m) => (m.id = 8)],
    ['changing the id to the same digits as a string', (m) => (m.id = '7')],
    ['adding a top-level member', (m) => (m.extra = 1)],
    ['changing another _meta key', (m) => ((params(m)._meta as Obj).progressToken = 2)],
    ['changing the classification', (_m, a) => (a.classification = 'PUBLIC')],
    ['changing the sequence', (_m, a) => (a.sequence = 2)],
    ['removing a transformation', (_m, a) => (a.transformations = ['tokenize:email'])],
    ['reordering the transformations', (_m, a) => (a.transformations = ['tokenize:email', 'redact:aws-access-key-id'])],
    ['changing one character of the integrity', (_m, a) => (a.integrity = `${(a.integrity as string).startsWith('A') ? 'B' : 'A'}${(a.integrity as string).slice(1)}`)],
    // The last of 43 base64url characters carries 4 bits and 2 unused ones: flipping an unused
    // bit gives another spelling of the same bytes, which must not pass as the same HMAC.
    ['respelling the integrity (same bytes)', (_m, a) => {
      const text = a.integrity as string;
      const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
      const respelled = text.slice(0, -1) + alphabet[alphabet.indexOf(text.at(-1)!) ^ 1]!;
      expect(Buffer.from(respelled, 'base64url')).toEqual(Buffer.from(text, 'base64url'));
      a.integrity = respelled;
    }],
  ])('refuses %s as bad-integrity', (_name, edit) => {
    expect(tamper(edit).code).toBe('bad-integrity');
  });

  it('refuses a changed source: unknown-source with per-source keys, bad-integrity with a shared key', () => {
    expect(tamper((_m, a) => (a.source = 'gw-z'))).toMatchObject({ code: 'unknown-source', reason: expect.stringContaining('"gw-z"') as unknown });
    expect(tamper((_m, a) => (a.source = 'gw-b'), { keys: new Map([['gw-a', KEY_A], ['gw-b', KEY_A]]) }).code).toBe('bad-integrity');
    expect(tamper((_m, a) => (a.source = 'gw-b'), { keys: KEY_A }).code).toBe('bad-integrity');
  });

  it('refuses a message signed with another key', () => {
    expect(tamper(() => undefined, { keys: new Map([['gw-a', KEY_B]]) }).code).toBe('bad-integrity');
    expect(tamper(() => undefined, { keys: KEY_B }).code).toBe('bad-integrity');
  });

  it.each<[string, (a: Obj) => void]>([
    ['an unknown alg', (a) => (a.alg = 'hmac-sha512')],
    ['a missing alg', (a) => delete a.alg],
    ['version 2', (a) => (a.v = 2)],
    ['an unknown classification', (a) => (a.classification = 'SECRET')],
    ['a lower-case classification', (a) => (a.classification = 'internal')],
    ['a negative sequence', (a) => (a.sequence = -1)],
    ['sequence 0', (a) => (a.sequence = 0)],
    ['a fractional sequence', (a) => (a.sequence = 1.5)],
    ['a string sequence', (a) => (a.sequence = '1')],
    ['an unsafe sequence', (a) => (a.sequence = 2 ** 53)],
    ['an empty source', (a) => (a.source = '')],
    ['a numeric source', (a) => (a.source = 1)],
    ['transformations that are not an array', (a) => (a.transformations = 'redact:email')],
    ['transformations holding a number', (a) => (a.transformations = [1])],
    ['a missing integrity', (a) => delete a.integrity],
    ['an integrity of the wrong length', (a) => (a.integrity = 'abc')],
    ['a padded integrity', (a) => (a.integrity = `${(a.integrity as string).slice(0, 42)}=`)],
    ['a base64 (not base64url) integrity', (a) => (a.integrity = `+${(a.integrity as string).slice(1)}`)],
    ['an unknown member', (a) => (a.note = 'x')],
  ])('refuses %s as malformed', (_name, edit) => {
    const result = tamper((_m, a) => edit(a));
    expect(result.code).toBe('malformed');
    expect(result.reason).toMatch(/^malformed security annotation: /);
  });

  it('refuses structurally broken carriers as malformed, without throwing', () => {
    const verifier = new AnnotationVerifier({ keys: KEY_A });
    const cases: unknown[] = [
      null,
      'text',
      [request()],
      { jsonrpc: '2.0', method: 'x', params: [1] },
      { jsonrpc: '2.0', method: 'x', params: { _meta: 'x' } },
      { jsonrpc: '2.0', method: 'x', params: { _meta: [] } },
      { jsonrpc: '2.0', method: 'x', params: { _meta: { [ANNOTATION_KEY]: 'x' } } },
      { jsonrpc: '2.0', method: 'x', params: { _meta: { [ANNOTATION_KEY]: null } } },
      { jsonrpc: '2.0', id: 1, result: 5 },
      { jsonrpc: '2.0', method: 'x', params: { _meta: { [ANNOTATION_KEY]: { get v(): never { throw new Error('hostile getter'); } } } } },
    ];
    for (const value of cases) expect(failure(verifier.verify(value as JsonRpcMessage)).code).toBe('malformed');
  });

  it('reports a message without an annotation as missing, including error responses', () => {
    const verifier = new AnnotationVerifier({ keys: KEY_A });
    expect(failure(verifier.verify(request())).code).toBe('missing');
    expect(failure(verifier.verify(request(callParams()))).code).toBe('missing');
    expect(failure(verifier.verify(request({ _meta: { progressToken: 1 } }))).code).toBe('missing');
    expect(failure(verifier.verify({ jsonrpc: '2.0', id: 1, result: {} })).code).toBe('missing');
    expect(failure(verifier.verify({ jsonrpc: '2.0', id: 1, error: { code: -1, message: 'x' } }))).toMatchObject({ code: 'missing', reason: expect.stringContaining('error responses') as unknown });
  });
});

describe('AnnotationVerifier: replay window', () => {
  it('accepts a message once; the same bytes again are replayed', () => {
    const { signer, verifier } = setup();
    const text = JSON.stringify(signer.sign(request(callParams()), LABEL));
    expect(verifier.verify(JSON.parse(text) as JsonRpcMessage).ok).toBe(true);
    expect(failure(verifier.verify(JSON.parse(text) as JsonRpcMessage)).code).toBe('replayed');
  });

  it('accepts out-of-order numbers inside the window once each, and refuses those older than the window', () => {
    const { signer, verifier } = setup({ window: 4 });
    const signed = Array.from({ length: 8 }, (_, i) => wire(signer.sign(request({ n: i }), LABEL)));
    const verify = (sequence: number) => verifier.verify(signed[sequence - 1]!);
    expect(verify(6).ok).toBe(true);
    expect(verify(4).ok).toBe(true); // 6 - 4 < 4: inside the window, late is fine
    expect(failure(verify(4)).code).toBe('replayed');
    expect(verify(3).ok).toBe(true); // the oldest number the window still covers
    expect(failure(verify(2)).code).toBe('too-old');
    expect(failure(verify(1)).code).toBe('too-old');
    expect(verify(8).ok).toBe(true); // the window slides: 5 is still inside, 4 drops out
    expect(verify(5).ok).toBe(true);
    expect(failure(verify(4)).code).toBe('too-old');
    expect(failure(verify(6)).code).toBe('replayed');
    expect(verify(7).ok).toBe(true);
    expect(failure(verify(7)).code).toBe('replayed');
  });

  it('slides past a jump longer than the window without stale bits', () => {
    const { signer, verifier } = setup({ window: 64 });
    const signed = Array.from({ length: 300 }, () => wire(signer.sign(request(), LABEL)));
    expect(verifier.verify(signed[0]!).ok).toBe(true);
    expect(verifier.verify(signed[299]!).ok).toBe(true);
    expect(failure(verifier.verify(signed[299]!)).code).toBe('replayed');
    expect(verifier.verify(signed[299 - 63]!).ok).toBe(true);
    expect(failure(verifier.verify(signed[299 - 64]!)).code).toBe('too-old');
    // 257 shares its ring slot (257 % 64) with 1, accepted before the jump: that bit is gone.
    expect(verifier.verify(signed[257 - 1]!).ok).toBe(true);
  });

  it('moves the window only for messages whose HMAC verified', () => {
    const { signer, verifier } = setup({ window: 4 });
    const genuine = wire(signer.sign(request(), LABEL));
    const forged = wire(genuine);
    annotationOf(forged).sequence = 1000;
    expect(failure(verifier.verify(forged)).code).toBe('bad-integrity');
    expect(verifier.verify(genuine).ok).toBe(true);
  });

  it('keeps one window per source', () => {
    const verifier = new AnnotationVerifier({ keys: KEY_A });
    const a = new AnnotationSigner({ key: KEY_A, source: 'gw-a' });
    const b = new AnnotationSigner({ key: KEY_A, source: 'gw-b' });
    expect(verifier.verify(wire(a.sign(request(), LABEL))).ok).toBe(true);
    expect(verifier.verify(wire(b.sign(request(), LABEL))).ok).toBe(true); // also sequence 1
  });

  it('bounds the sources it remembers, forgetting the one heard from least recently', () => {
    const verifier = new AnnotationVerifier({ keys: KEY_A, maxSources: 2 });
    const signers = new Map(['a', 'b', 'c'].map((s) => [s, new AnnotationSigner({ key: KEY_A, source: s })]));
    const first = new Map([...signers].map(([s, signer]) => [s, wire(signer.sign(request(), LABEL))]));
    const second = wire(signers.get('a')!.sign(request(), LABEL));
    expect(verifier.verify(first.get('a')!).ok).toBe(true);
    expect(verifier.verify(first.get('b')!).ok).toBe(true);
    expect(verifier.verify(second).ok).toBe(true); // a is now the most recent
    expect(verifier.verify(first.get('c')!).ok).toBe(true); // evicts b, not a
    expect(failure(verifier.verify(first.get('a')!)).code).toBe('replayed');
    // b's window was forgotten: its old message is accepted again (documented trade-off).
    expect(verifier.verify(first.get('b')!).ok).toBe(true);
  });

  it('checks its options once', () => {
    expect(() => new AnnotationVerifier({ keys: Buffer.alloc(16) })).toThrow(/at least 32 bytes/);
    expect(() => new AnnotationVerifier({ keys: new Map([['gw-a', Buffer.alloc(8)]]) })).toThrow(/the key of "gw-a" must be at least 32 bytes/);
    expect(() => new AnnotationVerifier({ keys: { 'gw-a': KEY_A } as never })).toThrow(/Buffer or a Map/);
    expect(() => new AnnotationVerifier({ keys: KEY_A, window: 0 })).toThrow(/window/);
    expect(() => new AnnotationVerifier({ keys: KEY_A, window: 1.5 })).toThrow(/window/);
    expect(() => new AnnotationVerifier({ keys: KEY_A, window: 65537 })).toThrow(/window/);
    expect(() => new AnnotationVerifier({ keys: KEY_A, maxSources: 0 })).toThrow(/maxSources/);
  });

  it('keeps a private copy of its keys', () => {
    const key = Buffer.from(KEY_A);
    const verifier = new AnnotationVerifier({ keys: new Map([['gw-a', key]]) });
    const signed = wire(new AnnotationSigner({ key: KEY_A, source: 'gw-a' }).sign(request(), LABEL));
    key.fill(0);
    expect(verifier.verify(signed).ok).toBe(true);
  });
});
