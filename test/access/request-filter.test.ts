/**
 * The request filter as a stage in a real pipeline, with policies produced by the real config
 * loader (so the global fallback is the one users get): tool allow/deny, hiding denied tools
 * from listings, depth, params, unknown and era-removed methods, server requests for
 * capabilities the client never declared. Decisions name their rule and carry evidence, never
 * message content.
 */
import { describe, expect, it } from 'vitest';
import type { ServerPolicy } from '../../src/config/config.ts';
import { formatIssue, parseConfigText } from '../../src/config/load.ts';
import { requestFilter } from '../../src/access/request-filter.ts';
import type { Decision } from '../../src/pipeline/decision.ts';
import { Pipeline, type PipelineInput, type PipelineOutcome } from '../../src/pipeline/pipeline.ts';
import { SecurityContext } from '../../src/pipeline/security-context.ts';
import type { Direction } from '../../src/pipeline/stage.ts';
import { decodeFrame, encodeFrame, frameOf, type Frame } from '../../src/protocol/frame.ts';
import { ErrorCode, type JsonRpcMessage } from '../../src/protocol/jsonrpc.ts';
import { CLIENT_REQUESTS, MODERN_ONLY, REMOVED_IN_MODERN } from '../../src/protocol/methods.ts';
import type { Era } from '../../src/protocol/revisions.ts';

/** Policies per server, the way the gateway gets them: from a config file. */
function policiesFrom(yaml: string): Map<string, ServerPolicy> {
  const result = parseConfigText(yaml, { env: {} });
  if (!result.ok) throw new Error(result.errors.map(formatIssue).join('\n'));
  return new Map(result.config.upstreams.map((u) => [u.name, u.policy]));
}

const POLICY_YAML = `
policy:
  tools:
    deny: ["delete_*", "*/admin"]
upstreams:
  files:
    command: node
    policy: { tools: { allow: ["read_*", "list_*", "write_file"], deny: [write_file] } }
  shell:
    command: node
    policy: { tools: { allow: [run] } }
  open:
    command: node
`;

interface Harness {
  run(message: JsonRpcMessage | Frame, at?: Partial<PipelineInput>): PipelineOutcome;
  session: SecurityContext;
}

function harness(options: { maxDepth?: number; yaml?: string } = {}): Harness {
  const stage = requestFilter({ maxDepth: options.maxDepth ?? 64, policies: policiesFrom(options.yaml ?? POLICY_YAML) });
  const pipeline = new Pipeline([stage]);
  const session = new SecurityContext({ sessionId: 's', transport: 'stdio' });
  return {
    session,
    run(message, at = {}) {
      const frame = 'kind' in message && 'message' in message ? (message as Frame) : frameOf(message as JsonRpcMessage);
      const m = frame.message as { method?: string };
      const outcome = pipeline.run({
        direction: 'client-to-server',
        era: 'legacy',
        kind: frame.kind,
        method: m.method ?? 'tools/call',
        frame,
        session,
        server: undefined,
        target: undefined,
        request: undefined,
        ...at,
      });
      if (outcome instanceof Promise) throw new Error('the request filter must decide synchronously');
      return outcome;
    },
  };
}

const call = (name: string, args: Record<string, unknown> = {}): JsonRpcMessage => ({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name, arguments: args } });
const denial = (o: PipelineOutcome): Decision => {
  expect(o.verdict).toBe('deny');
  return o.decisions.at(-1)!;
};

