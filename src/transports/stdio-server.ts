/**
 * Downstream stdio: the client launched the gateway and speaks MCP on our stdin/stdout.
 * stdout carries nothing but protocol frames; the gateway's log goes to stderr.
 */
import type { Readable, Writable } from 'node:stream';
import type { Frame } from '../protocol/frame.ts';
import { readFrames, writeFrame } from './stdio-stream.ts';
import type { CloseInfo, FrameTransport, InvalidFrame, ReceiveInfo } from './transport.ts';

export interface StdioServerOptions {
  readonly input?: Readable;
  readonly output?: Writable;
  readonly maxMessageBytes: number;
}

export class StdioServerTransport implements FrameTransport {
  readonly #input: Readable;
  readonly #output: Writable;
  readonly #maxBytes: number;
  #closed = false;
  onframe?: (frame: Frame, info?: ReceiveInfo) => void;
  oninvalid?: (problem: InvalidFrame) => void;
  onerror?: (error: Error) => void;
  onclose?: (info: CloseInfo) => void;

  constructor(options: StdioServerOptions) {
    this.#input = options.input ?? process.stdin;
    this.#output = options.output ?? process.stdout;
    this.#maxBytes = options.maxMessageBytes;
  }

  async start(): Promise<void> {
    readFrames(this.#input, this.#maxBytes, this);
    this.#input.on('end', () => this.#finish('the client closed stdin'));
    this.#input.on('error', (error) => {
      this.onerror?.(error);
      this.#finish(`stdin failed: ${error.message}`);
    });
    this.#output.on('error', (error) => {
      // EPIPE: the client went away. Nothing more can be delivered.
      this.onerror?.(error);
      this.#finish(`stdout failed: ${error.message}`);
    });
  }

  send(frame: Frame): Promise<void> {
    if (this.#closed) return Promise.reject(new Error('the stdio client is gone'));
    return writeFrame(this.#output, frame);
  }

  async close(): Promise<void> {
    this.#input.pause();
    this.#finish('closed by the gateway');
  }

  #finish(reason: string): void {
    if (this.#closed) return;
    this.#closed = true;
    this.onclose?.({ reason });
  }
}
