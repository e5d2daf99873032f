/**
 * POSTs JSON bodies to one URL, for the events' webhook sink and the audit seals' second
 * place: at most four requests in flight and 1,000 bodies waiting; a failure (no answer, 408,
 * 429, 5xx) is retried with exponential backoff, any other 4xx is not; what cannot be
 * delivered is counted as dropped and logged once. It never blocks or fails its caller.
 */
import type * as Http from 'node:http';
import type { Logger } from './logger.ts';

export interface JsonPosterOptions {
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly retries: number;
  readonly backoffMs: number;
}

export interface JsonPoster {
  post(body: string): void;
  /** Waits (at most 5 s) for what is in flight. */
  close(): Promise<void>;
  readonly dropped: number;
}

const MAX_BACKLOG = 1000;
const MAX_IN_FLIGHT = 4;

export function jsonPoster(options: JsonPosterOptions, logger: Logger, failure: string): JsonPoster {
  const url = new URL(options.url);
  const client = process.getBuiltinModule(url.protocol === 'https:' ? 'node:https' : 'node:http') as typeof Http;
  let dropped = 0;
  let inFlight = 0;
  let warned = false;
  const queue: string[] = [];
  const idle: (() => void)[] = [];

  const attempt = (body: string): Promise<number> =>
    new Promise((resolve) => {
      const req = client.request(url, { method: 'POST', headers: { 'content-type': 'application/json', ...options.headers }, timeout: 10_000 }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('timeout', () => req.destroy(new Error('timed out')));
      req.on('error', () => resolve(0));
      req.end(body);
    });

  const deliver = async (body: string) => {
    inFlight++;
    try {
      for (let tries = 0; ; tries++) {
        const status = await attempt(body);
        if (status >= 200 && status < 300) return;
        // A 4xx other than 408/429 will not get better by trying again.
        const retryable = status === 0 || status === 408 || status === 429 || status >= 500;
        if (!retryable || tries >= options.retries) {
          dropped++;
          if (!warned) logger.warn(failure, { url: url.origin, status });
          warned = true;
          return;
        }
        await new Promise((r) => setTimeout(r, options.backoffMs * 2 ** tries));
      }
    } finally {
      inFlight--;
      const next = queue.shift();
      if (next !== undefined) void deliver(next);
      else if (inFlight === 0) for (const done of idle.splice(0)) done();
    }
  };

  return {
    get dropped() {
      return dropped;
    },
    post(body) {
      if (inFlight < MAX_IN_FLIGHT) void deliver(body);
      else if (queue.length < MAX_BACKLOG) queue.push(body);
      else dropped++;
    },
    close: () =>
      inFlight === 0
        ? Promise.resolve()
        : Promise.race([new Promise<void>((resolve) => idle.push(resolve)), new Promise<void>((resolve) => setTimeout(resolve, 5000).unref())]),
  };
}
