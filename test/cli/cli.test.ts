/**
 * The `guardrail` command as a real process (`node src/cli/main.ts ...`): help and version,
 * `validate`, `schema`, usage errors and their exit codes (0 success, 1 failure, 2 usage or
 * configuration error, per src/cli/main.ts), `run` refusing a bad config, and `run -- COMMAND`
 * serving the fixture server to the official SDK 1.x client over stdio.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alive, CLI, eventually, FIXTURE, NODE, ROOT } from '../helpers/gateway.ts';

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cli(args: string[], options: { env?: NodeJS.ProcessEnv } = {}): Promise<Ran> {
  return new Promise((resolve) => {
    execFile(NODE, [CLI, ...args], { cwd: ROOT, env: { ...process.env, ...options.env }, timeout: 20_000 }, (error, stdout, stderr) => {
      const code = error ? ((error as { code?: unknown }).code as number | null) : 0;
      resolve({ code: typeof code === 'number' ? code : null, stdout, stderr });
    });
  });
}

const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

let dir: string;
let good: string;
let bad: string;
let badText: string;

/** 1-based line and column of `needle` in `text`. */
function positionOf(text: string, needle: string): string {
  const before = text.slice(0, text.indexOf(needle)).split('\n');
  return `${before.length}:${before.at(-1)!.length + 1}`;
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'guardrail-cli-'));
  good = join(dir, 'good.yaml');
  writeFileSync(good, `upstreams:\n  fixture:\n    command: ${JSON.stringify(NODE)}\n    args: [${JSON.stringify(FIXTURE)}]\n  remote:\n    url: http://127.0.0.1:1/mcp\nprofile: strict\n`);
  bad = join(dir, 'bad.yaml');
  badText = `upstreams:
  fixture:
    command: node
    colour: blue
limits:
  max_depth: 1
  request_timeout: soon
log:
  level: loud
`;
  writeFileSync(bad, badText);
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('help and version', () => {
  it('prints usage and exits 0 for --help, -h and help', async () => {
    for (const flag of ['--help', '-h', 'help']) {
      const r = await cli([flag]);
      expect(r.code, flag).toBe(0);
      expect(r.stdout).toContain(`guardrail ${VERSION}`);
      for (const command of ['guardrail run', 'guardrail validate', 'guardrail schema']) expect(r.stdout, flag).toContain(command);
      expect(r.stderr).toBe('');
    }
  });

  it('prints usage for a command\'s --help, and exits 0', async () => {
    const r = await cli(['validate', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Usage:');
  });

  it('prints usage and exits 2 when given no command at all', async () => {
    const r = await cli([]);
    expect(r.code).toBe(2);
    expect(r.stdout).toContain('Usage:');
  });

  it('prints the version from package.json for --version and -v', async () => {
    for (const flag of ['--version', '-v']) {
      const r = await cli([flag]);
      expect(r.code, flag).toBe(0);
      expect(r.stdout).toBe(`${VERSION}\n`);
    }
  });
});

describe('usage errors (exit 2)', () => {
  it('rejects an unknown command', async () => {
    const r = await cli(['serve']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown command "serve"/);
    expect(r.stdout).toBe('');
  });

  it('rejects an unknown flag', async () => {
    for (const args of [['validate', '--config', good, '--strict'], ['run', '--port', '80']]) {
      const r = await cli(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(/guardrail: .*Unknown option '--(strict|port)'/);
      expect(r.stderr).not.toMatch(/\n\s+at /); // a message, not a stack trace
    }
  });

  it('rejects a stray argument and missing or conflicting inputs', async () => {
    const stray = await cli(['run', 'server.js']);
    expect(stray.code).toBe(2);
    expect(stray.stderr).toMatch(/unexpected argument "server.js"/);
    const nothing = await cli(['run']);
    expect(nothing.code).toBe(2);
    expect(nothing.stderr).toMatch(/nothing to run/);
    const both = await cli(['run', '--config', good, '--', NODE, FIXTURE]);
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/not both/);
    const noFile = await cli(['validate']);
    expect(noFile.code).toBe(2);
    expect(noFile.stderr).toMatch(/validate needs --config FILE/);
  });
});

describe('validate', () => {
  it('exits 0 for a good file and summarises it', async () => {
    const r = await cli(['validate', '--config', good]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/^ok: 2 upstream\(s\) \[fixture \(stdio\), remote \(streamable-http\)\], listening on stdio, profile strict, audit store \/\S+\/audit\n$/);
  });

  it('accepts the file as a positional argument too', async () => {
    expect((await cli(['validate', good])).code).toBe(0);
  });

  it('exits 2 for a bad file and prints every error with its line and column', async () => {
    const r = await cli(['validate', '--config', bad]);
    expect(r.code).toBe(2);
    const expected = [
      ['upstreams.fixture.colour', 'colour'],
      ['limits.max_depth', 'max_depth'],
      ['limits.request_timeout', 'request_timeout'],
      ['log.level', 'level'],
    ];
    for (const [path, key] of expected) expect(r.stderr).toContain(`${bad}:${positionOf(badText, key!)}: error: ${path}: `);
    expect(r.stderr).toContain(`${expected.length} error(s), 0 warning(s)`);
    expect(r.stdout).toBe('');
  });

  it('prints warnings and still exits 0', async () => {
    const file = join(dir, 'warn.yaml');
    writeFileSync(file, `listen: [{ url: "http://0.0.0.0:0/mcp" }]\nupstreams:\n  a: { command: node }\n`);
    const r = await cli(['validate', '--config', file]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`${file}:1:`);
    expect(r.stderr).toMatch(/warning: listen\.0\.url: /);
    expect(r.stderr).toMatch(/ok: .*1 warning\(s\)/);
  });

  it('exits 2 for a file that does not exist, naming it', async () => {
    const missing = join(dir, 'missing.yaml');
    const r = await cli(['validate', '--config', missing]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${missing}: error: cannot read config: file not found`);
  });

  it('reports a missing environment variable by name', async () => {
    const file = join(dir, 'env.yaml');
    writeFileSync(file, 'upstreams:\n  a: { command: node, env: { KEY: "${GUARDRAIL_TEST_UNSET_VAR}" } }\n');
    const unset = await cli(['validate', '--config', file], { env: { GUARDRAIL_TEST_UNSET_VAR: undefined } });
    expect(unset.code).toBe(2);
    expect(unset.stderr).toMatch(/upstreams\.a\.env\.KEY: environment variable GUARDRAIL_TEST_UNSET_VAR is not set/);
    const set = await cli(['validate', '--config', file], { env: { GUARDRAIL_TEST_UNSET_VAR: 'value' } });
    expect(set.code).toBe(0);
  });
});

describe('schema', () => {
  it('prints a JSON Schema that parses and describes the config\'s top-level settings', async () => {
    const r = await cli(['schema']);
    expect(r.code).toBe(0);
    const schema = JSON.parse(r.stdout) as { $schema: string; type: string; properties: Record<string, unknown>; required: string[]; additionalProperties: unknown };
    expect(schema.$schema).toMatch(/json-schema\.org\/draft\/2020-12/);
    expect(schema.type).toBe('object');
    expect(Object.keys(schema.properties).sort()).toEqual(
      ['$schema', 'version', 'profile', 'profiles', 'listen', 'upstreams', 'aggregation', 'limits', 'policy', 'decision_log', 'flow', 'audit', 'events', 'admin', 'telemetry', 'log'].sort(),
    );
    expect(schema.required).toEqual(['upstreams']);
    // Unknown keys are errors for the loader; the schema says so to editors.
    expect(schema.additionalProperties).toBe(false);
  });
});

describe('run', () => {
  it('refuses a bad config with every error and exits 2 without starting anything', async () => {
    const r = await cli(['run', '--config', bad]);
    expect(r.code).toBe(2);
    for (const path of ['upstreams.fixture.colour', 'limits.max_depth', 'limits.request_timeout', 'log.level']) expect(r.stderr).toMatch(new RegExp(`${bad}:\\d+:\\d+: error: ${path.replaceAll('.', '\\.')}`));
    expect(r.stdout).toBe('');
  });

  it('checks overrides from flags like the file itself', async () => {
    const level = await cli(['run', '--log-level', 'loud', '--', NODE, FIXTURE]);
    expect(level.code).toBe(2);
    expect(level.stderr).toMatch(/log\.level/);
    const profile = await cli(['run', '--config', good, '--profile', 'paranoid']);
    expect(profile.code).toBe(2);
    expect(profile.stderr).toMatch(/unknown profile "paranoid"/);
  });

  it('wraps the server given after -- and serves it to the SDK 1.x client over stdio', async () => {
    const client = new Client({ name: 'cli-unit-test', version: '1.0.0' }, { capabilities: {} });
    const transport = new StdioClientTransport({ command: NODE, args: [CLI, 'run', '--log-level', 'warn', '--', NODE, FIXTURE, '--name', 'wrapped'], stderr: 'pipe', env: process.env as Record<string, string> });
    let stderr = '';
    let serverPid: number | undefined;
    let gatewayPid: number | undefined;
    transport.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    try {
      await client.connect(transport);
      expect(client.getServerVersion()?.name, stderr).toBe('wrapped');
      const { tools } = await client.listTools();
      const names = tools.map((t) => t.name);
      // One upstream: its tools keep their own names.
      for (const name of ['echo', 'slow', 'pid', 'big', 'write_file']) expect(names).toContain(name);
      const echoed = await client.callTool({ name: 'echo', arguments: { text: 'through the gateway' } });
      expect(echoed.content).toEqual([{ type: 'text', text: 'through the gateway' }]);
      const pid = await client.callTool({ name: 'pid', arguments: {} });
      serverPid = Number((pid.content as Array<{ text: string }>)[0]!.text);
      gatewayPid = transport.pid ?? undefined;
    } finally {
      await client.close();
    }
    // The client went away: the gateway exits, and takes the server with it.
    expect(gatewayPid).toBeGreaterThan(0);
    expect(serverPid).toBeGreaterThan(0);
    expect(serverPid).not.toBe(gatewayPid);
    await eventually(() => (alive(gatewayPid!) ? undefined : true), 15_000, 'the gateway to exit');
    await eventually(() => (alive(serverPid!) ? undefined : true), 15_000, 'the wrapped server to exit');
  });
});
