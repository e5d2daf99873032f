/** Builds the transport for an upstream from its configuration. */
import type { Limits, UpstreamConfig } from '../config/config.ts';
import { ChildProcessTransport } from '../transports/child-process.ts';
import { StreamableHttpClientTransport } from '../transports/http-client.ts';
import { LegacySseClientTransport } from '../transports/sse-client.ts';
import type { FrameTransport } from '../transports/transport.ts';
import type { Logger } from '../util/logger.ts';

export function createUpstreamTransport(upstream: UpstreamConfig, limits: Limits, logger: Logger): FrameTransport {
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
        url: t.url,
        headers: t.headers,
        connectTimeoutMs: t.connectTimeoutMs,
        maxMessageBytes: limits.maxMessageBytes,
        logger: logger.child({ upstream: upstream.name }),
      };
      return t.kind === 'sse' ? new LegacySseClientTransport(options) : new StreamableHttpClientTransport(options);
    }
  }
}
