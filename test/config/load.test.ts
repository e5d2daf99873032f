/**
 * The config loader on real text and real files: what a valid file normalises to, how every
 * problem is reported (all at once, each with its path and file:line:col), `${VAR}`
 * interpolation, units, profiles, and the naming rules that keep aggregated names unique.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { GatewayConfig } from '../../src/config/config.ts';
import { formatIssue, loadConfigFile, parseConfigText, type ConfigIssue, type LoadResult } from '../../src/config/load.ts';
import { formatBytes, parseByteSize, parseDuration } from '../../src/config/units.ts';

let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'guardrail-config-'));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

let fileCounter = 0;
/** Writes `text` to a fresh file in the temporary directory and returns its path. */
function write(text: string, ext = 'yaml'): string {
  const file = join(dir, `config-${++fileCounter}.${ext}`);
  writeFileSync(file, text);
  return file;
}

/** 1-based line and column of the first occurrence of `needle` in `text`. */
function positionOf(text: string, needle: string): { line: number; column: number } {
  const index = text.indexOf(needle);
  if (index < 0) throw new Error(`"${needle}" is not in the text`);
  const before = text.slice(0, index).split('\n');
  return { line: before.length, column: before.at(-1)!.length + 1 };
}

function ok(result: LoadResult): GatewayConfig {
  if (!result.ok) throw new Error(`expected the config to load:\n${result.errors.map(formatIssue).join('\n')}`);
  return result.config;
}

function errorsOf(result: LoadResult): readonly ConfigIssue[] {
  if (result.ok) throw new Error('expected the config to be rejected');
  return result.errors;
}

const byPath = (issues: readonly ConfigIssue[], path: string): ConfigIssue => {
  const found = issues.find((i) => i.path === path);
  if (!found) throw new Error(`no issue at ${path}; got ${issues.map((i) => i.path).join(', ')}`);
  return found;
};

/** A minimal valid upstream section. */
const ONE = 'upstreams:\n  srv: { command: node }\n';
const env = { HOME: '/home/tester', PATH: '/usr/bin:/bin' };

