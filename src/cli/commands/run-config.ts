/**
 * The configuration `guardrail run` uses: the config file with the command line's overrides,
 * or a config built from the flags for the "wrap this one server" case.
 */
import { checkConfig, formatIssue, loadConfigFile, type LoadResult } from '../../config/load.ts';
import type { GatewayConfig } from '../../config/config.ts';
import { UsageError } from '../errors.ts';

export interface RunConfigOptions {
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
}

/** Resolves the configuration `run` would use, or throws a UsageError listing every problem. */
export async function resolveRunConfig(options: RunConfigOptions, report: (line: string) => void): Promise<GatewayConfig> {
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

function configFromFlags(options: RunConfigOptions): Record<string, unknown> {
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

function applyOverrides(raw: Record<string, unknown>, options: RunConfigOptions): Record<string, unknown> {
  const out = { ...raw };
  if (options.listen?.length) out.listen = options.listen.map((l) => (l === 'stdio' ? 'stdio' : { url: l }));
  if (options.profile) out.profile = options.profile;
  if (options.logLevel) out.log = { ...((raw.log as object | undefined) ?? {}), level: options.logLevel };
  return out;
}
