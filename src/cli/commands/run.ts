/**
 * `guardrail run`: loads a config file, or builds one from the command line for the common
 * "wrap this one server" case, and runs the gateway until a signal or, on stdio, until the
 * client goes away.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { GatewayConfig } from '../../config/config.ts';
import { startGateway } from '../../proxy/start.ts';
import type { Gateway } from '../../proxy/gateway.ts';
import { createLogger } from '../../util/logger.ts';
import type { ConfigReply } from '../config-process.ts';
import { UsageError } from '../errors.ts';
import type { RunConfigOptions } from './run-config.ts';

export interface RunOptions extends RunConfigOptions {
  /** Receives warnings and errors (default: stderr). */
  readonly report?: (line: string) => void;
}

/**
 * The configuration `run` uses, resolved in a child process (see config-process.ts) so the
 * config tooling never occupies the gateway's memory. Throws a UsageError listing every problem.
 */
export async function loadRunConfig(options: RunOptions): Promise<GatewayConfig> {
  const report = options.report ?? ((line: string) => process.stderr.write(`${line}\n`));
  const { report: _report, env, ...rest } = options;
  const script = new URL(`../config-process.${import.meta.url.endsWith('.ts') ? 'ts' : 'js'}`, import.meta.url);
  const child = spawn(process.execPath, [fileURLToPath(script), JSON.stringify({ ...rest, cwd: options.cwd ?? process.cwd() })], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: env ?? process.env,
  });
  const chunks: Buffer[] = [];
  child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', resolve);
  });
  let reply: ConfigReply;
  try {
    reply = JSON.parse(Buffer.concat(chunks).toString('utf8')) as ConfigReply;
  } catch {
    throw new Error(`the configuration loader failed (exit ${code})`);
  }
  for (const line of reply.warnings) report(line);
  if (!reply.ok) throw reply.usage ? new UsageError(reply.message) : new Error(reply.message);
  return reply.config as GatewayConfig;
}

/** Runs until stopped; resolves with the exit code. */
export async function run(options: RunOptions): Promise<number> {
  const config = await loadRunConfig(options);
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