describe('valid configs', () => {
  it('normalises a complete YAML file: units converted, defaults filled, paths made absolute, secrets interpolated', async () => {
    mkdirSync(join(dir, 'work'), { recursive: true });
    const text = `
version: 1
listen:
  - stdio
  - url: http://127.0.0.1:8787/mcp
    allowed_hosts: [gateway.local]
    allowed_origins: [https://app.example]
    session_idle_timeout: 10m
    max_sessions: 5
upstreams:
  files:
    command: node
    args: [server.js, --root, "\${DATA_DIR}"]
    env: { API_KEY: "\${FILES_KEY}", MODE: ro }
    inherit_env: [EXTRA, SHELL_FN]
    cwd: work
    stderr: ignore
    request_timeout: 5s
    restart: { initial_delay: 100ms, max_delay: 2s, max_attempts: 3 }
    policy: { tools: { deny: [write_file] } }
  remote:
    url: https://mcp.example.com/mcp
    headers: { Authorization: "Bearer \${TOKEN}" }
    connect_timeout: 3s
    required: false
  legacy:
    transport: sse
    url: http://127.0.0.1:9000/sse
aggregation: { separator: "--", namespace: always }
limits: { max_message_bytes: 512KiB, max_depth: 20, request_timeout: 30s, max_request_time: 2m }
policy: { tools: { deny: ["delete_*"] } }
decision_log: { sink: file, path: logs/decisions.jsonl, include: denials }
log: { level: debug, format: json }
`;
    const file = write(text);
    const result = await loadConfigFile(file, {
      env: { ...env, DATA_DIR: '/srv/data', FILES_KEY: 'k-123', TOKEN: 't-456', EXTRA: 'extra', UNRELATED: 'must not leak', SHELL_FN: '() { echo pwned; }' },
    });
    const config = ok(result);
    expect(result.warnings).toEqual([]);
    expect(config.source).toBe(file);
    expect(config.profile).toBe('standard');
    expect(config.listeners).toEqual([
      { kind: 'stdio' },
      {
        kind: 'http',
        host: '127.0.0.1',
        port: 8787,
        path: '/mcp',
        allowedHosts: ['gateway.local'],
        allowedOrigins: ['https://app.example'],
        sessionIdleTimeoutMs: 10 * 60_000,
        maxSessions: 5,
      },
    ]);
    expect(config.aggregation).toEqual({ separator: '--', namespaced: true });
    expect(config.limits).toEqual({ maxMessageBytes: 512 * 1024, maxDepth: 20, requestTimeoutMs: 30_000, maxRequestTimeMs: 120_000 });
    expect(config.decisionLog).toEqual({ sink: 'file', path: join(dir, 'logs/decisions.jsonl'), include: 'denials' });
    expect(config.log).toEqual({ level: 'debug', format: 'json' });

    expect(config.upstreams.map((u) => u.name)).toEqual(['files', 'remote', 'legacy']);
    const [files, remote, legacy] = config.upstreams;
    expect(files).toEqual({
      name: 'files',
      transport: {
        kind: 'stdio',
        command: 'node',
        args: ['server.js', '--root', '/srv/data'],
        // Only the default names, the ones asked for, and the file's own; an exported shell function is dropped.
        env: { HOME: '/home/tester', PATH: '/usr/bin:/bin', EXTRA: 'extra', API_KEY: 'k-123', MODE: 'ro' },
        cwd: join(dir, 'work'),
        stderr: 'ignore',
      },
      required: true,
      requestTimeoutMs: 5000,
      restart: { initialDelayMs: 100, maxDelayMs: 2000, maxAttempts: 3 },
      policy: { tools: { allow: undefined, deny: ['delete_*', 'write_file'] }, prompts: { allow: undefined, deny: [] }, resources: { allow: undefined, deny: [] }, strictMode: false, validateArguments: true, guards: [], limits: [] },
    });
    expect(remote!.transport.kind).toBe('streamable-http');
    if (remote!.transport.kind === 'stdio') throw new Error('unreachable');
    expect(remote!.transport.url).toBe('https://mcp.example.com/mcp');
    expect(remote!.transport.headers).toEqual({ Authorization: 'Bearer t-456' });
    expect(remote!.transport.connectTimeoutMs).toBe(3000);
    expect(remote!.required).toBe(false);
    // Not set on the upstream: the global request timeout.
    expect(remote!.requestTimeoutMs).toBe(30_000);
    expect(remote!.policy).toEqual({ tools: { allow: undefined, deny: ['delete_*'] }, prompts: { allow: undefined, deny: [] }, resources: { allow: undefined, deny: [] }, strictMode: false, validateArguments: true, guards: [], limits: [] });
    expect(legacy!.transport.kind).toBe('sse');
    if (legacy!.transport.kind === 'stdio') throw new Error('unreachable');
    expect(legacy!.transport.connectTimeoutMs).toBe(10_000);
  });

  it('fills every default for a minimal file', async () => {
    const file = write(ONE);
    const config = ok(await loadConfigFile(file, { env }));
    expect(config.listeners).toEqual([{ kind: 'stdio' }]);
    expect(config.profile).toBe('standard');
    expect(config.aggregation).toEqual({ separator: '__', namespaced: false });
    expect(config.limits).toEqual({ maxMessageBytes: 10 * 1024 * 1024, maxDepth: 64, requestTimeoutMs: 60_000, maxRequestTimeMs: 600_000 });
    expect(config.decisionLog).toEqual({ sink: 'stderr', path: undefined, include: 'all' });
    expect(config.log).toEqual({ level: 'info', format: 'text' });
    expect(config.upstreams).toEqual([
      {
        name: 'srv',
        transport: { kind: 'stdio', command: 'node', args: [], env, cwd: dir, stderr: 'log' },
        required: true,
        requestTimeoutMs: 60_000,
        restart: { initialDelayMs: 250, maxDelayMs: 30_000, maxAttempts: 10 },
        policy: { tools: { allow: undefined, deny: [] }, prompts: { allow: undefined, deny: [] }, resources: { allow: undefined, deny: [] }, strictMode: false, validateArguments: true, guards: [], limits: [] },
      },
    ]);
  });

  it('loads the same settings written as JSON to the same configuration', async () => {
    const raw = {
      listen: ['stdio', { url: 'http://localhost:0/mcp' }],
      upstreams: { a: { command: 'node', args: ['x.js'], request_timeout: '2s' }, b: { url: 'http://127.0.0.1:1/mcp' } },
      limits: { max_message_bytes: '1MiB', max_depth: 8 },
      policy: { tools: { allow: ['read_*'], deny: ['read_secret'] } },
      profile: 'strict',
    };
    const fromYaml = ok(await loadConfigFile(write(stringify(raw)), { env }));
    const fromJson = ok(await loadConfigFile(write(JSON.stringify(raw, null, 2), 'json'), { env }));
    expect({ ...fromJson, source: undefined }).toEqual({ ...fromYaml, source: undefined });
    // And the settings really took effect (the comparison above is not between two defaults).
    expect(fromJson.profile).toBe('strict');
    expect(fromJson.limits.maxMessageBytes).toBe(1 << 20);
    expect(fromJson.aggregation.namespaced).toBe(true);
    expect(fromJson.listeners[1]).toMatchObject({ kind: 'http', host: 'localhost', port: 0 });
  });

  it('prefixes names only when there is more than one upstream, unless told otherwise', () => {
    expect(ok(parseConfigText(ONE, { env })).aggregation.namespaced).toBe(false);
    expect(ok(parseConfigText(`${ONE}  other: { command: node }\n`, { env })).aggregation.namespaced).toBe(true);
    expect(ok(parseConfigText(`${ONE}aggregation: { namespace: always }\n`, { env })).aggregation.namespaced).toBe(true);
    expect(ok(parseConfigText(`${ONE}aggregation: { namespace: never }\n`, { env })).aggregation.namespaced).toBe(false);
  });

  it('resolves relative paths against baseDir when the text has no file', () => {
    const config = ok(parseConfigText(`${ONE}decision_log: { sink: file, path: d.jsonl }\n`, { env, baseDir: dir }));
    expect(config.source).toBeUndefined();
    expect(config.decisionLog.path).toBe(join(dir, 'd.jsonl'));
    expect(config.upstreams[0]!.transport).toMatchObject({ cwd: dir });
  });
});

