/**
 * Builds the transport for an upstream from its configuration. The HTTP clients are loaded
 * only when some upstream needs them: a gateway of stdio servers never loads `node:http`
 * (about 18 MB of resident memory).
 */
import type { Limits, UpstreamConfig } from '../config/config.ts';
import { ChildProcessTransport } from '../transports/child-process.ts';
import type { StreamableHttpClientTransport } from '../transports/http-client.ts';
import type { LegacySseClientTransport } from '../transports/sse-client.ts';
import type { FrameTransport } from '../transports/transport.ts';
import type { Logger } from '../util/logger.ts';

export type UpstreamTransportFactory = (upstream: UpstreamConfig) => FrameTransport;

export async function upstreamTransportFactory(upstreams: readonly UpstreamConfig[], limits: Limits, logger: Logger): Promise<UpstreamTransportFactory> {
  const remote = upstreams.some((u) => u.transport.kind !== 'stdio');
  const http = remote ? await import('../transports/http-client.ts') : undefined;
  const sse = remote ? await import('../transports/sse-client.ts') : undefined;
  return (upstream) => createUpstreamTransport(upstream, limits, logger, http?.StreamableHttpClientTransport, sse?.LegacySseClientTransport);
}

function createUpstreamTransport(
  upstream: UpstreamConfig,
  limits: Limits,
  logger: Logger,
  Http: typeof StreamableHttpClientTransport | undefined,
  Sse: typeof LegacySseClientTransport | undefined,
): FrameTransport {
  const t = upstream.transport;
  switch (t.kind) {
    case 'stdio':
      return new ChildProcessTransport({
        command: t.command,
        args: t.args,
        env: t.env,
        cwd: t.cwd,
        stderr: t.stderr,
        maxMessageBytes: limits.maxMessageBytes,
        logger: logger.child({ upstream: upstream.name }),
      });
    case 'streamable-http':
    case 'sse': {
      const options = {
        url: new URL(t.url),
        headers: t.headers,
        connectTimeoutMs: t.connectTimeoutMs,
        maxMessageBytes: limits.maxMessageBytes,
        logger: logger.child({ upstream: upstream.name }),
      };
      const Transport = t.kind === 'sse' ? Sse : Http;
      if (!Transport) throw new Error(`upstream "${upstream.name}" was not known when the gateway started`);
      return new Transport(options);
    }
  }
}
