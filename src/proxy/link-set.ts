/**
 * The links of one scope (a downstream session, or the pool that serves stateless requests):
 * one per configured upstream, started together, closed together.
 */
import type { FrameAnnotator } from '../flow/annotate.ts';
import type { UpstreamConfig } from '../config/config.ts';
import type { Era } from '../protocol/revisions.ts';
import type { FrameTransport } from '../transports/transport.ts';
import type { Logger } from '../util/logger.ts';
import { ParkedCalls } from './input-bridge.ts';
import { UpstreamLink, type ClientHello, type LinkListener, type UpstreamRestart } from './upstream-link.ts';

export interface LinkSetOptions {
  readonly upstreams: readonly UpstreamConfig[];
  readonly createTransport: (upstream: UpstreamConfig) => FrameTransport;
  readonly logger: Logger;
  readonly maxRequestTimeMs: number;
  readonly annotator?: FrameAnnotator;
  readonly onRestart?: (upstream: string, restart: UpstreamRestart) => void;
}

export class LinkSet {
  readonly links: ReadonlyMap<string, UpstreamLink>;
  /** Calls of 2025 servers held open for 2026 clients answering their questions (see input-bridge). */
  readonly parked = new ParkedCalls();

  constructor(options: LinkSetOptions) {
    const links = new Map<string, UpstreamLink>();
    for (const config of options.upstreams) {
      links.set(
        config.name,
        new UpstreamLink({
          config,
          createTransport: () => options.createTransport(config),
          logger: options.logger,
          maxRequestTimeMs: options.maxRequestTimeMs,
          ...(options.annotator ? { annotator: options.annotator } : {}),
          ...(options.onRestart ? { onRestart: options.onRestart } : {}),
        }),
      );
    }
    this.links = links;
  }

  get(name: string): UpstreamLink | undefined {
    return this.links.get(name);
  }

  /** Every link, in configuration order. */
  all(): UpstreamLink[] {
    return [...this.links.values()];
  }

  setListener(listener: (link: UpstreamLink) => LinkListener): void {
    for (const link of this.links.values()) link.setListener(listener(link));
  }

  prewarm(): void {
    for (const link of this.links.values()) link.prewarm();
  }

  /** Starts every link with the client's hello; resolves with the error of each that did not come up. */
  async start(hello: ClientHello, era: Era): Promise<Map<string, Error>> {
    const failures = new Map<string, Error>();
    await Promise.all(
      this.all().map((link) =>
        link.start(hello, era).catch((error: Error) => {
          failures.set(link.name, error);
        }),
      ),
    );
    return failures;
  }

  clientInitialized(): void {
    for (const link of this.links.values()) link.clientInitialized();
  }

  async close(): Promise<void> {
    await this.parked.close();
    await Promise.all(this.all().map((link) => link.close()));
  }
}