describe('errors', () => {
  it('reports every error of a file at once, each with its path and file:line:col', async () => {
    const text = `upstreams:
  fs:
    command: node
    bogus: 1
limits:
  max_depth: 1
  max_message_bytes: 10XB
  whatever: 2
log:
  level: loud
`;
    const file = write(text);
    const errors = errorsOf(await loadConfigFile(file, { env }));
    const expected = [
      { path: 'upstreams.fs.bogus', ...positionOf(text, 'bogus'), message: /unknown setting "bogus"/ },
      { path: 'limits.max_depth', ...positionOf(text, 'max_depth'), message: />=\s*2/ },
      { path: 'limits.max_message_bytes', ...positionOf(text, 'max_message_bytes'), message: /size/ },
      { path: 'limits.whatever', ...positionOf(text, 'whatever'), message: /unknown setting "whatever"/ },
      { path: 'log.level', ...positionOf(text, 'level'), message: /debug.*info.*warn.*error.*silent/ },
    ];
    expect(errors).toHaveLength(expected.length);
    for (const e of expected) {
      const issue = byPath(errors, e.path);
      expect(issue).toMatchObject({ severity: 'error', file, line: e.line, column: e.column });
      expect(issue.message).toMatch(e.message);
      expect(formatIssue(issue)).toBe(`${file}:${e.line}:${e.column}: error: ${e.path}: ${issue.message}`);
    }
  });

  it('treats unknown keys as errors everywhere, at the top, in sections, upstreams, policies and profiles', () => {
    const text = `upstream: {}
upstreams:
  a: { command: node, polcy: {} }
  b: { url: "http://127.0.0.1:1/mcp", timeout: 5s }
limits: { max_bytes: 1 }
policy: { tools: { allow: [x], denny: [y] } }
profiles:
  mine: { limit: {} }
listen: [{ url: "http://127.0.0.1:0/mcp", hosts: [] }]
aggregation: { prefix: "_" }
`;
    const errors = errorsOf(parseConfigText(text, { env, source: 'in-memory.yaml' }));
    const paths = errors.map((e) => e.path).sort();
    expect(paths).toEqual(
      [
        'upstream',
        'upstreams.a.polcy',
        'upstreams.b.timeout',
        'limits.max_bytes',
        'policy.tools.denny',
        'profiles.mine.limit',
        'listen.0.hosts',
        'aggregation.prefix',
      ].sort(),
    );
    for (const e of errors) {
      expect(e.message).toBe(`unknown setting "${e.path.split('.').at(-1)}"`);
      expect(e.file).toBe('in-memory.yaml');
      expect(e).toMatchObject(positionOf(text, `${e.path.split('.').at(-1)}:`));
    }
  });

  it('places errors in a JSON file on their JSON lines', async () => {
    const text = JSON.stringify({ upstreams: { a: { command: 'node', args: 'not-a-list' } }, limits: { max_depth: 0 } }, null, 2);
    const file = write(text, 'json');
    const errors = errorsOf(await loadConfigFile(file, { env }));
    expect(byPath(errors, 'upstreams.a.args')).toMatchObject({ file, ...positionOf(text, '"args"') });
    expect(byPath(errors, 'limits.max_depth')).toMatchObject({ file, ...positionOf(text, '"max_depth"') });
    expect(errors).toHaveLength(2);
  });

  it('reports a YAML syntax error with its position and does not go on', () => {
    const text = `upstreams:\n  a: { command: node\nlimits: [\n`;
    const errors = errorsOf(parseConfigText(text, { env, source: 'broken.yaml' }));
    expect(errors.length).toBeGreaterThan(0);
    for (const e of errors) {
      // Syntax errors only: the schema never saw the half-parsed document.
      expect(e.path).toBe('');
      expect(e.file).toBe('broken.yaml');
      expect(e.line).toBeGreaterThanOrEqual(2);
      expect(e.column).toBeGreaterThanOrEqual(1);
    }
  });

  it('rejects a file that names the same upstream twice, in YAML and in JSON', () => {
    const yamlText = `upstreams:\n  a: { command: node }\n  a: { command: other }\n`;
    const yamlErrors = errorsOf(parseConfigText(yamlText, { env }));
    expect(yamlErrors).toHaveLength(1);
    expect(yamlErrors[0]!.message).toMatch(/unique/i);
    expect(yamlErrors[0]!.line).toBe(3);
    const jsonText = '{\n  "upstreams": {\n    "a": { "command": "node" },\n    "a": { "command": "other" }\n  }\n}';
    const jsonErrors = errorsOf(parseConfigText(jsonText, { env }));
    expect(jsonErrors[0]!.message).toMatch(/unique/i);
    expect(jsonErrors[0]!.line).toBe(4);
  });

  it('reports a file that cannot be read, naming it', async () => {
    const missing = join(dir, 'does-not-exist.yaml');
    const errors = errorsOf(await loadConfigFile(missing, { env }));
    expect(errors).toEqual([{ severity: 'error', path: '', message: 'cannot read config: file not found', file: missing }]);
    expect(formatIssue(errors[0]!)).toBe(`${missing}: error: cannot read config: file not found`);
  });

  it('requires upstreams, and at least one', () => {
    expect(byPath(errorsOf(parseConfigText('log: { level: info }\n', { env })), 'upstreams').message).toMatch(/expected record/);
    expect(byPath(errorsOf(parseConfigText('upstreams: {}\n', { env })), 'upstreams').message).toMatch(/at least one upstream/);
    expect(byPath(errorsOf(parseConfigText('', { env })), 'upstreams')).toBeDefined();
  });

  it('reports the alternative an upstream was meant to be, not just "invalid input"', () => {
    const text = `upstreams:
  nothing: {}
  both: { command: node, url: "http://127.0.0.1:1/mcp" }
  ftp: { url: "ftp://example.com/x" }
  numeric: { command: 5 }
`;
    const errors = errorsOf(parseConfigText(text, { env }));
    expect(byPath(errors, 'upstreams.nothing.command').message).toMatch(/expected string/);
    expect(byPath(errors, 'upstreams.both.url').message).toBe('unknown setting "url"');
    expect(byPath(errors, 'upstreams.ftp.url').message).toMatch(/URL/);
    expect(byPath(errors, 'upstreams.numeric.command').message).toMatch(/expected string, received number/);
    for (const e of errors) expect(e.message).not.toMatch(/^Invalid input$/);
  });

  it('reports every cross-field error at once', () => {
    const text = `listen: [stdio, stdio, { url: "http://127.0.0.1:0/mcp?x=1" }]
upstreams:
  a: { command: node, cwd: no-such-dir }
limits: { request_timeout: 2m, max_request_time: 1m }
decision_log: { sink: file }
`;
    const errors = errorsOf(parseConfigText(text, { env, baseDir: dir, source: join(dir, 'x.yaml') }));
    expect(errors.map((e) => e.path).sort()).toEqual(['decision_log.path', 'limits.max_request_time', 'listen.1', 'listen.2.url', 'upstreams.a.cwd'].sort());
    expect(byPath(errors, 'limits.max_request_time').message).toMatch(/at least limits.request_timeout/);
    expect(byPath(errors, 'decision_log.path').message).toMatch(/required when sink is "file"/);
    expect(byPath(errors, 'listen.1').message).toMatch(/once/);
    expect(byPath(errors, 'listen.2.url').message).toMatch(/query/);
    expect(byPath(errors, 'upstreams.a.cwd').message).toContain(join(dir, 'no-such-dir'));
    expect(byPath(errors, 'upstreams.a.cwd')).toMatchObject(positionOf(text, 'cwd'));
  });

  it('reports a missing variable together with the other errors of the file', () => {
    // "Every problem at once": an unset variable says nothing about the names, so the
    // separator clash must not wait for the next run to be reported.
    const text = `upstreams:
  a__b: { command: node, env: { KEY: "\${MISSING_KEY}" } }
  c: { command: node }
`;
    const errors = errorsOf(parseConfigText(text, { env }));
    expect(errors.map((e) => e.path).sort()).toEqual(['upstreams.a__b', 'upstreams.a__b.env.KEY']);
  });
});

