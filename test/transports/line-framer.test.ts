/**
 * Newline framing: however the bytes are chunked, the same lines come out, byte for byte;
 * CRLF is accepted; a line over the limit is reported with its size (and, through
 * `readFrames`, with the id and method needed to answer it) without being buffered, and the
 * next line is read normally. Linearity is tested functionally on a 20 MB line.
 */
import { createHash } from 'node:crypto';
import { PassThrough } from 'node:stream';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { peekEnvelope } from '../../src/protocol/envelope.ts';
import { ErrorCode } from '../../src/protocol/jsonrpc.ts';
import { LineFramer, type OversizedLine } from '../../src/transports/line-framer.ts';
import { readFrames } from '../../src/transports/stdio-stream.ts';
import type { Frame } from '../../src/protocol/frame.ts';
import type { InvalidFrame } from '../../src/transports/transport.ts';

interface Collected {
  lines: Buffer[];
  oversized: OversizedLine[];
  framer: LineFramer;
}

function collect(maxBytes: number, options: { blankLines?: boolean } = {}): Collected {
  const lines: Buffer[] = [];
  const oversized: OversizedLine[] = [];
  const framer = new LineFramer(maxBytes, { line: (b) => lines.push(Buffer.from(b)), oversized: (o) => oversized.push(o) }, options);
  return { lines, oversized, framer };
}

const text = (c: Collected) => c.lines.map((l) => l.toString('utf8'));

