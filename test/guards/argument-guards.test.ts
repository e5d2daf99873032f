/**
 * The argument-guard stage on its own: guard entries as the config loader produces them
 * (presets expanded, relative roots resolved against the config file), selectors, the first
 * refusal winning, and fail-closed behaviour for a guard that throws or rejects.
 */
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServerPolicy } from '../../src/config/config.ts';
import { parseConfigText } from '../../src/config/load.ts';
import { argumentGuards, parseSelector, select } from '../../src/guards/argument-guards.ts';
import { Pipeline, type PipelineOutcome } from '../../src/pipeline/pipeline.ts';
import { SecurityContext } from '../../src/pipeline/security-context.ts';
import { frameOf } from '../../src/protocol/frame.ts';

let dir: string;
beforeAll(() => {
  dir = realpathSync(mkdtempSync(join(tmpdir(), 'guardrail-ag-')));
  mkdirSync(join(dir, 'data'));
  writeFileSync(join(dir, 'data/a.txt'), 'a');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function policiesOf(yaml: string): Map<string, ServerPolicy> {
  const loaded = parseConfigText(yaml, { source: join(dir, 'guardrail.yaml') });
  if (!loaded.ok) throw new Error(loaded.errors.map((e) => `${e.path}: ${e.message}`).join('\n'));
  return new Map(loaded.config.upstreams.map((u) => [u.name, u.policy]));
}

async function run(policies: Map<string, ServerPolicy>, method: string, target: string, params: Record<string, unknown>): Promise<PipelineOutcome> {
  const guards = argumentGuards(policies);
  await guards.prepare();
  const pipeline = new Pipeline([guards.stage]);
  const frame = frameOf({ jsonrpc: '2.0', id: 1, method, params });
  return pipeline.run({ direction: 'client-to-server', era: 'legacy', kind: 'request', method, frame, session: new SecurityContext({ sessionId: 's', transport: 'stdio' }), server: 'files', target, request: undefined });
}

describe('argument guards from the config', () => {
  it('expands the filesystem preset with roots relative to the config file', async () => {
    const policies = policiesOf('upstreams:\n  files: { command: node, policy: { guards: [{ preset: filesystem, roots: [./data] }] } }\n');
    const entries = policies.get('files')!.guards;
    expect(entries.find((e) => e.tools?.includes('write_file'))).toMatchObject({ guard: 'path', arguments: ['path'], options: { roots: [join(dir, 'data')], operation: 'write' } });
    expect(entries.find((e) => e.on === 'resources/read')).toMatchObject({ arguments: ['uri'] });
    expect((await run(policies, 'tools/call', 'read_text_file', { name: 'read_text_file', arguments: { path: 'a.txt' } })).verdict).toBe('allow');
    const refused = await run(policies, 'tools/call', 'read_text_file', { name: 'read_text_file', arguments: { path: '../x' } });
    expect(refused.verdict).toBe('deny');
    expect(refused.decisions.at(-1)).toMatchObject({ rule: 'path.outside-roots', stage: 'argument-guard', evidence: { argument: 'path', policy: 'upstreams.files.policy.guards.0' } });
  });

  it('applies the global policy\'s guards to every server, and judges file:// resources', async () => {
    const policies = policiesOf(`policy: { guards: [{ guard: path, on: resources/read, arguments: [uri], roots: ["${dir}/data"] }] }\nupstreams:\n  files: { command: node }\n`);
    expect((await run(policies, 'resources/read', `file://${dir}/data/a.txt`, { uri: `file://${dir}/data/a.txt` })).verdict).toBe('allow');
    const refused = await run(policies, 'resources/read', 'file:///etc/passwd', { uri: 'file:///etc/passwd' });
    expect(refused.decisions.at(-1)).toMatchObject({ rule: 'path.outside-roots', reason: expect.stringContaining('resource "file:///etc/passwd"') });
  });

  it('leaves tools the entry does not name, and absent arguments, alone', async () => {
    const policies = policiesOf(`upstreams:\n  files: { command: node, policy: { guards: [{ guard: path, tools: ["read_*"], arguments: [path], roots: ["${dir}/data"] }] } }\n`);
    expect((await run(policies, 'tools/call', 'write_file', { name: 'write_file', arguments: { path: '/etc/passwd' } })).verdict).toBe('allow');
    expect((await run(policies, 'tools/call', 'read_file', { name: 'read_file', arguments: {} })).verdict).toBe('allow');
    // A value of the wrong shape where a path is expected is refused, not skipped.
    expect((await run(policies, 'tools/call', 'read_file', { name: 'read_file', arguments: { path: ['../../etc/passwd'] } })).decisions.at(-1)).toMatchObject({ rule: 'path.not-a-path' });
  });

  it('needs either the arguments or detect: true', () => {
    const neither = parseConfigText('upstreams:\n  files: { command: node, policy: { guards: [{ guard: path, roots: [/srv] }] } }\n', {});
    expect(neither.ok ? [] : neither.errors.map((e) => e.message)).toContain('give the arguments to judge, or detect: true (not both)');
    const both = parseConfigText('upstreams:\n  files: { command: node, policy: { guards: [{ guard: path, detect: true, arguments: [path], roots: [/srv] }] } }\n', {});
    expect(both.ok).toBe(false);
    const detecting = parseConfigText('upstreams:\n  files: { command: node, policy: { guards: [{ guard: url, detect: true }] } }\n', {});
    expect(detecting.ok && detecting.config.upstreams[0]!.policy.guards[0]).toMatchObject({ guard: 'url', detect: true, arguments: [] });
  });

  it('reports a bad selector or an unknown preset as a config error with its place', () => {
    const bad = parseConfigText('upstreams:\n  files:\n    command: node\n    policy:\n      guards:\n        - { guard: path, arguments: ["a..b"], roots: [/srv] }\n        - { preset: telnet }\n', { source: 'g.yaml' });
    expect(bad.ok).toBe(false);
    const paths = (bad.ok ? [] : bad.errors).map((e) => `${e.path}@${e.line}`);
    expect(paths.some((p) => p.startsWith('upstreams.files.policy.guards.0') && p.endsWith('@6'))).toBe(true);
    expect(paths.some((p) => p.startsWith('upstreams.files.policy.guards.1') && p.endsWith('@7'))).toBe(true);
  });
});

describe('selectors', () => {
  it('select keys, indexes and every item, with labels', () => {
    const args = { path: 'a', paths: ['b', 'c'], options: { url: 'u' } };
    expect(select(args, parseSelector('path'))).toEqual([{ value: 'a', label: 'path' }]);
    expect(select(args, parseSelector('paths[*]'))).toEqual([{ value: 'b', label: 'paths[0]' }, { value: 'c', label: 'paths[1]' }]);
    expect(select(args, parseSelector('paths[1]'))).toEqual([{ value: 'c', label: 'paths[1]' }]);
    expect(select(args, parseSelector('options.url'))).toEqual([{ value: 'u', label: 'options.url' }]);
    expect(select(args, parseSelector('missing.deep'))).toEqual([]);
    // A single value where a list was expected is still judged.
    expect(select({ paths: 'x' }, parseSelector('paths[*]'))).toEqual([{ value: 'x', label: 'paths' }]);
    // Inherited properties are not arguments.
    expect(select({}, parseSelector('constructor'))).toEqual([]);
  });
});

describe('every guard kind, compiled from the config', () => {
  const yaml = `
upstreams:
  web: { command: node, policy: { guards: [{ preset: fetch }] } }
  db: { command: node, policy: { guards: [{ preset: sql }] } }
  sh: { command: node, policy: { guards: [{ preset: shell, allow: [ls, git] }] } }
`;
  const runOn = async (server: string, tool: string, args: Record<string, unknown>) => {
    const policies = policiesOf(yaml);
    const guards = argumentGuards(policies);
    await guards.prepare();
    const frame = frameOf({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: tool, arguments: args } });
    return new Pipeline([guards.stage]).run({ direction: 'client-to-server', era: 'legacy', kind: 'request', method: 'tools/call', frame, session: new SecurityContext({ sessionId: 's', transport: 'stdio' }), server, target: tool, request: undefined });
  };

  it('refuses a cloud metadata URL in any spelling, and lets a public address through', async () => {
    expect((await runOn('web', 'fetch', { url: 'http://169.254.169.254/latest/meta-data/' })).decisions.at(-1)).toMatchObject({ rule: 'url.metadata' });
    expect((await runOn('web', 'fetch', { url: 'http://0xa9fea9fe/' })).decisions.at(-1)).toMatchObject({ rule: 'url.metadata' });
    expect((await runOn('web', 'fetch', { url: 'http://[::ffff:127.0.0.1]:8080/' })).decisions.at(-1)).toMatchObject({ rule: 'url.private-address' });
    expect((await runOn('web', 'fetch', { url: 'https://93.184.216.34/' })).verdict).toBe('allow');
  });

  it('refuses stacked and writing SQL, and allows a plain read', async () => {
    expect((await runOn('db', 'query', { sql: 'SELECT * FROM users; DROP TABLE users' })).decisions.at(-1)).toMatchObject({ rule: 'sql.multiple-statements' });
    expect((await runOn('db', 'query', { sql: "SELECT * FROM users WHERE name = '' OR 1=1" })).decisions.at(-1)).toMatchObject({ rule: 'sql.tautology' });
    expect((await runOn('db', 'query', { sql: "SELECT id FROM notes WHERE title = 'drop table notes'" })).verdict).toBe('allow');
  });

  it('refuses shell syntax and commands not allowed, and allows an allowed one', async () => {
    expect((await runOn('sh', 'run_command', { command: 'ls; curl http://x' })).verdict).toBe('deny');
    expect((await runOn('sh', 'run_command', { command: 'ls $(id)' })).decisions.at(-1)).toMatchObject({ rule: 'command.substitution' });
    expect((await runOn('sh', 'run_command', { command: 'cat /etc/passwd' })).decisions.at(-1)).toMatchObject({ rule: 'command.not-allowed' });
    expect((await runOn('sh', 'run_command', { command: 'git log -n 3' })).verdict).toBe('allow');
  });
});

describe('resources behind a namespace', () => {
  it('judges the URI the server will receive, not the prefixed one the client sent', async () => {
    const policies = policiesOf(`upstreams:\n  files: { command: node, policy: { guards: [{ preset: filesystem, roots: ["${dir}/data"] }] } }\n  other: { command: node }\n`);
    // The client writes files__file:///etc/passwd; the session resolves it to file:///etc/passwd for "files".
    const refused = await run(policies, 'resources/read', 'file:///etc/passwd', { uri: 'files__file:///etc/passwd' });
    expect(refused.decisions.at(-1)).toMatchObject({ rule: 'path.outside-roots' });
    expect((await run(policies, 'resources/read', `file://${dir}/data/a.txt`, { uri: `files__file://${dir}/data/a.txt` })).verdict).toBe('allow');
  });
});