describe('${VAR} interpolation', () => {
  const load = (text: string, vars: Record<string, string>) => ok(parseConfigText(text, { env: vars }));

  it('substitutes variables anywhere in a string value, in lists and maps', () => {
    const config = load(
      `upstreams:
  s:
    command: "\${BIN}"
    args: ["--root=\${ROOT}/data", "\${A}\${B}"]
    env: { TOKEN: "Bearer \${TOKEN}" }
`,
      { BIN: 'node', ROOT: '/srv', A: 'x', B: 'y', TOKEN: 'secret' },
    );
    expect(config.upstreams[0]!.transport).toMatchObject({ command: 'node', args: ['--root=/srv/data', 'xy'] });
    expect(config.upstreams[0]!.transport).toHaveProperty('env.TOKEN', 'Bearer secret');
  });

  it('uses ${VAR:-default} only when the variable is unset', () => {
    const text = `upstreams:\n  s: { command: node, args: ["\${A:-fallback}", "\${B:-fallback}", "\${C:-}", "\${EMPTY:-fallback}"] }\n`;
    const config = load(text, { B: 'set', EMPTY: '' });
    expect(config.upstreams[0]!.transport).toMatchObject({ args: ['fallback', 'set', '', ''] });
  });

  it('writes a literal ${ for $${, even when the variable exists', () => {
    const config = load(`upstreams:\n  s: { command: node, args: ["$\${HOME}", "cost: $5", "$\${X:-y}"] }\n`, { HOME: '/home/x', X: 'no' });
    expect(config.upstreams[0]!.transport).toMatchObject({ args: ['${HOME}', 'cost: $5', '${X:-y}'] });
  });

  it('reports each missing variable by name at the value that uses it', () => {
    const text = `upstreams:
  s:
    command: node
    args: [ok, "\${FIRST_MISSING}"]
    env: { KEY: "\${SECOND_MISSING}" }
`;
    const errors = errorsOf(parseConfigText(text, { env: {}, source: 'vars.yaml' }));
    expect(errors).toHaveLength(2);
    const first = byPath(errors, 'upstreams.s.args.1');
    expect(first.message).toMatch(/FIRST_MISSING is not set/);
    expect(first).toMatchObject({ file: 'vars.yaml', ...positionOf(text, '"${FIRST_MISSING}"') });
    const second = byPath(errors, 'upstreams.s.env.KEY');
    expect(second.message).toMatch(/SECOND_MISSING is not set/);
    // A map entry is located at its key.
    expect(second).toMatchObject(positionOf(text, 'KEY'));
  });

  it('rejects a malformed reference', () => {
    const errors = errorsOf(parseConfigText(`upstreams:\n  s: { command: node, args: ["\${}", "\${1BAD}"] }\n`, { env: {} }));
    expect(errors.map((e) => e.path).sort()).toEqual(['upstreams.s.args.0', 'upstreams.s.args.1']);
    for (const e of errors) expect(e.message).toMatch(/not a valid variable reference/);
  });

  it('checks interpolated values against the schema like any other', () => {
    const config = load(`${ONE}limits: { request_timeout: "\${TIMEOUT:-90s}" }\n`, {});
    expect(config.limits.requestTimeoutMs).toBe(90_000);
    const errors = errorsOf(parseConfigText(`${ONE}limits: { request_timeout: "\${TIMEOUT}" }\n`, { env: { TIMEOUT: 'soon' } }));
    expect(byPath(errors, 'limits.request_timeout').message).toMatch(/duration/);
  });
});