/** Splits `bytes` at the given cut points. */
function cut(bytes: Buffer, points: number[]): Buffer[] {
  const sorted = [...new Set(points.map((p) => Math.max(0, Math.min(bytes.length, p))))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let from = 0;
  for (const p of [...sorted, bytes.length]) {
    if (p > from) chunks.push(bytes.subarray(from, p));
    from = p;
  }
  return chunks;
}

describe('LineFramer', () => {
  it('joins a message that arrives one byte at a time, multi-byte characters split included', () => {
    const message = '{"jsonrpc":"2.0","id":1,"result":{"text":"日本語 😀 é"}}';
    const c = collect(1 << 20);
    for (const byte of Buffer.from(`${message}\n`)) c.framer.push(Buffer.from([byte]));
    expect(text(c)).toEqual([message]);
    expect(c.framer.pending).toBe(0);
  });

  it('delivers many messages from one chunk, in order', () => {
    const messages = Array.from({ length: 500 }, (_, i) => JSON.stringify({ jsonrpc: '2.0', method: 'notifications/progress', params: { progress: i } }));
    const c = collect(1 << 20);
    c.framer.push(Buffer.from(`${messages.join('\n')}\n`));
    expect(text(c)).toEqual(messages);
  });

  it('produces the same lines however the stream is chunked (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: 'grapheme', minLength: 1 }).filter((s) => !/[\r\n]/.test(s) && s.trim() !== ''), { minLength: 1, maxLength: 8 }), fc.array(fc.nat(), { maxLength: 20 }), (lines, points) => {
        const bytes = Buffer.from(lines.map((l) => `${l}\n`).join(''), 'utf8');
        const c = collect(1 << 20);
        for (const chunk of cut(bytes, points.map((p) => p % (bytes.length + 1)))) c.framer.push(chunk);
        expect(text(c)).toEqual(lines);
      }),
      { numRuns: 300 },
    );
  });

  it('keeps an unterminated line pending until its newline arrives', () => {
    const c = collect(1024);
    c.framer.push(Buffer.from('{"a":1}\n{"b":'));
    expect(text(c)).toEqual(['{"a":1}']);
    expect(c.framer.pending).toBe(5);
    c.framer.push(Buffer.from('2}'));
    expect(c.lines).toHaveLength(1);
    c.framer.push(Buffer.from('\n'));
    expect(text(c)).toEqual(['{"a":1}', '{"b":2}']);
    expect(c.framer.pending).toBe(0);
  });

  it('strips the CR of CRLF line ends, also when CR and LF arrive in different chunks', () => {
    const c = collect(1024);
    c.framer.push(Buffer.from('{"a":1}\r\n{"b":2}\r'));
    c.framer.push(Buffer.from('\n{"c":3}\n'));
    expect(text(c)).toEqual(['{"a":1}', '{"b":2}', '{"c":3}']);
  });

  it('keeps a CR that is not at the end of the line', () => {
    const c = collect(1024);
    c.framer.push(Buffer.from('a\rb\n'));
    expect(text(c)).toEqual(['a\rb']);
  });

  it('skips blank lines unless asked for them (SSE ends events with one)', () => {
    const skipping = collect(1024);
    skipping.framer.push(Buffer.from('\n\r\n  \t\n{"a":1}\n\n'));
    expect(text(skipping)).toEqual(['{"a":1}']);
    const keeping = collect(1024, { blankLines: true });
    keeping.framer.push(Buffer.from('data: x\n\r\ndata: y\n\n'));
    expect(text(keeping)).toEqual(['data: x', '', 'data: y', '']);
  });

  it('reports an oversized line with its size and the bytes at both ends, then reads the next line', () => {
    const big = `{"jsonrpc":"2.0","id":"big-1","method":"tools/call","params":{"name":"x","arguments":{"blob":"${'A'.repeat(50_000)}"}}}`;
    const c = collect(10_000);
    const stream = Buffer.from(`{"before":1}\n${big}\n{"after":2}\n`);
    for (const chunk of cut(stream, Array.from({ length: 40 }, (_, i) => i * 1500 + 7))) c.framer.push(chunk);
    expect(text(c)).toEqual(['{"before":1}', '{"after":2}']);
    expect(c.oversized).toHaveLength(1);
    const info = c.oversized[0]!;
    expect(info.size).toBe(Buffer.byteLength(big));
    expect(big.startsWith(info.head.toString())).toBe(true);
    expect(big.endsWith(info.tail.toString())).toBe(true);
    expect(info.head.length).toBeGreaterThan(0);
    expect(info.head.length).toBeLessThanOrEqual(8192);
    expect(info.tail.length).toBeLessThanOrEqual(8192);
    expect(peekEnvelope(info.head, info.tail)).toEqual({ id: 'big-1', method: 'tools/call' });
    expect(c.framer.pending).toBe(0);
  });

  it('accepts a line of exactly the limit and reports one byte more', () => {
    const c = collect(10);
    c.framer.push(Buffer.from('0123456789\n01234567890\nabc\n'));
    expect(text(c)).toEqual(['0123456789', 'abc']);
    expect(c.oversized.map((o) => o.size)).toEqual([11]);
  });

  it('keeps the head of an oversized line that arrives in a single chunk larger than the limit', () => {
    // With max_message_bytes below the pipe's chunk size (64 KiB), the first piece of a line
    // can exceed the limit on its own; the head must still be the line's first bytes, or the
    // request it carried can no longer be answered (its id and method are in the head).
    const big = `{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"arguments":{"blob":"${'A'.repeat(2000)}"}}}`;
    const c = collect(100);
    c.framer.push(Buffer.from(`${big}\n`));
    expect(c.oversized).toHaveLength(1);
    expect(c.oversized[0]!.size).toBe(big.length);
    expect(c.oversized[0]!.head.toString()).toBe(big.slice(0, c.oversized[0]!.head.length));
    expect(c.oversized[0]!.head.toString()).toContain('"method":"tools/call"');
    expect(peekEnvelope(c.oversized[0]!.head, c.oversized[0]!.tail)).toEqual({ id: 5, method: 'tools/call' });
  });

  it('frames a 20 MB line arriving in 64 KiB chunks correctly (linear framing, checked functionally)', () => {
    const size = 20 * 1000 * 1000;
    const prefix = Buffer.from('{"jsonrpc":"2.0","id":1,"result":{"data":"');
    const suffix = Buffer.from('"}}');
    const body = Buffer.alloc(size - prefix.length - suffix.length);
    for (let i = 0; i < body.length; i++) body[i] = 0x61 + (i % 26);
    const line = Buffer.concat([prefix, body, suffix]);
    const expectedHash = createHash('sha256').update(line).digest('hex');
    const stream = Buffer.concat([line, Buffer.from('\n{"next":true}\n')]);

    const c = collect(32 * 1024 * 1024);
    const CHUNK = 64 * 1024;
    let chunks = 0;
    for (let i = 0; i < stream.length; i += CHUNK, chunks++) c.framer.push(stream.subarray(i, i + CHUNK));
    expect(chunks).toBeGreaterThan(300);
    expect(c.lines).toHaveLength(2);
    expect(c.lines[0]!.length).toBe(size);
    expect(createHash('sha256').update(c.lines[0]!).digest('hex')).toBe(expectedHash);
    expect(c.lines[1]!.toString()).toBe('{"next":true}');

    // The same line over a 10 MiB limit: reported, never delivered, and the next line still is.
    const limited = collect(10 * 1024 * 1024);
    for (let i = 0; i < stream.length; i += CHUNK) limited.framer.push(stream.subarray(i, i + CHUNK));
    expect(text(limited)).toEqual(['{"next":true}']);
    expect(limited.oversized.map((o) => o.size)).toEqual([size]);
    expect(limited.oversized[0]!.head.subarray(0, prefix.length).equals(prefix)).toBe(true);
    expect(limited.oversized[0]!.tail.subarray(-suffix.length).equals(suffix)).toBe(true);
  });
});

