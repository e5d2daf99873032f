/**
 * Newline-delimited JSON framing (the MCP stdio transport), linear in the input: each chunk is
 * searched for newlines once and pieces are joined once per line, unlike a reader that rescans
 * its whole buffer on every chunk. A line longer than `maxBytes` is not buffered: only its
 * first and last few KiB are kept, so the caller can still answer the request it carried.
 */

const NEWLINE = 0x0a;
const CARRIAGE_RETURN = 0x0d;
const KEEP = 4096;

export interface OversizedLine {
  /** Total length of the line in bytes. */
  size: number;
  head: Buffer;
  tail: Buffer;
}

export interface LineHandlers {
  line(bytes: Buffer): void;
  oversized(info: OversizedLine): void;
}

export interface LineFramerOptions {
  /** Deliver blank lines too (SSE ends an event with one); default false. */
  readonly blankLines?: boolean;
}

export class LineFramer {
  readonly #maxBytes: number;
  readonly #handlers: LineHandlers;
  readonly #blankLines: boolean;
  #pieces: Buffer[] = [];
  #size = 0;
  #head: Buffer | undefined;
  #tail: Buffer | undefined;

  constructor(maxBytes: number, handlers: LineHandlers, options: LineFramerOptions = {}) {
    this.#maxBytes = maxBytes;
    this.#handlers = handlers;
    this.#blankLines = options.blankLines ?? false;
  }

  push(chunk: Buffer): void {
    let start = 0;
    for (;;) {
      const newline = chunk.indexOf(NEWLINE, start);
      if (newline < 0) {
        if (start < chunk.length) this.#append(chunk.subarray(start));
        return;
      }
      if (newline > start) this.#append(chunk.subarray(start, newline));
      this.#endLine();
      start = newline + 1;
    }
  }

  /** Bytes buffered for an unterminated line (a peer that closes mid-line loses them). */
  get pending(): number {
    return this.#size;
  }

  #append(piece: Buffer): void {
    this.#size += piece.length;
    if (this.#head === undefined && this.#size <= this.#maxBytes) {
      this.#pieces.push(piece);
      return;
    }
    if (this.#head === undefined) {
      // The line just went over the limit (perhaps with this very piece): keep its first and
      // last bytes, drop the rest, buffer nothing more of it.
      this.#pieces.push(piece);
      const sofar = Buffer.concat(this.#pieces);
      this.#pieces = [];
      this.#head = Buffer.from(sofar.subarray(0, KEEP));
      this.#tail = Buffer.from(sofar.subarray(Math.max(0, sofar.length - KEEP)));
      return;
    }
    const tail = piece.length >= KEEP ? piece.subarray(piece.length - KEEP) : Buffer.concat([this.#tail!, piece]);
    this.#tail = Buffer.from(tail.subarray(Math.max(0, tail.length - KEEP)));
  }

  #endLine(): void {
    const size = this.#size;
    this.#size = 0;
    if (this.#head !== undefined) {
      const info = { size, head: this.#head, tail: this.#tail! };
      this.#head = this.#tail = undefined;
      this.#handlers.oversized(info);
      return;
    }
    let line = this.#pieces.length === 1 ? this.#pieces[0]! : Buffer.concat(this.#pieces, size);
    this.#pieces = [];
    if (line[line.length - 1] === CARRIAGE_RETURN) line = line.subarray(0, line.length - 1);
    if (!this.#blankLines && isBlank(line)) return;
    this.#handlers.line(line);
  }
}

function isBlank(line: Buffer): boolean {
  for (const b of line) if (b !== 0x20 && b !== 0x09 && b !== CARRIAGE_RETURN) return false;
  return true;
}