describe('durations and sizes', () => {
  const limits = (body: string) => parseConfigText(`${ONE}limits: ${body}\n`, { env });

  it('accepts units on every duration and size', () => {
    expect(ok(limits('{ request_timeout: 1500ms, max_request_time: 1.5h }')).limits).toMatchObject({ requestTimeoutMs: 1500, maxRequestTimeMs: 5_400_000 });
    expect(ok(limits('{ request_timeout: 45, max_request_time: 5m }')).limits).toMatchObject({ requestTimeoutMs: 45, maxRequestTimeMs: 300_000 });
    expect(ok(limits('{ request_timeout: "2 s" }')).limits.requestTimeoutMs).toBe(2000);
    const sizes: Array<[string, number]> = [
      ['100B', 100],
      ['2KB', 2000],
      ['2KiB', 2048],
      ['1.5KiB', 1536],
      ['3MB', 3_000_000],
      ['3MiB', 3 * 1024 * 1024],
      ['1GB', 1e9],
      ['1GiB', 1024 ** 3],
      ['4096', 4096],
    ];
    for (const [spelling, bytes] of sizes) {
      expect(ok(limits(`{ max_message_bytes: ${spelling} }`)).limits.maxMessageBytes, spelling).toBe(bytes);
    }
    const up = ok(parseConfigText('upstreams:\n  s: { command: node, request_timeout: 250ms, restart: { initial_delay: 1s, max_delay: 1m } }\n', { env })).upstreams[0]!;
    expect(up.requestTimeoutMs).toBe(250);
    expect(up.restart).toMatchObject({ initialDelayMs: 1000, maxDelayMs: 60_000 });
  });

  it('rejects spellings without a known unit, negative and fractional numbers', () => {
    for (const bad of ['5w', '-1s', '1 .5s', 'soon', '1.5', '-5']) {
      const errors = errorsOf(limits(`{ request_timeout: "${bad}" }`));
      expect(byPath(errors, 'limits.request_timeout').message, bad).toMatch(/duration/);
    }
    for (const bad of ['10XB', '1kib', '1 TB']) {
      const errors = errorsOf(limits(`{ max_message_bytes: "${bad}" }`));
      expect(byPath(errors, 'limits.max_message_bytes').message, bad).toMatch(/size/);
    }
    expect(byPath(errorsOf(limits('{ request_timeout: -5 }')), 'limits.request_timeout')).toBeDefined();
    expect(byPath(errorsOf(limits('{ request_timeout: 1.5 }')), 'limits.request_timeout')).toBeDefined();
    expect(byPath(errorsOf(limits('{ max_message_bytes: 0 }')), 'limits.max_message_bytes')).toBeDefined();
  });
});