describe('tool policy on tools/call', () => {
  const h = harness();
  const callOn = (server: string, tool: string, args: Record<string, unknown> = {}) => h.run(call(tool, args), { server, target: tool });

  it('allows what the server policy allows', () => {
    expect(callOn('files', 'read_file').verdict).toBe('allow');
    expect(callOn('files', 'list_dir').verdict).toBe('allow');
    expect(callOn('shell', 'run').verdict).toBe('allow');
    expect(callOn('open', 'anything_at_all').verdict).toBe('allow');
  });

  it('refuses a tool outside the allow list, with the policy-denied default code', () => {
    const d = denial(callOn('shell', 'rm'));
    expect(d).toMatchObject({ effect: 'deny', stage: 'request-filter', layer: 'request-control', rule: 'request-filter.tool-not-allowed', evidence: { server: 'shell', tool: 'rm' } });
    // No code of its own: the session answers with -32010, "refused by policy".
    expect(d.code).toBeUndefined();
  });

  it('lets deny win over allow, naming the pattern that matched', () => {
    const d = denial(callOn('files', 'write_file'));
    expect(d).toMatchObject({ rule: 'request-filter.tool-denied', evidence: { server: 'files', tool: 'write_file', pattern: 'write_file' } });
    expect(d.code).toBeUndefined();
  });

  it('applies the global deny list to every server, alongside their own lists', () => {
    for (const server of ['files', 'shell', 'open']) {
      const d = denial(callOn(server, 'delete_everything'));
      expect(d, server).toMatchObject({ rule: 'request-filter.tool-denied', evidence: { server, pattern: 'delete_*' } });
    }
  });

  it('matches whole names, case-sensitively, and lets * cross "/"', () => {
    expect(callOn('open', 'Delete_all').verdict).toBe('allow');
    expect(callOn('open', 'xdelete_all').verdict).toBe('allow');
    expect(denial(callOn('open', 'ns/sub/admin')).evidence).toMatchObject({ pattern: '*/admin' });
    expect(callOn('open', 'ns/admin2').verdict).toBe('allow');
  });

  it('checks the tool as the upstream spells it (target), not the namespaced name the client sent', () => {
    // The client wrote files__read_file; the session resolved server "files", tool "read_file".
    expect(h.run(call('files__read_file'), { server: 'files', target: 'read_file' }).verdict).toBe('allow');
    expect(denial(h.run(call('files__read_file'), { server: 'files', target: 'write_file' })).rule).toBe('request-filter.tool-denied');
  });

  it('puts names and patterns in the evidence, never the arguments', () => {
    const secret = 'sk-live-0123456789-TOP-SECRET';
    for (const [server, tool] of [
      ['files', 'write_file'],
      ['shell', 'rm'],
    ]) {
      const d = denial(callOn(server!, tool!, { path: '/etc/passwd', token: secret, nested: { deeper: secret } }));
      const text = JSON.stringify(d);
      expect(text).not.toContain(secret);
      expect(text).not.toContain('/etc/passwd');
      expect(Object.keys(d.evidence ?? {}).sort()).toEqual(tool === 'rm' ? ['server', 'tool'] : ['pattern', 'server', 'tool']);
    }
  });
});

describe('hiding tools from tools/list', () => {
  const h = harness();
  const TOOLS = ['read_file', 'write_file', 'delete_file', 'list_dir', 'exec'].map((name) => ({ name, description: `${name} tool`, inputSchema: { type: 'object' } }));
  const listResult = (tools: unknown[]) => frameOf({ jsonrpc: '2.0', id: 4, result: { tools, nextCursor: 'c2' } });
  const fromServer = (server: string, frame: Frame) => h.run(frame, { direction: 'server-to-client', kind: 'result', method: 'tools/list', server });

  it('removes denied and not-allowed tools, keeping everything else of the result', () => {
    const outcome = fromServer('files', listResult(TOOLS));
    expect(outcome.verdict).toBe('transform');
    const result = (outcome.frame.message as unknown as { result: { tools: Array<{ name: string }>; nextCursor: string } }).result;
    expect(result.tools.map((t) => t.name)).toEqual(['read_file', 'list_dir']);
    expect(result.tools[0]).toEqual(TOOLS[0]);
    expect(result.nextCursor).toBe('c2');
    expect((outcome.frame.message as { id: number }).id).toBe(4);
    const d = outcome.decisions.at(-1)!;
    expect(d).toMatchObject({ effect: 'transform', rule: 'request-filter.tools-hidden', evidence: { server: 'files' } });
    expect([...(d.evidence!.hidden as string[])].sort()).toEqual(['delete_file', 'exec', 'write_file']);
    // Descriptions are content: they stay out of the decision.
    expect(JSON.stringify(d)).not.toContain('delete_file tool');
    expect(JSON.stringify(d)).not.toContain('inputSchema');
  });

  it('forwards a listing untouched, bytes and all, when nothing is hidden', () => {
    const text = '{"jsonrpc":"2.0","id":4,"result":{"tools":[{"name":"read_file","inputSchema":{"type":"object"}},{"name":"list_dir","inputSchema":{"type":"object"}}]}}';
    const decoded = decodeFrame(Buffer.from(text));
    if (!decoded.ok) throw new Error(decoded.reason);
    const outcome = fromServer('files', decoded.frame);
    expect(outcome.verdict).toBe('allow');
    expect(outcome.frame).toBe(decoded.frame);
    expect(encodeFrame(outcome.frame).toString()).toBe(text);
  });

  it('uses each server\'s own policy, and leaves unknown servers and malformed results alone', () => {
    const shell = fromServer('shell', listResult(TOOLS));
    expect((shell.frame.message as unknown as { result: { tools: Array<{ name: string }> } }).result.tools.map((t) => t.name)).toEqual([]);
    const open = fromServer('open', listResult(TOOLS));
    expect((open.frame.message as unknown as { result: { tools: Array<{ name: string }> } }).result.tools.map((t) => t.name)).toEqual(['read_file', 'write_file', 'list_dir', 'exec']);
    expect(fromServer('not-configured', listResult(TOOLS)).verdict).toBe('allow');
    expect(fromServer('files', frameOf({ jsonrpc: '2.0', id: 4, result: { tools: 'nope' } })).verdict).toBe('allow');
  });

  it('refuses to call a hidden tool as well', () => {
    const hidden = (fromServer('files', listResult(TOOLS)).decisions.at(-1)!.evidence!.hidden as string[]);
    for (const tool of hidden) expect(denial(h.run(call(tool), { server: 'files', target: tool })).rule, tool).toMatch(/^request-filter\.tool-(denied|not-allowed)$/);
  });
});

