/** Builds the transport for an upstream from its configuration. */
import type { Limits, UpstreamConfig } from '../config/config.ts';
import { ChildProcessTransport } from '../transports/child-process.ts';
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
    default:
      throw new Error(`the ${t.kind} upstream transport is not available yet`);
  }
}