describe('units.ts', () => {
  it('parses durations and sizes, and throws on anything else', () => {
    expect(parseDuration(0)).toBe(0);
    expect(parseDuration('0.5s')).toBe(500);
    expect(parseDuration('90m')).toBe(5_400_000);
    expect(parseDuration('2h')).toBe(7_200_000);
    expect(parseByteSize('0.5KiB')).toBe(512);
    expect(parseByteSize('10 MiB')).toBe(10_485_760);
    expect(() => parseDuration('1w')).toThrow(/not a duration: 1w/);
    expect(() => parseByteSize('1TiB')).toThrow(/not a size: 1TiB/);
  });

  it('formats sizes the way messages quote them', () => {
    expect(formatBytes(10 * 1024 * 1024)).toBe('10 MiB');
    expect(formatBytes(2048)).toBe('2 KiB');
    // Only exact multiples get a unit, so a limit is never rounded in an error message.
    expect(formatBytes(1536)).toBe('1536 bytes');
    expect(formatBytes(100)).toBe('100 bytes');
  });
});

describe('profiles', () => {
  const MiB = 1024 * 1024;

  it('defaults to standard and ships strict and permissive as documented', () => {
    const standard = ok(parseConfigText(ONE, { env }));
    expect(standard.profile).toBe('standard');
    expect(standard.limits).toEqual({ maxMessageBytes: 10 * MiB, maxDepth: 64, requestTimeoutMs: 60_000, maxRequestTimeMs: 600_000 });
    expect(standard.decisionLog.include).toBe('all');

    const strict = ok(parseConfigText(`profile: strict\n${ONE}`, { env }));
    expect(strict.limits).toEqual({ maxMessageBytes: 4 * MiB, maxDepth: 32, requestTimeoutMs: 30_000, maxRequestTimeMs: 300_000 });
    expect(strict.decisionLog.include).toBe('all');
    expect(strict.upstreams[0]!.requestTimeoutMs).toBe(30_000);

    const permissive = ok(parseConfigText(`profile: permissive\n${ONE}`, { env }));
    expect(permissive.limits).toEqual({ maxMessageBytes: 32 * MiB, maxDepth: 128, requestTimeoutMs: 300_000, maxRequestTimeMs: 3_600_000 });
    expect(permissive.decisionLog.include).toBe('denials');
  });

  it('lets the file override a profile setting by setting, keeping the rest of the profile', () => {
    const config = ok(parseConfigText(`profile: strict\n${ONE}limits: { max_depth: 50 }\ndecision_log: { include: denials }\n`, { env }));
    expect(config.limits).toEqual({ maxMessageBytes: 4 * MiB, maxDepth: 50, requestTimeoutMs: 30_000, maxRequestTimeMs: 300_000 });
    expect(config.decisionLog).toEqual({ sink: 'stderr', path: undefined, include: 'denials' });
  });

  it('builds user profiles on a built-in one through extends, nearest profile winning', () => {
    const text = `profile: tight
profiles:
  base: { extends: strict, limits: { max_depth: 16, request_timeout: 20s } }
  tight: { extends: base, description: even tighter, limits: { max_depth: 8 }, policy: { tools: { deny: [shell] } } }
${ONE}`;
    const config = ok(parseConfigText(text, { env }));
    expect(config.profile).toBe('tight');
    expect(config.limits).toEqual({ maxMessageBytes: 4 * MiB, maxDepth: 8, requestTimeoutMs: 20_000, maxRequestTimeMs: 300_000 });
    // A profile's policy is the global fallback for every upstream.
    expect(config.upstreams[0]!.policy).toEqual({ tools: { allow: undefined, deny: ['shell'] }, prompts: { allow: undefined, deny: [] }, resources: { allow: undefined, deny: [] }, strictMode: false, validateArguments: true, guards: [], limits: [] });
  });

  it('builds a user profile without extends on standard', () => {
    const config = ok(parseConfigText(`profile: mine\nprofiles:\n  mine: { limits: { max_depth: 10 }, decision_log: { sink: 'off' } }\n${ONE}`, { env }));
    expect(config.limits).toEqual({ maxMessageBytes: 10 * MiB, maxDepth: 10, requestTimeoutMs: 60_000, maxRequestTimeMs: 600_000 });
    expect(config.decisionLog.sink).toBe('off');
  });

  it('rejects an unknown profile, naming the known ones', () => {
    const text = `profile: paranoid\nprofiles:\n  mine: {}\n${ONE}`;
    const error = byPath(errorsOf(parseConfigText(text, { env, source: 'p.yaml' })), 'profile');
    expect(error.message).toMatch(/unknown profile "paranoid"/);
    for (const name of ['standard', 'strict', 'permissive', 'mine']) expect(error.message).toContain(name);
    expect(error).toMatchObject({ file: 'p.yaml', ...positionOf(text, 'profile') });
  });

  it('rejects extends of an unknown profile and extends cycles, at the extends key', () => {
    const unknown = `profile: a\nprofiles:\n  a: { extends: ghost }\n${ONE}`;
    const e1 = byPath(errorsOf(parseConfigText(unknown, { env })), 'profiles.a.extends');
    expect(e1.message).toMatch(/unknown profile "ghost"/);
    expect(e1).toMatchObject(positionOf(unknown, 'extends'));

    const cycle = `profile: a\nprofiles:\n  a: { extends: b }\n  b: { extends: a }\n${ONE}`;
    const errors = errorsOf(parseConfigText(cycle, { env }));
    expect(errors).toHaveLength(1);
    expect(errors[0]!.path).toMatch(/^profiles\.[ab]\.extends$/);
    expect(errors[0]!.message).toMatch(/extends itself/);
  });
});

