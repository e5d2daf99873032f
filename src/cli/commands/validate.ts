/** `guardrail validate`: every error and warning of a config file, at once. */
import { formatIssue, loadConfigFile } from '../../config/load.ts';

export interface ValidateOptions {
  readonly config: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly out?: (line: string) => void;
}

export async function validate(options: ValidateOptions): Promise<number> {
  const out = options.out ?? ((line: string) => process.stderr.write(`${line}\n`));
  const result = await loadConfigFile(options.config, { env: options.env });
  for (const w of result.warnings) out(formatIssue(w));
  if (!result.ok) {
    for (const e of result.errors) out(formatIssue(e));
    out(`${result.errors.length} error(s), ${result.warnings.length} warning(s)`);
    return 2;
  }
  const c = result.config;
  out(`ok: ${c.upstreams.length} upstream(s) [${c.upstreams.map((u) => `${u.name} (${u.transport.kind})`).join(', ')}], listening on ${c.listeners.map((l) => (l.kind === 'stdio' ? 'stdio' : `http://${l.host}:${l.port}${l.path}`)).join(', ')}, profile ${c.profile}, audit store ${c.audit ? c.audit.dir : 'off'}${result.warnings.length ? `, ${result.warnings.length} warning(s)` : ''}`);
  return 0;
}
