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
  guardrail --help | --version

Commands:
  run        Run the gateway. With --config, everything comes from the file (--listen,
             --profile and --log-level override it). Without, it wraps the server given after
             "--" (stdio) and/or by --upstream (Streamable HTTP; a URL ending in /sse is the
             legacy SSE transport) under the default policy, listening on stdio.
  validate   Check a config file and print every error and warning; exit 2 if it has errors.
  schema     Print the JSON Schema of guardrail.yaml.

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
};

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
