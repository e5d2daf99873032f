/**
 * `guardrail run`: loads a config file, or builds one from the command line for the common
 * "wrap this one server" case, and runs the gateway until a signal or, on stdio, until the
 * client goes away.
 */
import { checkConfig, formatIssue, loadConfigFile, type LoadResult } from '../../config/load.ts';
import type { GatewayConfig } from '../../config/config.ts';
import { startGateway } from '../../proxy/start.ts';
import type { Gateway } from '../../proxy/gateway.ts';
import { createLogger } from '../../util/logger.ts';
import { UsageError } from '../errors.ts';

export interface RunOptions {
  readonly config?: string;
  /** `stdio` or an http:// URL; overrides the config file's `listen`. */
  readonly listen?: readonly string[];
  /** Remote upstreams as `URL` or `NAME=URL`. */
  readonly upstream?: readonly string[];
  /** A stdio upstream given after `--`. */
  readonly command?: readonly string[];
  readonly profile?: string;
  readonly logLevel?: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  /** Receives warnings and errors (default: stderr). */
  readonly report?: (line: string) => void;
}

/** Resolves the configuration `run` would use, or throws a UsageError listing every problem. */
export async function resolveRunConfig(options: RunOptions): Promise<GatewayConfig> {
  const report = options.report ?? ((line: string) => process.stderr.write(`${line}\n`));
  const fromFlags = (options.upstream?.length ?? 0) > 0 || (options.command?.length ?? 0) > 0;
  let result: LoadResult;
  if (options.config !== undefined) {
    if (fromFlags) throw new UsageError('give the upstreams either in the config file or on the command line, not both');
    result = await loadConfigFile(options.config, { env: options.env, transform: (raw) => applyOverrides(raw, options) });
  } else {
    if (!fromFlags) throw new UsageError('nothing to run: give --config FILE, --upstream URL, or a server command after --');
    result = checkConfig(applyOverrides(configFromFlags(options), options), { baseDir: options.cwd ?? process.cwd(), env: options.env });
  }
  for (const w of result.warnings) report(formatIssue(w));
  if (!result.ok) throw new UsageError(result.errors.map(formatIssue).join('\n'));
  return result.config;
}

function configFromFlags(options: RunOptions): Record<string, unknown> {
  const upstreams: Record<string, unknown> = {};
  (options.upstream ?? []).forEach((spec, i) => {
    const eq = spec.indexOf('=');
    const named = eq > 0 && !spec.slice(0, eq).includes(':');
    const name = named ? spec.slice(0, eq) : (options.upstream!.length === 1 && !options.command?.length ? 'upstream' : `upstream${i + 1}`);
    const url = named ? spec.slice(eq + 1) : spec;
    upstreams[name] = url.endsWith('/sse') ? { url, transport: 'sse' } : { url };
  });
  if (options.command?.length) {
    const [command, ...args] = options.command;
    upstreams[Object.keys(upstreams).length === 0 ? 'server' : 'command'] = { command, args };
  }
  return { upstreams };
}

function applyOverrides(raw: Record<string, unknown>, options: RunOptions): Record<string, unknown> {
  const out = { ...raw };
  if (options.listen?.length) out.listen = options.listen.map((l) => (l === 'stdio' ? 'stdio' : { url: l }));
  if (options.profile) out.profile = options.profile;
  if (options.logLevel) out.log = { ...((raw.log as object | undefined) ?? {}), level: options.logLevel };
  return out;
}

/** Runs until stopped; resolves with the exit code. */
export async function run(options: RunOptions): Promise<number> {
  const config = await resolveRunConfig(options);
  const logger = createLogger(config.log);
  const gateway: Gateway = await startGateway({ config, logger });
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (why: string, code: number) => {
      if (stopping) return;
      stopping = true;
      logger.info('shutting down', { reason: why });
      const force = setTimeout(() => {
        logger.error('shutdown took too long; exiting');
        resolve(1);
      }, 15_000);
      force.unref();
      void gateway.stop().then(() => {
        clearTimeout(force);
        resolve(code);
      });
    };
    const onSignal = (signal: NodeJS.Signals) => {
      if (stopping) {
        // A second signal: the user wants out now.
        process.exit(130);
      }
      stop(signal, 0);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    gateway.onStdioClosed = () => {
      if (!config.listeners.some((l) => l.kind === 'http')) stop('the stdio client disconnected', 0);
    };
  });
}
