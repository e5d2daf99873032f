#!/usr/bin/env node
/**
 * The `guardrail` command. A table of commands, each a typed async function that can be called
 * without the CLI; only this entry point turns errors into messages and exit codes
 * (0 success, 1 failure, 2 usage or configuration error).
 */
import { parseArgs } from 'node:util';
import { VERSION } from '../version.ts';
import { ExitError, UsageError } from './errors.ts';

const HELP = `guardrail ${VERSION}: a security gateway for the Model Context Protocol

Usage:
  guardrail run [--config FILE] [--listen stdio|http://HOST:PORT/PATH]... [--upstream [NAME=]URL]...
                [--profile NAME] [--log-level LEVEL] [-- COMMAND ARGS...]
  guardrail validate --config FILE
  guardrail schema
  guardrail audit verify [STORE] [--seals FILE] [--public-key FILE] [--json]
  guardrail audit verify --export FILE --public-key FILE [--seals FILE]
  guardrail audit export [STORE] [--out FILE]
  guardrail audit query [STORE] [--since T] [--until T] [--session ID] [--server NAME]
                        [--tool NAME] [--decision allow|deny|transform] [--limit N] [--format json|table]
  guardrail audit tail [STORE] [-n N] [--follow] [--format json|table]
  guardrail audit snapshot [STORE] --session ID [--out FILE]
  guardrail audit verify --snapshot FILE [STORE] [--public-key FILE] [--json]
      STORE: --store DIR, or --config FILE (its audit.dir); default the user's store
  guardrail --help | --version

Commands:
  run        Run the gateway. With --config, everything comes from the file (--listen,
             --profile and --log-level override it). Without, it wraps the server given after
             "--" (stdio) and/or by --upstream (Streamable HTTP; a URL ending in /sse is the
             legacy SSE transport) under the default policy, listening on stdio.
  validate   Check a config file and print every error and warning; exit 2 if it has errors.
  schema     Print the JSON Schema of guardrail.yaml.
  audit      The tamper-evident audit store: verify checks every record and seal and names
             the first record edited, deleted, inserted or reordered and a truncated tail
             (exit 1 on any break); export writes JSON lines with the chain fields (they verify
             away from the gateway); query filters records; tail shows the last ones (--follow);
             snapshot signs one session's records into a forensic snapshot that verifies alone.
             Times are ISO 8601 or "30m", "2h", "1d" ago. Without --store or --config, the
             store is the user's default one (GUARDRAIL_DATA_DIR, else ~/.local/state/guardrail).

Examples:
  guardrail run --config examples/quickstart.yaml
  guardrail run -- npx -y @modelcontextprotocol/server-filesystem /srv/data
  guardrail run --listen http://127.0.0.1:8787/mcp --upstream https://mcp.example.com/mcp
`;

type Command = (argv: string[]) => Promise<number>;