describe('names, separators and namespaces', () => {
  it('rejects a server name that contains the separator, since prefixed names could collide', () => {
    const text = `upstreams:\n  a__b: { command: node }\n  a: { command: node }\n`;
    const error = byPath(errorsOf(parseConfigText(text, { env })), 'upstreams.a__b');
    expect(error.message).toMatch(/contains the separator "__"/);
    expect(error).toMatchObject(positionOf(text, 'a__b'));
    // With another separator the same name is fine, and a name with the new separator is not.
    expect(ok(parseConfigText(`${text}aggregation: { separator: "." }\n`, { env })).aggregation.separator).toBe('.');
    const dashed = errorsOf(parseConfigText(`upstreams:\n  my-srv: { command: node }\n  b: { command: node }\naggregation: { separator: "-" }\n`, { env }));
    expect(byPath(dashed, 'upstreams.my-srv').message).toMatch(/separator "-"/);
  });

  it('rejects separators that tool names cannot carry', () => {
    for (const separator of ['', '/', ' ', '::']) {
      const errors = errorsOf(parseConfigText(`${ONE}aggregation: { separator: "${separator}" }\n`, { env }));
      expect(byPath(errors, 'aggregation.separator').message, JSON.stringify(separator)).toMatch(/letters, digits/);
    }
  });

  it('rejects server names that cannot prefix a tool name', () => {
    const long = `s${'x'.repeat(64)}`;
    const errors = errorsOf(parseConfigText(`upstreams:\n  1st: { command: node }\n  "a b": { command: node }\n  ${long}: { command: node }\n  ok: { command: node }\n`, { env }));
    expect(errors.map((e) => e.path).sort()).toEqual(['upstreams.1st', `upstreams.${long}`, 'upstreams.a b'].sort());
    for (const e of errors) expect(e.message).toMatch(/starts with a letter/);
  });

  it('rejects namespace: never with several upstreams', () => {
    const text = `upstreams:\n  a: { command: node }\n  b: { command: node }\naggregation: { namespace: never }\n`;
    const error = byPath(errorsOf(parseConfigText(text, { env })), 'aggregation.namespace');
    expect(error.message).toMatch(/exactly one upstream/);
    expect(error.message).toContain('2');
    expect(error).toMatchObject(positionOf(text, 'namespace'));
  });
});

