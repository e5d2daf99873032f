/**
 * Server-Sent Events, both halves: a linear, bounded reader for upstream streams, and the
 * writer the HTTP downstream uses. Only what MCP needs: `data`, `event`, `id`, `retry` and
 * comments; events named other than `message` (e.g. the legacy `endpoint`) are passed up too.
 */
import { LineFramer, type OversizedLine } from './line-framer.ts';

export interface SseEvent {
  readonly event: string;
  readonly data: Buffer;
  readonly id: string | undefined;
  readonly retry: number | undefined;
}

export interface SseHandlers {
  event(event: SseEvent): void;
  /** A `data` line over the limit: its first and last bytes, without the `data:` prefix. */
  oversized(info: OversizedLine): void;
}

const DATA = Buffer.from('data:');
const COLON = 0x3a;
const SPACE = 0x20;

/** Feeds response chunks in; calls back once per complete event. */
export class SseReader {
  readonly #framer: LineFramer;
  readonly #handlers: SseHandlers;
  #data: Buffer[] = [];
  #event = '';
  #id: string | undefined;
  #retry: number | undefined;
  /** The last event id seen on this stream (for Last-Event-ID on reconnect). */
  lastEventId: string | undefined;

  constructor(maxBytes: number, handlers: SseHandlers) {
    this.#handlers = handlers;
    this.#framer = new LineFramer(maxBytes + DATA.length + 1, { line: (l) => this.#line(l), oversized: (o) => this.#oversized(o) }, { blankLines: true });
  }

  push(chunk: Buffer): void {
    this.#framer.push(chunk);
  }

  #line(line: Buffer): void {
    if (line.length === 0) return this.#dispatch();
    if (line[0] === COLON) return; // comment / keep-alive
    const colon = line.indexOf(COLON);
    const field = colon < 0 ? line.toString('latin1') : line.toString('latin1', 0, colon);
    let start = colon < 0 ? line.length : colon + 1;
    if (line[start] === SPACE) start++;
    const value = line.subarray(start);
    switch (field) {
      case 'data':
        this.#data.push(value);
        break;
      case 'event':
        this.#event = value.toString('utf8');
        break;
      case 'id':
        if (!value.includes(0)) this.#id = value.toString('utf8');
        break;
      case 'retry':
        if (/^\d+$/.test(value.toString('latin1'))) this.#retry = Number(value.toString('latin1'));
        break;
      default:
        break;
    }
  }

  #dispatch(): void {
    if (this.#id !== undefined) this.lastEventId = this.#id;
    const data = this.#data;
    const event: SseEvent = {
      event: this.#event || 'message',
      data: data.length === 1 ? data[0]! : Buffer.concat(data.flatMap((d, i) => (i === 0 ? [d] : [Buffer.from('\n'), d]))),
      id: this.#id,
      retry: this.#retry,
    };
    this.#data = [];
    this.#event = '';
    this.#id = undefined;
    this.#retry = undefined;
    // An event with no data is a priming or keep-alive event: it only carries id/retry.
    if (data.length === 0) {
      if (event.retry !== undefined || event.id !== undefined) this.#handlers.event(event);
      return;
    }
    this.#handlers.event(event);
  }

  #oversized(info: OversizedLine): void {
    this.#data = [];
    const head = info.head.subarray(0, DATA.length).equals(DATA) ? info.head.subarray(info.head[DATA.length] === SPACE ? DATA.length + 1 : DATA.length) : info.head;
    this.#handlers.oversized({ size: info.size, head, tail: info.tail });
  }
}

/** Serialises one SSE event. `data` is a frame's bytes, which hold no CR or LF (see `decodeFrame`). */
export function sseEvent(data: Buffer, id?: string): Buffer[] {
  return id === undefined ? [EVENT_MESSAGE, data, END] : [Buffer.from(`id: ${id}\nevent: message\ndata: `), data, END];
}

const EVENT_MESSAGE = Buffer.from('event: message\ndata: ');
const END = Buffer.from('\n\n');