describe('readFrames (a stream to frames)', () => {
  function reader(maxBytes: number) {
    const input = new PassThrough();
    const frames: Frame[] = [];
    const invalid: InvalidFrame[] = [];
    readFrames(input, maxBytes, { onframe: (f) => frames.push(f), oninvalid: (p) => invalid.push(p) });
    const flush = () => new Promise((r) => setImmediate(r));
    return { input, frames, invalid, flush };
  }

  it('reports an oversized request as invalid with its size, id and method, and decodes the next message', async () => {
    const r = reader(1000);
    const big = JSON.stringify({ jsonrpc: '2.0', method: 'tools/call', params: { name: 'x', arguments: { blob: 'B'.repeat(5000) } }, id: 'call-7' });
    r.input.write(Buffer.from('{"jsonrpc":"2.0","id":1,"method":"ping"}\n'));
    // Arrives in pieces smaller than the limit, the way a pipe delivers a large write.
    for (let i = 0; i < big.length; i += 512) r.input.write(Buffer.from(big.slice(i, i + 512)));
    r.input.write(Buffer.from('\n{"jsonrpc":"2.0","id":2,"method":"ping"}\n'));
    await r.flush();
    expect(r.frames.map((f) => (f.message as { id: number }).id)).toEqual([1, 2]);
    expect(r.invalid).toHaveLength(1);
    expect(r.invalid[0]).toMatchObject({ code: ErrorCode.MessageTooLarge, id: 'call-7', method: 'tools/call', size: Buffer.byteLength(big), oversized: true });
    expect(r.invalid[0]!.reason).toMatch(/over the .* limit/);
  });

  it('reports malformed lines with the JSON-RPC code and the id when it can be read', async () => {
    const r = reader(1000);
    r.input.write('{not json\n{"jsonrpc":"1.0","id":4,"method":"x"}\n{"jsonrpc":"2.0","id":3,"method":"ping"}\n');
    await r.flush();
    expect(r.invalid.map((p) => [p.code, p.id])).toEqual([
      [ErrorCode.ParseError, null],
      [ErrorCode.InvalidRequest, 4],
    ]);
    expect(r.invalid[0]!.size).toBe('{not json'.length);
    expect(r.frames).toHaveLength(1);
  });

  it('keeps each frame\'s bytes without the line end', async () => {
    const r = reader(1000);
    r.input.write('{"jsonrpc":"2.0","id":1,"method":"ping"}\r\n');
    await r.flush();
    expect(r.frames[0]!.raw!.toString()).toBe('{"jsonrpc":"2.0","id":1,"method":"ping"}');
  });
});