describe('message shape', () => {
  /** A tools/call whose arguments nest to `depth` levels in total, counting the message itself. */
  function nested(depth: number): JsonRpcMessage {
    // message(1) > params(2) > arguments(3) > ...
    let value: Record<string, unknown> = {};
    for (let d = 3; d < depth; d++) value = { v: value };
    return { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'read_file', arguments: value } };
  }

  it('refuses a message nested deeper than the limit, and accepts one exactly at it', () => {
    const h = harness({ maxDepth: 10 });
    expect(h.run(nested(10), { server: 'files', target: 'read_file' }).verdict).toBe('allow');
    const d = denial(h.run(nested(11), { server: 'files', target: 'read_file' }));
    expect(d).toMatchObject({ rule: 'request-filter.too-deep', code: ErrorCode.InvalidRequest, evidence: { maxDepth: 10 } });
  });

  it('counts arrays as nesting too, in responses as well as requests', () => {
    const h = harness({ maxDepth: 4 });
    const deep = frameOf({ jsonrpc: '2.0', id: 1, result: { a: [[{}]] } });
    expect(denial(h.run(deep, { direction: 'server-to-client', method: 'tools/call', server: 'open' })).rule).toBe('request-filter.too-deep');
    const ok = frameOf({ jsonrpc: '2.0', id: 1, result: { a: [1, 2] } });
    expect(h.run(ok, { direction: 'server-to-client', method: 'tools/call', server: 'open' }).verdict).toBe('allow');
  });

  it('rejects a maxDepth that cannot work', () => {
    expect(() => requestFilter({ maxDepth: 1, policies: new Map() })).toThrow(/maxDepth/);
    expect(() => requestFilter({ maxDepth: 2.5, policies: new Map() })).toThrow(/maxDepth/);
  });

  it('refuses routed requests without the parameter they are routed by', () => {
    const h = harness();
    const cases: Array<[JsonRpcMessage, string]> = [
      [{ jsonrpc: '2.0', id: 1, method: 'tools/call', params: {} }, 'name'],
      [{ jsonrpc: '2.0', id: 1, method: 'tools/call' }, 'name'],
      [{ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 42 } }, 'name'],
      [{ jsonrpc: '2.0', id: 1, method: 'prompts/get', params: {} }, 'name'],
      [{ jsonrpc: '2.0', id: 1, method: 'resources/read', params: { name: 'x' } }, 'uri'],
      [{ jsonrpc: '2.0', id: 1, method: 'resources/subscribe', params: {} }, 'uri'],
      [{ jsonrpc: '2.0', id: 1, method: 'completion/complete', params: { ref: {} } }, 'ref'],
    ];
    for (const [message, field] of cases) {
      const d = denial(h.run(message, { server: 'files', target: 'x' }));
      expect(d, JSON.stringify(message)).toMatchObject({ rule: 'request-filter.invalid-params', code: ErrorCode.InvalidParams, evidence: { method: (message as { method: string }).method, field } });
    }
  });

  it('refuses a routed request that names nothing any server offers', () => {
    const h = harness();
    const d = denial(h.run(call('nowhere__tool'), { server: undefined, target: undefined }));
    expect(d).toMatchObject({ rule: 'request-filter.unknown-target', code: ErrorCode.InvalidParams, evidence: { name: 'nowhere__tool' } });
    const r = denial(h.run({ jsonrpc: '2.0', id: 2, method: 'resources/read', params: { uri: 'x://y' } }));
    expect(r.evidence).toMatchObject({ name: 'x://y' });
  });

  it('lets unrouted requests through without a server', () => {
    const h = harness();
    for (const method of ['initialize', 'ping', 'tools/list', 'prompts/list', 'resources/list', 'resources/templates/list', 'logging/setLevel']) {
      expect(h.run({ jsonrpc: '2.0', id: 1, method, params: {} }).verdict, method).toBe('allow');
    }
  });
});