describe('policies', () => {
  it('uses the global policy as the fallback: a server allow list replaces it, deny lists add up', () => {
    const text = `policy: { tools: { allow: [echo, "read_*"], deny: [read_secret] } }
upstreams:
  own: { command: node, policy: { tools: { allow: [search], deny: ["admin_*"] } } }
  inherits: { command: node }
`;
    const [own, inherits] = ok(parseConfigText(text, { env })).upstreams;
    expect(own!.policy.tools.allow).toEqual(['search']);
    expect([...own!.policy.tools.deny].sort()).toEqual(['admin_*', 'read_secret']);
    expect(inherits!.policy.tools).toEqual({ allow: ['echo', 'read_*'], deny: ['read_secret'] });
  });
});

describe('warnings', () => {
  it('reports warnings without failing the load', () => {
    const text = `listen: [{ url: "http://0.0.0.0:8080/mcp" }]
upstreams:
  s: { command: node, policy: { tools: { allow: [read_file, write_file], deny: ["write_*"] } } }
`;
    const result = parseConfigText(text, { env, source: 'w.yaml' });
    expect(result.ok).toBe(true);
    expect(result.warnings.map((w) => w.path).sort()).toEqual(['listen.0.url', 'upstreams.s.policy.tools.allow.1']);
    for (const w of result.warnings) expect(w.severity).toBe('warning');
    expect(byPath(result.warnings, 'listen.0.url')).toMatchObject({ file: 'w.yaml', ...positionOf(text, 'url') });
    expect(byPath(result.warnings, 'listen.0.url').message).toMatch(/other machines/);
    expect(byPath(result.warnings, 'upstreams.s.policy.tools.allow.1').message).toMatch(/"write_file" can never match: deny "write_\*"/);
    expect(formatIssue(byPath(result.warnings, 'listen.0.url'))).toMatch(/^w\.yaml:1:\d+: warning: listen\.0\.url: /);
  });

  it('warns when the global deny list covers a server\'s allow entry', () => {
    const text = `policy: { tools: { deny: [delete_file] } }
upstreams:
  s: { command: node, policy: { tools: { allow: [read_file, delete_file, "list_*"] } } }
`;
    const result = parseConfigText(text, { env });
    expect(result.ok).toBe(true);
    expect(result.warnings.map((w) => w.path)).toEqual(['upstreams.s.policy.tools.allow.1']);
    expect(result.warnings[0]!.message).toMatch(/"delete_file" can never match: the global policy's deny "delete_file"/);
  });

  it('does not warn for loopback listeners', () => {
    for (const host of ['127.0.0.1', 'localhost', '[::1]']) {
      expect(parseConfigText(`listen: [{ url: "http://${host}:8080/mcp" }]\n${ONE}`, { env }).warnings, host).toEqual([]);
    }
  });

  it('still returns the warnings when the file has errors', () => {
    const result = parseConfigText(`listen: [{ url: "http://10.0.0.1:8080/mcp" }]\n${ONE}limits: { request_timeout: 2m, max_request_time: 1m }\n`, { env });
    expect(result.ok).toBe(false);
    expect(result.warnings.map((w) => w.path)).toEqual(['listen.0.url']);
  });
});

describe('the environment of stdio servers', () => {
  it('passes the defaults and what is named, never loader or interpreter hooks, and no unnamed secrets', () => {
    const gatewayEnv = { PATH: '/usr/bin', HOME: '/home/u', LD_PRELOAD: '/tmp/evil.so', NODE_OPTIONS: '--require /tmp/x.js', AWS_SECRET_ACCESS_KEY: 'aws', GITHUB_TOKEN: 'gh', DB_PASSWORD: 'pw' };
    const text = `upstreams:
  s:
    command: node
    inherit_env: [LD_PRELOAD, GITHUB_TOKEN]
    env: { NODE_OPTIONS: "--require /tmp/y.js", MODE: quiet, DYLD_INSERT_LIBRARIES: /tmp/z.dylib }
`;
    const result = parseConfigText(text, { env: gatewayEnv, source: 'e.yaml' });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const transport = result.config.upstreams[0]!.transport;
    if (transport.kind !== 'stdio') throw new Error('unreachable');
    expect(transport.env).toEqual({ PATH: '/usr/bin', HOME: '/home/u', GITHUB_TOKEN: 'gh', MODE: 'quiet' });
    expect(result.warnings.map((w) => w.path).sort()).toEqual(['upstreams.s.env.DYLD_INSERT_LIBRARIES', 'upstreams.s.env.NODE_OPTIONS', 'upstreams.s.inherit_env.0']);
    expect(result.warnings[0]!.message).toMatch(/never passed to a server/);
  });
});