const COMMANDS: Record<string, Command> = {
  async run(argv) {
    const split = argv.indexOf('--');
    const own = split < 0 ? argv : argv.slice(0, split);
    const command = split < 0 ? [] : argv.slice(split + 1);
    const { values, positionals } = parseArgs({
      args: own,
      options: {
        config: { type: 'string', short: 'c' },
        listen: { type: 'string', short: 'l', multiple: true },
        upstream: { type: 'string', short: 'u', multiple: true },
        profile: { type: 'string' },
        'log-level': { type: 'string' },
      },
      allowPositionals: true,
      strict: true,
    });
    if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}" (put the server command after --)`);
    // Commands are imported when used: `run` keeps the config tooling out of its memory.
    const { run } = await import('./commands/run.ts');
    return run({
      ...(values.config === undefined ? {} : { config: values.config }),
      ...(values.listen === undefined ? {} : { listen: values.listen }),
      ...(values.upstream === undefined ? {} : { upstream: values.upstream }),
      ...(values.profile === undefined ? {} : { profile: values.profile }),
      ...(values['log-level'] === undefined ? {} : { logLevel: values['log-level'] }),
      command,
    });
  },
  async validate(argv) {
    const { values, positionals } = parseArgs({ args: argv, options: { config: { type: 'string', short: 'c' } }, allowPositionals: true, strict: true });
    const file = values.config ?? positionals[0];
    if (file === undefined) throw new UsageError('validate needs --config FILE');
    const { validate } = await import('./commands/validate.ts');
    return validate({ config: file });
  },
  async schema() {
    const { printSchema } = await import('./commands/schema.ts');
    return printSchema();
  },
  async audit(argv) {
    const [sub, ...rest] = argv;
    const { values } = parseArgs({
      args: rest,
      options: {
        store: { type: 'string' },
        config: { type: 'string', short: 'c' },
        export: { type: 'string' },
        snapshot: { type: 'string' },
        'public-key': { type: 'string' },
        seals: { type: 'string' },
        json: { type: 'boolean' },
        out: { type: 'string' },
        since: { type: 'string' },
        until: { type: 'string' },
        session: { type: 'string' },
        server: { type: 'string' },
        tool: { type: 'string' },
        decision: { type: 'string' },
        limit: { type: 'string' },
        format: { type: 'string' },
        lines: { type: 'string', short: 'n' },
        follow: { type: 'boolean', short: 'f' },
      },
      strict: true,
    });
    const format = values.format === undefined ? undefined : values.format === 'json' || values.format === 'table' ? values.format : badFormat(values.format);
    const number = (name: string, value: string | undefined) => {
      if (value === undefined) return undefined;
      const n = Number(value);
      if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${name} takes a positive whole number`);
      return n;
    };
    const audit = await import('./commands/audit.ts');
    const store = values.store !== undefined ? { store: values.store } : values.config !== undefined ? { store: await auditDirOf(values.config) } : {};
    switch (sub) {
      case 'verify':
        return audit.auditVerify({
          ...store,
          ...(values.export === undefined ? {} : { export: values.export }),
          ...(values.snapshot === undefined ? {} : { snapshot: values.snapshot }),
          ...(values['public-key'] === undefined ? {} : { publicKey: values['public-key'] }),
          ...(values.seals === undefined ? {} : { seals: values.seals }),
          ...(values.json ? { json: true } : {}),
        });
      case 'snapshot':
        return audit.auditSnapshot({ ...store, ...(values.session === undefined ? {} : { session: values.session }), ...(values.out === undefined ? {} : { out: values.out }) });
      case 'export':
        return audit.auditExport({ ...store, ...(values.out === undefined ? {} : { out: values.out }) });
      case 'query': {
        const limit = number('limit', values.limit);
        return audit.auditQuery({
          ...store,
          ...(values.since === undefined ? {} : { since: values.since }),
          ...(values.until === undefined ? {} : { until: values.until }),
          ...(values.session === undefined ? {} : { session: values.session }),
          ...(values.server === undefined ? {} : { server: values.server }),
          ...(values.tool === undefined ? {} : { tool: values.tool }),
          ...(values.decision === undefined ? {} : { decision: values.decision }),
          ...(limit === undefined ? {} : { limit }),
          ...(format === undefined ? {} : { format }),
        });
      }
      case 'tail': {
        const lines = number('lines', values.lines);
        const controller = new AbortController();
        process.once('SIGINT', () => controller.abort());
        return audit.auditTail({ ...store, ...(lines === undefined ? {} : { lines }), ...(values.follow ? { follow: true } : {}), ...(format === undefined ? {} : { format }), signal: controller.signal });
      }
      default:
        throw new UsageError(`audit needs a subcommand: verify, export, query, tail or snapshot${sub === undefined ? '' : ` (not "${sub}")`}`);
    }
  },
};

/** The audit store a config file writes to. */
async function auditDirOf(file: string): Promise<string> {
  const { formatIssue, loadConfigFile } = await import('../config/load.ts');
  const result = await loadConfigFile(file);
  if (!result.ok) throw new UsageError(result.errors.map(formatIssue).join('\n'));
  if (!result.config.audit) throw new UsageError(`${file} turns the audit store off (audit: false)`);
  return result.config.audit.dir;
}

function badFormat(value: string): never {
  throw new UsageError(`--format is json or table, not "${value}"`);
}

export async function main(argv: string[]): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined || first === '--help' || first === '-h' || first === 'help') {
    process.stdout.write(HELP);
    return first === undefined ? 2 : 0;
  }
  if (first === '--version' || first === '-v') {
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  const command = COMMANDS[first];
  if (!command) throw new UsageError(`unknown command "${first}" (try --help)`);
  if (rest.includes('--help') && (rest.indexOf('--') < 0 || rest.indexOf('--help') < rest.indexOf('--'))) {
    process.stdout.write(HELP);
    return 0;
  }
  return command(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof ExitError) {
      process.exitCode = error.code;
      return;
    }
    if (error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`guardrail: ${(error as Error).message}\n`);
      process.exitCode = 2;
      return;
    }
    process.stderr.write(`guardrail: ${(error as Error).stack ?? String(error)}\n`);
    process.exitCode = 1;
  },
);