describe('methods', () => {
  const h = harness();
  const request = (method: string, direction: Direction = 'client-to-server', era: Era = 'legacy') =>
    h.run({ jsonrpc: '2.0', id: 1, method, params: { name: 'read_file', uri: 'x://y', ref: { name: 'p' } } }, { direction, era, server: 'files', target: 'read_file' });
  const notification = (method: string, direction: Direction = 'client-to-server') => h.run({ jsonrpc: '2.0', method }, { direction });

  it('refuses methods that are not MCP, with -32601, in both directions', () => {
    for (const [method, direction] of [
      ['tools/execute', 'client-to-server'],
      ['admin/shutdown', 'client-to-server'],
      ['tools/call', 'server-to-client'],
      ['initialize', 'server-to-client'],
    ] as const) {
      const d = denial(request(method, direction));
      expect(d, `${direction} ${method}`).toMatchObject({ rule: 'request-filter.unknown-method', code: ErrorCode.MethodNotFound, evidence: { method } });
    }
    expect(denial(notification('notifications/made_up')).rule).toBe('request-filter.unknown-method');
    // A server may not send a client-only notification, and vice versa.
    expect(denial(notification('notifications/initialized', 'server-to-client')).rule).toBe('request-filter.unknown-method');
    expect(denial(notification('notifications/tools/list_changed', 'client-to-server')).rule).toBe('request-filter.unknown-method');
    expect(notification('notifications/tools/list_changed', 'server-to-client').verdict).toBe('allow');
    expect(notification('notifications/cancelled', 'client-to-server').verdict).toBe('allow');
  });

  it('refuses what 2026-07-28 removed from a modern client, and what it added from a legacy one', () => {
    for (const method of ['initialize', 'ping', 'logging/setLevel', 'resources/subscribe']) {
      const d = denial(request(method, 'client-to-server', 'modern'));
      expect(d, method).toMatchObject({ rule: 'request-filter.unknown-method', code: ErrorCode.MethodNotFound, evidence: { method, era: 'modern' } });
      expect(d.reason).toContain('2026-07-28');
      expect(request(method, 'client-to-server', 'legacy').verdict, `${method} (legacy)`).toBe('allow');
    }
    for (const method of ['server/discover', 'subscriptions/listen', 'tasks/update']) {
      expect(denial(request(method, 'client-to-server', 'legacy')).evidence, method).toMatchObject({ method, era: 'legacy' });
      expect(request(method, 'client-to-server', 'modern').verdict, `${method} (modern)`).toBe('allow');
    }
  });

  it('knows every method of both eras: each is allowed in the era that has it', () => {
    for (const method of Object.keys(CLIENT_REQUESTS)) {
      const era: Era = MODERN_ONLY.has(method) ? 'modern' : 'legacy';
      expect(request(method, 'client-to-server', era).verdict, method).toBe('allow');
      if (!REMOVED_IN_MODERN.has(method) && !MODERN_ONLY.has(method)) expect(request(method, 'client-to-server', 'modern').verdict, `${method} (modern)`).toBe('allow');
    }
  });
});

describe('server-to-client requests and client capabilities', () => {
  const serverRequest = (h: Harness, method: string) => h.run({ jsonrpc: '2.0', id: 9, method, params: {} }, { direction: 'server-to-client', server: 'files' });

  it('refuses sampling, elicitation and roots requests the client did not declare', () => {
    const h = harness();
    h.session.client = { name: 'c', capabilities: { roots: {} } };
    for (const [method, capability] of [
      ['sampling/createMessage', 'sampling'],
      ['elicitation/create', 'elicitation'],
    ]) {
      const d = denial(serverRequest(h, method!));
      expect(d, method).toMatchObject({ rule: 'request-filter.capability-not-declared', code: ErrorCode.MethodNotFound, evidence: { method, capability } });
    }
    expect(serverRequest(h, 'roots/list').verdict).toBe('allow');
  });

  it('forwards them once the client declared the capability, and ping always', () => {
    const h = harness();
    expect(serverRequest(h, 'ping').verdict).toBe('allow');
    expect(denial(serverRequest(h, 'roots/list')).rule).toBe('request-filter.capability-not-declared');
    h.session.client = { capabilities: { sampling: {}, elicitation: { form: {} }, roots: { listChanged: true } } };
    for (const method of ['sampling/createMessage', 'elicitation/create', 'roots/list', 'ping']) expect(serverRequest(h, method).verdict, method).toBe('allow');
  });
});

