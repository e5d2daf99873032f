/**
 * `guardrail run` loads its configuration in this short-lived child process. The schema
 * library and the YAML parser are needed once, at start; loaded in the gateway they would stay
 * resident for its whole life (about 28 MB of a published idle-memory target). The child gets
 * the run options as JSON in argv[2] and the environment the gateway has, and prints one JSON
 * line: the normalised config, or the errors. See `loadRunConfig` in commands/run.ts.
 */
import { UsageError } from './errors.ts';
import { resolveRunConfig, type RunConfigOptions } from './commands/run-config.ts';

export type ConfigReply =
  | { readonly ok: true; readonly config: unknown; readonly warnings: readonly string[] }
  | { readonly ok: false; readonly usage: boolean; readonly message: string; readonly warnings: readonly string[] };

const warnings: string[] = [];
let reply: ConfigReply;
try {
  const options = JSON.parse(process.argv[2] ?? '{}') as RunConfigOptions;
  const config = await resolveRunConfig({ ...options, env: process.env }, (line) => warnings.push(line));
  reply = { ok: true, config, warnings };
} catch (error) {
  reply = { ok: false, usage: error instanceof UsageError, message: (error as Error).message, warnings };
}
process.stdout.write(`${JSON.stringify(reply)}\n`);