describe('prompts, resources and strict mode', () => {
  const yaml = `
upstreams:
  docs:
    command: node
    policy:
      prompts: { deny: ["admin_*"] }
      resources: { allow: ["file:///srv/docs/**"], deny: ["**/*.key"] }
  locked:
    command: node
    policy: { extends: restrictive, tools: { allow: [read_file] } }
`;
  const h = () => harness({ yaml });
  const call = (method: string, server: string, target: string, params: Record<string, unknown>) =>
    h().run({ jsonrpc: '2.0', id: 1, method, params }, { server, target });

  it('refuses a denied prompt and a resource outside the allow list, also for subscriptions and completion', () => {
    expect(call('prompts/get', 'docs', 'admin_reset', { name: 'admin_reset' }).decisions.at(-1)).toMatchObject({ rule: 'request-filter.prompt-denied', evidence: { prompt: 'admin_reset', pattern: 'admin_*' } });
    expect(call('prompts/get', 'docs', 'summary', { name: 'summary' }).verdict).toBe('allow');
    expect(call('resources/read', 'docs', 'file:///srv/docs/a/b.md', { uri: 'file:///srv/docs/a/b.md' }).verdict).toBe('allow');
    expect(call('resources/read', 'docs', 'file:///etc/passwd', { uri: 'file:///etc/passwd' }).decisions.at(-1)).toMatchObject({ rule: 'request-filter.resource-not-allowed' });
    expect(call('resources/subscribe', 'docs', 'file:///srv/docs/tls/server.key', { uri: 'file:///srv/docs/tls/server.key' }).decisions.at(-1)).toMatchObject({ rule: 'request-filter.resource-denied' });
    expect(call('completion/complete', 'docs', 'admin_reset', { ref: { type: 'ref/prompt', name: 'admin_reset' }, argument: { name: 'a', value: '' } }).verdict).toBe('deny');
  });

  it('hides denied prompts and resources from listings', () => {
    const prompts = h().run({ jsonrpc: '2.0', id: 1, result: { prompts: [{ name: 'summary' }, { name: 'admin_reset' }] } }, { direction: 'server-to-client', method: 'prompts/list', server: 'docs' });
    expect(prompts.verdict).toBe('transform');
    expect((prompts.frame.message as unknown as { result: { prompts: Array<{ name: string }> } }).result.prompts.map((p) => p.name)).toEqual(['summary']);
    const resources = h().run(
      { jsonrpc: '2.0', id: 1, result: { resources: [{ uri: 'file:///srv/docs/a.md' }, { uri: 'file:///srv/docs/tls/a.key' }, { uri: 'file:///etc/hosts' }] } },
      { direction: 'server-to-client', method: 'resources/list', server: 'docs' },
    );
    expect((resources.frame.message as unknown as { result: { resources: Array<{ uri: string }> } }).result.resources.map((r) => r.uri)).toEqual(['file:///srv/docs/a.md']);
    expect(resources.decisions.at(-1)).toMatchObject({ rule: 'request-filter.resources-hidden', evidence: { hidden: ['file:///srv/docs/tls/a.key', 'file:///etc/hosts'] } });
  });

  it('in strict mode (the restrictive template), allows only what is listed', () => {
    expect(call('tools/call', 'locked', 'read_file', { name: 'read_file' }).verdict).toBe('allow');
    expect(call('tools/call', 'locked', 'write_file', { name: 'write_file' }).decisions.at(-1)).toMatchObject({ rule: 'request-filter.tool-not-allowed' });
    // No prompt or resource allow list: none exists for the client.
    expect(call('prompts/get', 'locked', 'anything', { name: 'anything' }).decisions.at(-1)).toMatchObject({ rule: 'request-filter.prompt-not-allowed' });
    expect(call('resources/read', 'locked', 'file:///x', { uri: 'file:///x' }).decisions.at(-1)).toMatchObject({ rule: 'request-filter.resource-not-allowed' });
  });

  it('gives guards the template\'s defaults under what the entry sets', () => {
    const policies = policiesFrom(`
upstreams:
  web:
    command: node
    policy:
      extends: moderate
      guards: [{ guard: url, arguments: [url], schemes: [https] }]
`);
    const entry = policies.get('web')!.guards[0]!;
    expect(entry.options).toEqual({ schemes: ['https'], ports: [80, 443], blockPrivate: true });
    expect(policies.get('web')!.strictMode).toBe(false);
  });
});
