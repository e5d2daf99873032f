/**
 * The information-flow stage through a real Pipeline, on frames built with frameOf and configs
 * built by the real loader (so defaults and profiles are the real ones): what is scanned in each
 * kind of message and in both directions, level defaults, rules (priority, first match, most
 * restrictive), the four transformations, taint and egress, detector settings, and what the
 * stage never touches (`_meta`, the id). Fake values are generated per case; none is committed.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { FlowConfig } from '../../src/config/config.ts';
import { checkConfig, formatIssue } from '../../src/config/load.ts';
import { flowStage } from '../../src/flow/flow-stage.ts';
import type { Decision } from '../../src/pipeline/decision.ts';
import { Pipeline, type PipelineInput, type PipelineOutcome } from '../../src/pipeline/pipeline.ts';
import { SecurityContext } from '../../src/pipeline/security-context.ts';
import { PASS, type Direction, type StageResult } from '../../src/pipeline/stage.ts';
import { frameOf } from '../../src/protocol/frame.ts';
import type { JsonRpcMessage, JsonRpcRequest } from '../../src/protocol/jsonrpc.ts';
import { generate, rngFor } from './fakes.ts';

type Obj = Record<string, unknown>;

const fake = (name: string, slot: string, args: string[] = []) => generate(name, args, rngFor(`flow-stage.test:${name}`, slot));
const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');
const hashKey = () => randomBytes(24).toString('hex');
const TOKEN = /tok_[a-z2-7]{16}/;

function flowConfig(flow: Obj, top: Obj): FlowConfig {
  const result = checkConfig({ upstreams: { files: { command: 'node' }, mail: { command: 'node' } }, ...top, flow }, { env: { PATH: '/usr/bin' } });
  if (!result.ok) throw new Error(`expected the config to load:\n${result.errors.map(formatIssue).join('\n')}`);
  return result.config.flow;
}

interface Route {
  readonly server?: string;
  readonly target?: string;
  /** For responses: the method of the request answered (default tools/call). */
  readonly method?: string;
  readonly request?: JsonRpcRequest;
}

/** One gateway's flow stage in a pipeline of its own, and one client session. */
function setup(flow: Obj = {}, top: Obj = {}) {
  const stage = flowStage({ config: flowConfig(flow, top) });
  const pipeline = new Pipeline([stage]);
  const session = new SecurityContext({ sessionId: 'flow-test', transport: 'stdio' });
  session.client = { name: 'claude-desktop', version: '1.0' };
  const input = (direction: Direction, message: Obj, route: Route): PipelineInput => {
    const frame = frameOf(message as unknown as JsonRpcMessage);
    const method = route.method ?? (typeof message.method === 'string' ? message.method : 'tools/call');
    return { direction, era: 'legacy', kind: frame.kind, method, frame, session, server: route.server ?? 'files', target: route.target, request: route.request };
  };
  const run = (i: PipelineInput): PipelineOutcome => {
    const outcome = pipeline.run(i);
    if (outcome instanceof Promise) throw new Error('the flow stage is synchronous');
    return outcome;
  };
  return {
    stage,
    session,
    /** A message from a server (`route.server`, default files) to the client. */
    toClient: (message: Obj, route: Route = {}) => run(input('server-to-client', message, route)),
    /** A message from the client to a server. */
    toServer: (message: Obj, route: Route = {}) => run(input('client-to-server', message, route)),
    evaluate: (direction: Direction, message: Obj, route: Route = {}): StageResult => stage.evaluate(input(direction, message, route)) as StageResult,
    taint: () => stage.stateOf(session).taint,
  };
}

const text = (t: string) => ({ type: 'text', text: t });
const toolResult = (content: Obj[], extra: Obj = {}, id: string | number = 7) => ({ jsonrpc: '2.0', id, result: { content, ...extra } });
const call = (name: string, args: Obj, id: string | number = 11) => ({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args } });

const resultOf = (outcome: PipelineOutcome) => (outcome.frame.message as unknown as { result: Obj }).result;
const paramsOf = (outcome: PipelineOutcome) => (outcome.frame.message as unknown as { params: Obj }).params;
const contentOf = (outcome: PipelineOutcome) => resultOf(outcome).content as Obj[];
function flowDecision(outcome: PipelineOutcome): Decision {
  const d = outcome.decisions.find((x) => x.stage === 'flow');
  if (!d) throw new Error(`no decision from the flow stage (verdict ${outcome.verdict})`);
  return d;
}

describe('what is scanned', () => {
  const key = fake('aws-access-key-id', 'scanned');

  it('redacts a secret in a tool result; the decision names the detector, classification and transformation, never the value', () => {
    const h = setup();
    const out = h.toClient(toolResult([text(`# deploy\nAWS_ACCESS_KEY_ID=${key}\nREGION=eu-west-1`)]), { target: 'read_file' });
    expect(out.verdict).toBe('transform');
    expect(contentOf(out)).toEqual([text('# deploy\nAWS_ACCESS_KEY_ID=[REDACTED:aws-access-key-id]\nREGION=eu-west-1')]);
    const d = flowDecision(out);
    expect(d).toMatchObject({ effect: 'transform', stage: 'flow', layer: 'information-flow', rule: 'flow.level-default' });
    expect(d.evidence).toMatchObject({ classification: 'RESTRICTED', detectors: { 'aws-access-key-id': 1 }, transformations: ['redact:aws-access-key-id'] });
    expect(d.reason).toContain('RESTRICTED');
    expect(JSON.stringify(out.decisions)).not.toContain(key);
  });

  it('scans structuredContent as well as the text', () => {
    const h = setup();
    const out = h.toClient(toolResult([text(JSON.stringify({ id: key }))], { structuredContent: { credentials: { id: key, region: 'eu-west-1' } } }));
    expect(JSON.stringify(out.frame.message)).not.toContain(key);
    expect(resultOf(out).structuredContent).toEqual({ credentials: { id: '[REDACTED:aws-access-key-id]', region: 'eu-west-1' } });
    expect(flowDecision(out).evidence).toMatchObject({ detectors: { 'aws-access-key-id': 2 } });
  });

  it('scans the text of an embedded resource and leaves its uri and mimeType alone', () => {
    const h = setup();
    const out = h.toClient(toolResult([{ type: 'resource', resource: { uri: 'file:///srv/app/.env', mimeType: 'text/plain', text: `KEY_ID ${key}` } }]));
    expect(contentOf(out)).toEqual([{ type: 'resource', resource: { uri: 'file:///srv/app/.env', mimeType: 'text/plain', text: 'KEY_ID [REDACTED:aws-access-key-id]' } }]);
  });

  it('scans a result with isError and keeps it an error result', () => {
    const h = setup();
    const out = h.toClient(toolResult([text(`403: key ${key} is not authorised`)], { isError: true }));
    expect(resultOf(out)).toEqual({ content: [text('403: key [REDACTED:aws-access-key-id] is not authorised')], isError: true });
  });

  it('scans resources/read contents, text and base64 blobs', () => {
    const h = setup();
    const uri = 'file:///srv/app/.env';
    const blob = b64(`AWS_ACCESS_KEY_ID=${key}\n`);
    const out = h.toClient(
      { jsonrpc: '2.0', id: 3, result: { contents: [{ uri, mimeType: 'text/plain', text: `id=${key}` }, { uri: `${uri}.bak`, mimeType: 'application/octet-stream', blob }] } },
      { method: 'resources/read', target: uri },
    );
    const contents = resultOf(out).contents as { uri: string; text?: string; blob?: string }[];
    expect(contents[0]).toEqual({ uri, mimeType: 'text/plain', text: 'id=[REDACTED:aws-access-key-id]' });
    expect(contents[1]!.uri).toBe(`${uri}.bak`);
    expect(contents[1]!.blob).not.toBe(blob);
    expect(Buffer.from(contents[1]!.blob!, 'base64').toString('latin1')).not.toContain(key);
    expect(flowDecision(out).evidence).toMatchObject({ detectors: { 'aws-access-key-id': 2 } });
  });

  it('scans prompts/get messages', () => {
    const h = setup();
    const out = h.toClient(
      { jsonrpc: '2.0', id: 4, result: { description: 'deploy', messages: [{ role: 'user', content: { type: 'text', text: `Deploy with ${key}` } }] } },
      { method: 'prompts/get', target: 'deploy' },
    );
    expect(resultOf(out).messages).toEqual([{ role: 'user', content: { type: 'text', text: 'Deploy with [REDACTED:aws-access-key-id]' } }]);
    expect(resultOf(out).description).toBe('deploy');
  });

  it('scans the data of a notifications/message log entry, structured or a string', () => {
    const h = setup();
    const structured = h.toClient({ jsonrpc: '2.0', method: 'notifications/message', params: { level: 'error', logger: 'deploy', data: { event: 'auth failed', key } } });
    expect(structured.verdict).toBe('transform');
    expect(paramsOf(structured)).toEqual({ level: 'error', logger: 'deploy', data: { event: 'auth failed', key: '[REDACTED:aws-access-key-id]' } });
    const plain = h.toClient({ jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', data: `using ${key}` } });
    expect(paramsOf(plain).data).toBe('using [REDACTED:aws-access-key-id]');
  });

  it("scans a server's sampling/createMessage request and the client's answer to it", () => {
    const h = setup();
    const ask = h.toClient({
      jsonrpc: '2.0',
      id: 'srv-1',
      method: 'sampling/createMessage',
      params: { messages: [{ role: 'user', content: { type: 'text', text: `Summarise the config: id=${key}` } }], maxTokens: 200 },
    });
    expect(ask.verdict).toBe('transform');
    expect(JSON.stringify(ask.frame.message)).not.toContain(key);
    expect((paramsOf(ask).messages as Obj[])[0]).toEqual({ role: 'user', content: { type: 'text', text: 'Summarise the config: id=[REDACTED:aws-access-key-id]' } });

    const answer = h.toServer({ jsonrpc: '2.0', id: 'srv-1', result: { role: 'assistant', content: { type: 'text', text: `The key is ${key}.` }, model: 'm-1', stopReason: 'endTurn' } }, { method: 'sampling/createMessage' });
    expect(answer.verdict).toBe('transform');
    expect(resultOf(answer)).toEqual({ role: 'assistant', content: { type: 'text', text: 'The key is [REDACTED:aws-access-key-id].' }, model: 'm-1', stopReason: 'endTurn' });
  });

  // content.ts skips the keys `type`, `method`, `cursor`, `mimeType`, … at every depth, so the
  // server's or the client's own data under such a key (a tool argument named `type` or
  // `method`, a structuredContent field) is never scanned.
  it('scans tool arguments and structuredContent whatever their keys are called', () => {
    const h = setup();
    const out = h.toServer(call('http_request', { method: 'POST', url: 'https://api.corp.io/v1', type: key }), { server: 'mail' });
    expect(out.verdict).toBe('transform');
    expect((paramsOf(out).arguments as Obj).type).toBe('[REDACTED:aws-access-key-id]');
    const back = h.toClient(toolResult([text('done')], { structuredContent: { cursor: key, method: key } }));
    expect(JSON.stringify(back.frame.message)).not.toContain(key);
  });

  it('finds a secret split across two consecutive content items and masks both halves', () => {
    const h = setup();
    const out = h.toClient(toolResult([text(`id: ${key.slice(0, 9)}`), text(`${key.slice(9)} (rotated)`)]));
    expect(contentOf(out)).toEqual([text('id: [REDACTED:aws-access-key-id]'), text('[REDACTED:aws-access-key-id] (rotated)')]);
    expect(flowDecision(out).evidence).toMatchObject({ detectors: { 'aws-access-key-id': 1 } });
  });

  it('redacts a split secret even where the rule says tokenize (a pseudonym of half a value means nothing)', () => {
    const h = setup({ rules: [{ id: 'tokenize-keys', detectors: ['aws-access-key-id'], action: 'transform', transformations: ['tokenize'] }] });
    const out = h.toClient(toolResult([text(`id: ${key.slice(0, 12)}`), text(key.slice(12))]));
    expect(contentOf(out)).toEqual([text('id: [REDACTED:aws-access-key-id]'), text('[REDACTED:aws-access-key-id]')]);
    expect(flowDecision(out).evidence).toMatchObject({ transformations: ['redact:aws-access-key-id'] });
  });

  it('replaces a whole base64 block that decodes to a secret', () => {
    const h = setup();
    const block = b64(`AWS_ACCESS_KEY_ID=${key}`);
    const out = h.toClient(toolResult([text(`config: ${block} (base64)`)]));
    expect(contentOf(out)).toEqual([text('config: [REDACTED:aws-access-key-id] (base64)')]);
  });
});

describe('level defaults and profiles', () => {
  const email = fake('email', 'levels');
  const key = fake('aws-access-key-id', 'levels');
  const ip = fake('ipv4', 'levels');

  it('standard: SENSITIVE flows in clear and is recorded; the message is the same frame', () => {
    const h = setup();
    const message = toolResult([text(`owner: ${email}`)]);
    const out = h.toClient(message);
    expect(out.verdict).toBe('allow');
    expect(out.frame.message).toBe(message);
    expect(flowDecision(out)).toMatchObject({ effect: 'allow', rule: 'flow.classified', evidence: { classification: 'SENSITIVE', detectors: { email: 1 } } });
    expect(JSON.stringify(out.decisions)).not.toContain(email);
  });

  it('strict profile: SENSITIVE and RESTRICTED data do not flow, INTERNAL does', () => {
    const h = setup({}, { profile: 'strict' });
    const denied = h.toClient(toolResult([text(`owner: ${email}`)]));
    expect(denied.verdict).toBe('deny');
    const d = flowDecision(denied);
    expect(d).toMatchObject({ effect: 'deny', rule: 'flow.level-default', layer: 'information-flow', evidence: { classification: 'SENSITIVE', detectors: { email: 1 } } });
    expect(d.reason).toContain('SENSITIVE data does not flow by default');
    expect(JSON.stringify(d)).not.toContain(email);
    expect(h.toClient(toolResult([text(`id ${key}`)])).verdict).toBe('deny');
    expect(h.toServer(call('send', { body: `id ${key}` })).verdict).toBe('deny');
    const internal = h.toClient(toolResult([text(`host ${ip}`)]));
    expect(internal.verdict).toBe('allow');
    expect(flowDecision(internal).evidence).toMatchObject({ classification: 'INTERNAL', detectors: { 'ip-address': 1 } });
  });

  it('permissive profile: RESTRICTED data is classified, not changed', () => {
    const h = setup({}, { profile: 'permissive' });
    const message = toolResult([text(`id ${key}`)]);
    const out = h.toClient(message);
    expect(out.verdict).toBe('allow');
    expect(out.frame.message).toBe(message);
    expect(flowDecision(out)).toMatchObject({ effect: 'allow', evidence: { classification: 'RESTRICTED', detectors: { 'aws-access-key-id': 1 } } });
  });

  it('emergency_lockdown denies everything above PUBLIC, before any rule; PUBLIC still flows', () => {
    const h = setup({ emergency_lockdown: true, rules: [{ id: 'allow-all', priority: 1000, action: 'allow' }] });
    const out = h.toClient(toolResult([text(`host ${ip}`)]));
    expect(out.verdict).toBe('deny');
    expect(flowDecision(out)).toMatchObject({ rule: 'flow.emergency-lockdown', evidence: { classification: 'INTERNAL' } });
    expect(flowDecision(out).reason).toContain('emergency lockdown');
    expect(h.toServer(call('send', { to: email })).verdict).toBe('deny');
    expect(h.evaluate('server-to-client', toolResult([text('nothing to see')]))).toBe(PASS);
  });
});

describe('flow rules', () => {
  const key = fake('aws-access-key-id', 'rules');
  const email = fake('email', 'rules');
  const secretResult = () => toolResult([text(`id ${key}`)]);

  it('are tried in priority order: the higher priority decides', () => {
    const allowFirst = setup({
      rules: [
        { id: 'deny-keys', priority: 5, detectors: ['aws-access-key-id'], action: 'deny' },
        { id: 'allow-keys', priority: 10, detectors: ['aws-access-key-id'], action: 'allow' },
      ],
    });
    const out = allowFirst.toClient(secretResult());
    expect(out.verdict).toBe('allow');
    expect(JSON.stringify(out.frame.message)).toContain(key);

    const denyFirst = setup({
      rules: [
        { id: 'deny-keys', priority: 10, detectors: ['aws-access-key-id'], action: 'deny' },
        { id: 'allow-keys', priority: 5, detectors: ['aws-access-key-id'], action: 'allow' },
      ],
    });
    const denied = denyFirst.toClient(secretResult());
    expect(denied.verdict).toBe('deny');
    expect(flowDecision(denied)).toMatchObject({ rule: 'flow.deny-keys' });
    expect(flowDecision(denied).reason).toContain('flow rule "deny-keys"');
  });

  it('first match wins: a rule that does not match is passed over for the next', () => {
    const h = setup({
      rules: [
        { id: 'mail-keys-in-clear', priority: 10, source: { server: 'mail' }, detectors: ['aws-access-key-id'], action: 'allow' },
        { id: 'hash-keys', priority: 5, detectors: ['aws-access-key-id'], action: 'transform', transformations: ['hash'] },
        { id: 'deny-keys', priority: 1, detectors: ['aws-access-key-id'], action: 'deny' },
      ],
    });
    const fromFiles = h.toClient(secretResult(), { server: 'files' });
    expect(contentOf(fromFiles)[0]!.text).toMatch(/^id \[HASH:aws-access-key-id:[0-9a-f]{16}\]$/);
    expect(flowDecision(fromFiles).rule).toBe('flow.hash-keys');
    const fromMail = h.toClient(secretResult(), { server: 'mail' });
    expect(fromMail.verdict).toBe('allow');
    expect(contentOf(fromMail)[0]!.text).toBe(`id ${key}`);
  });

  it('among matching rules of equal priority, the most restrictive wins (deny, then transform, then allow)', () => {
    const all = setup({
      conflict_resolution: 'most_restrictive',
      rules: [
        { id: 'a-allow', priority: 5, detectors: ['aws-access-key-id'], action: 'allow' },
        { id: 'b-deny', priority: 5, detectors: ['aws-access-key-id'], action: 'deny' },
        { id: 'c-hash', priority: 5, detectors: ['aws-access-key-id'], action: 'transform', transformations: ['hash'] },
      ],
    });
    expect(flowDecision(all.toClient(secretResult()))).toMatchObject({ effect: 'deny', rule: 'flow.b-deny' });

    const two = setup({
      rules: [
        { id: 'a-allow', priority: 5, detectors: ['aws-access-key-id'], action: 'allow' },
        { id: 'c-hash', priority: 5, detectors: ['aws-access-key-id'], action: 'transform', transformations: ['hash'] },
      ],
    });
    const out = two.toClient(secretResult());
    expect(flowDecision(out)).toMatchObject({ effect: 'transform', rule: 'flow.c-hash' });
    expect(contentOf(out)[0]!.text).toMatch(/^id \[HASH:aws-access-key-id:[0-9a-f]{16}\]$/);
  });

  it('a rule with no levels or detectors decides for the message itself, even when nothing is found', () => {
    const h = setup({ rules: [{ id: 'no-mail', destination: { server: 'mail' }, action: 'deny' }] });
    const out = h.toServer(call('send', { body: 'see you at noon' }), { server: 'mail' });
    expect(out.verdict).toBe('deny');
    expect(flowDecision(out)).toMatchObject({ rule: 'flow.no-mail', evidence: { classification: 'PUBLIC', detectors: {} } });
    expect(h.toServer(call('write', { body: 'see you at noon' }), { server: 'files' }).verdict).toBe('allow');
  });

  it('applies a detector-specific transformation (`hash:email`) and the general one to the rest', () => {
    const h = setup({ rules: [{ id: 'mask-files', source: { server: 'files' }, action: 'transform', transformations: ['hash:email', 'redact'] }] });
    const out = h.toClient(toolResult([text(`owner ${email} key ${key}`)]));
    expect(contentOf(out)[0]!.text).toMatch(/^owner \[HASH:email:[0-9a-f]{16}\] key \[REDACTED:aws-access-key-id\]$/);
    expect((flowDecision(out).evidence as { transformations: string[] }).transformations.sort()).toEqual(['hash:email', 'redact:aws-access-key-id']);
  });
});

describe('hash', () => {
  const email = fake('email', 'hash');
  const other = fake('email', 'hash-other');
  const rules = [{ id: 'hash-emails', detectors: ['email'], action: 'transform', transformations: ['hash'] }];
  const hashesIn = (outcome: PipelineOutcome) => [...JSON.stringify(outcome.frame.message).matchAll(/\[HASH:email:([0-9a-f]{16})\]/g)].map((m) => m[1]!);

  it('is stable: the same value gives the same hash within one stage, in one message and across messages', () => {
    const h = setup({ hash_key: hashKey(), rules });
    const first = hashesIn(h.toClient(toolResult([text(`${email}, ${other}, ${email}`)])));
    expect(first).toHaveLength(3);
    expect(first[0]).toBe(first[2]);
    expect(first[0]).not.toBe(first[1]);
    expect(hashesIn(h.toClient(toolResult([text(`cc ${email}`)]), { server: 'mail' }))).toEqual([first[0]]);
  });

  it('is keyed: HMAC-SHA-256 under hash_key, so another key gives another hash and the same key the same', () => {
    const key1 = hashKey();
    const key2 = hashKey();
    const message = () => toolResult([text(`owner ${email}`)]);
    const [h1] = hashesIn(setup({ hash_key: key1, rules }).toClient(message()));
    expect(h1).toBe(createHmac('sha256', Buffer.from(key1, 'utf8')).update(email, 'utf8').digest('hex').slice(0, 16));
    expect(hashesIn(setup({ hash_key: key1, rules }).toClient(message()))).toEqual([h1]);
    expect(hashesIn(setup({ hash_key: key2, rules }).toClient(message()))).not.toEqual([h1]);
  });

  it('without hash_key, each stage has a random key of its own', () => {
    const message = () => toolResult([text(`owner ${email}`)]);
    const a = setup({ rules });
    const b = setup({ rules });
    expect(hashesIn(a.toClient(message()))).toEqual(hashesIn(a.toClient(message())));
    expect(hashesIn(a.toClient(message()))).not.toEqual(hashesIn(b.toClient(message())));
  });
});

describe('tokenize', () => {
  const email = fake('email', 'tokenize');
  const other = fake('email', 'tokenize-other');
  const pseudonymise = { rules: [{ id: 'pseudonymise-emails', source: { server: 'files' }, detectors: ['email'], action: 'transform', transformations: ['tokenize'] }] };

  it('gives the same token for the same value and another for another value', () => {
    const h = setup(pseudonymise);
    const out = h.toClient(toolResult([text(`owner: ${email}`)]));
    const first = contentOf(out)[0]!.text as string;
    expect(first).toMatch(/^owner: tok_[a-z2-7]{16}$/);
    expect(flowDecision(out)).toMatchObject({ rule: 'flow.pseudonymise-emails', evidence: { transformations: ['tokenize:email'] } });
    const token = TOKEN.exec(first)![0];
    expect(contentOf(h.toClient(toolResult([text(`again ${email}`)])))[0]!.text).toBe(`again ${token}`);
    const another = TOKEN.exec(contentOf(h.toClient(toolResult([text(other)])))[0]!.text as string)![0];
    expect(another).not.toBe(token);
  });

  it('restores the value only when the client sends the token back to the server it came from', () => {
    const h = setup(pseudonymise);
    const token = TOKEN.exec(contentOf(h.toClient(toolResult([text(`owner: ${email}`)])))[0]!.text as string)![0];

    const back = h.toServer(call('write_file', { path: '/tmp/to.txt', content: `to: ${token}` }), { server: 'files' });
    expect(back.verdict).toBe('transform');
    expect((paramsOf(back).arguments as Obj).content).toBe(`to: ${email}`);
    expect(flowDecision(back)).toMatchObject({ effect: 'transform', evidence: { restored: 1 } });

    const elsewhere = h.toServer(call('send', { body: `to: ${token}` }), { server: 'mail' });
    expect(elsewhere.verdict).toBe('allow');
    expect((paramsOf(elsewhere).arguments as Obj).body).toBe(`to: ${token}`);
    expect(flowDecision(elsewhere)).toMatchObject({ effect: 'allow', evidence: { pseudonymsKept: 1 } });
    expect(JSON.stringify(elsewhere.decisions)).not.toContain(email);
  });

  it('keeps tokens per session: another session cannot have them restored', () => {
    const h = setup(pseudonymise);
    const token = TOKEN.exec(contentOf(h.toClient(toolResult([text(email)])))[0]!.text as string)![0];
    const otherSession = new SecurityContext({ sessionId: 'other', transport: 'stdio' });
    const frame = frameOf(call('write_file', { content: token }) as unknown as JsonRpcMessage);
    const result = h.stage.evaluate({ direction: 'client-to-server', era: 'legacy', kind: 'request', method: 'tools/call', frame, session: otherSession, server: 'files', target: 'write_file', request: undefined });
    expect(result).toBe(PASS);
  });

  // The stage tokenizes the client's value with `server: context.server` as its origin, then
  // restores every token in the same message that belongs to that server: the pseudonym is
  // undone before the message leaves, and the server receives the value.
  it('gives the server a pseudonym, not the value, when a rule tokenizes what the client sends', () => {
    const h = setup({ rules: [{ id: 'pseudonymise-outbound', destination: { server: 'mail' }, detectors: ['email'], action: 'transform', transformations: ['tokenize'] }] });
    const out = h.toServer(call('send', { to: email, body: 'hello' }), { server: 'mail' });
    expect(out.verdict).toBe('transform');
    expect((paramsOf(out).arguments as Obj).to).toMatch(/^tok_[a-z2-7]{16}$/);
    expect(JSON.stringify(out.frame.message)).not.toContain(email);
  });
});

describe('drop', () => {
  it('withholds the whole text that holds the finding, and only that text', () => {
    const key = fake('aws-access-key-id', 'drop');
    const h = setup({ rules: [{ id: 'withhold-keys', detectors: ['aws-access-key-id'], action: 'transform', transformations: ['drop'] }] });
    const out = h.toClient(toolResult([text(`line one\nid ${key}\nline three`), text('a harmless second item')]));
    expect(contentOf(out)).toEqual([text('[WITHHELD:aws-access-key-id]'), text('a harmless second item')]);
    expect(flowDecision(out).evidence).toMatchObject({ transformations: ['drop:aws-access-key-id'] });
  });
});

describe('taint', () => {
  const email = fake('email', 'taint');
  const key = fake('aws-access-key-id', 'taint');
  const ip = fake('ipv4', 'taint');

  it('SENSITIVE data delivered in clear taints the session', () => {
    const h = setup();
    expect(h.taint()).toBeUndefined();
    h.toClient(toolResult([text(`owner ${email}`)]));
    expect(h.taint()).toBe('SENSITIVE');
  });

  it('RESTRICTED data delivered in clear raises the taint to RESTRICTED', () => {
    const h = setup({}, { profile: 'permissive' });
    h.toClient(toolResult([text(`owner ${email}`)]));
    expect(h.taint()).toBe('SENSITIVE');
    h.toClient(toolResult([text(`id ${key}`)]));
    expect(h.taint()).toBe('RESTRICTED');
    h.toClient(toolResult([text(`owner ${email}`)]));
    expect(h.taint()).toBe('RESTRICTED');
  });

  it('redacted, hashed or tokenized data does not taint the session', () => {
    for (const transformation of ['redact', 'hash', 'tokenize']) {
      const h = setup({ rules: [{ id: 'mask-emails', detectors: ['email'], action: 'transform', transformations: [transformation] }] });
      expect(h.toClient(toolResult([text(`owner ${email} id ${key}`)])).verdict).toBe('transform');
      expect(h.taint(), transformation).toBeUndefined();
    }
  });

  it('a listing or the handshake does not taint the session; the same data in a tool result does', () => {
    const h = setup();
    const listing = { jsonrpc: '2.0', id: 3, result: { tools: [{ name: 'contact', description: `Mails ${email}`, inputSchema: { type: 'object' } }] } };
    expect(h.toClient(listing, { method: 'tools/list' }).decisions.length).toBe(1);
    h.toClient({ jsonrpc: '2.0', id: 1, result: { protocolVersion: '2025-11-25', capabilities: {}, serverInfo: { name: 's', version: '1' }, instructions: `Write to ${email}` } }, { method: 'initialize' });
    expect(h.taint()).toBeUndefined();
    h.toClient(toolResult([text(`owner ${email}`)]));
    expect(h.taint()).toBe('SENSITIVE');
  });

  it('data below the taint level does not taint; taint_level lowers the bar', () => {
    const standard = setup();
    standard.toClient(toolResult([text(`host ${ip}`)]));
    expect(standard.taint()).toBeUndefined();
    const internal = setup({ taint_level: 'INTERNAL' });
    internal.toClient(toolResult([text(`host ${ip}`)]));
    expect(internal.taint()).toBe('INTERNAL');
  });

  it("what the client itself sends does not taint its session", () => {
    const h = setup();
    h.toServer(call('send', { to: email }), { server: 'mail' });
    expect(h.taint()).toBeUndefined();
  });
});

describe('egress', () => {
  const iban = fake('iban', 'egress');
  const spaced = iban.replace(/(.{4})/g, '$1 ').trim();
  const otherIban = fake('iban', 'egress-other');
  const config = {
    egress: [{ server: 'mail', tools: ['send_*'] }],
    rules: [{ id: 'no-tainted-egress', priority: 100, conditions: { tainted: 'SENSITIVE', egress: true, carries_tainted: true }, action: 'deny' }],
  };
  const send = (body: string, tool = 'send_message') => call(tool, { body });

  it('refuses to send a value the session received in clear to an egress tool', () => {
    const h = setup(config);
    // Before the session has received it, the same value may go out.
    expect(h.toServer(send(`pay ${iban}`), { server: 'mail', target: 'send_message' }).verdict).toBe('allow');

    const delivered = h.toClient(toolResult([text(`Payout account: ${iban}`)]));
    expect(contentOf(delivered)[0]!.text).toContain(iban);
    expect(h.taint()).toBe('SENSITIVE');

    const out = h.toServer(send(`pay ${iban}`), { server: 'mail', target: 'send_message' });
    expect(out.verdict).toBe('deny');
    const d = flowDecision(out);
    expect(d).toMatchObject({ rule: 'flow.no-tainted-egress', evidence: { egress: true, tainted: 'SENSITIVE', detectors: { iban: 1 } } });
    expect(JSON.stringify(d)).not.toContain(iban);
    // The same value spaced differently is the same value.
    expect(h.toServer(send(`pay ${spaced}`), { server: 'mail', target: 'send_message' }).verdict).toBe('deny');
  });

  it('lets the value go where it is not egress, and lets other data go to the egress tool', () => {
    const h = setup(config);
    h.toClient(toolResult([text(`Payout account: ${iban}`)]));
    // Not an egress server, not an egress tool of the egress server.
    expect(h.toServer(send(`copy ${iban}`, 'write_file'), { server: 'files', target: 'write_file' }).verdict).toBe('allow');
    expect(h.toServer(call('list_folders', { filter: iban }), { server: 'mail', target: 'list_folders' }).verdict).toBe('allow');
    // Egress, but carrying nothing the session received.
    expect(h.toServer(send('meeting moved to Tuesday'), { server: 'mail', target: 'send_message' }).verdict).toBe('allow');
    expect(h.toServer(send(`pay ${otherIban}`), { server: 'mail', target: 'send_message' }).verdict).toBe('allow');
  });

  it('`tainted` with `egress` stops every egress call of a tainted session; an entry without tools covers every tool', () => {
    const h = setup({ egress: [{ server: 'mail' }], rules: [{ id: 'quarantine', conditions: { tainted: 'SENSITIVE', egress: true }, action: 'deny' }] });
    expect(h.toServer(call('archive', { note: 'hello' }), { server: 'mail' }).verdict).toBe('allow');
    h.toClient(toolResult([text(`Payout account: ${iban}`)]));
    const out = h.toServer(call('archive', { note: 'hello' }), { server: 'mail' });
    expect(out.verdict).toBe('deny');
    expect(flowDecision(out)).toMatchObject({ rule: 'flow.quarantine', evidence: { egress: true, tainted: 'SENSITIVE' } });
    expect(flowDecision(out).reason).toContain('the session holds SENSITIVE data');
    expect(h.toServer(call('write', { note: 'hello' }), { server: 'files' }).verdict).toBe('allow');
  });
});

describe('detector settings', () => {
  const email = fake('email', 'settings');
  const key = fake('aws-access-key-id', 'settings');

  it('detectors.disable: a disabled detector finds nothing', () => {
    const h = setup({ detectors: { disable: ['email'] } });
    expect(h.evaluate('server-to-client', toolResult([text(`owner ${email}`)]))).toBe(PASS);
    expect(h.toClient(toolResult([text(`id ${key}`)])).verdict).toBe('transform');
  });

  it('detectors.levels: a detector at another level gets that level\'s action', () => {
    const h = setup({ detectors: { levels: { email: 'RESTRICTED', 'aws-access-key-id': 'INTERNAL' } } });
    const out = h.toClient(toolResult([text(`owner ${email}`)]));
    expect(contentOf(out)).toEqual([text('owner [REDACTED:email]')]);
    expect(flowDecision(out).evidence).toMatchObject({ classification: 'RESTRICTED' });
    const clear = h.toClient(toolResult([text(`id ${key}`)]));
    expect(clear.verdict).toBe('allow');
    expect(flowDecision(clear).evidence).toMatchObject({ classification: 'INTERNAL' });
  });

  it('classification rules find text like a detector, under the rule id', () => {
    const h = setup({ classification_rules: [{ id: 'project-bluebird', patterns: [{ type: 'keyword', value: 'bluebird' }], classification: 'RESTRICTED' }] });
    const out = h.toClient(toolResult([text('Status of Project Bluebird: on track')]));
    expect(contentOf(out)).toEqual([text('Status of Project [REDACTED:project-bluebird]: on track')]);
    expect(flowDecision(out).evidence).toMatchObject({ detectors: { 'project-bluebird': 1 } });
  });

  // The loader accepts a classification rule id in detectors.disable, but the stage only removes
  // built-in detectors from the scan; the classifier runs every rule.
  it('detectors.disable turns off a classification rule named there', () => {
    const h = setup({
      classification_rules: [{ id: 'project-bluebird', patterns: [{ type: 'keyword', value: 'bluebird' }], classification: 'RESTRICTED' }],
      detectors: { disable: ['project-bluebird'] },
    });
    expect(h.evaluate('server-to-client', toolResult([text('Status of Project Bluebird: on track')]))).toBe(PASS);
  });
});

describe('what the stage leaves alone', () => {
  const key = fake('aws-access-key-id', 'alone');

  it('a message in which nothing is found passes with no decision', () => {
    const h = setup();
    const message = toolResult([text('All 3 tests passed in 1.2s.')]);
    expect(h.evaluate('server-to-client', message)).toBe(PASS);
    const out = h.toClient(message);
    expect(out).toMatchObject({ verdict: 'allow', decisions: [] });
    expect(out.frame.message).toBe(message);
    expect(h.evaluate('client-to-server', call('run_tests', { filter: 'unit' }))).toBe(PASS);
  });

  it('_meta is neither scanned nor changed', () => {
    const h = setup();
    const meta = { 'io.example/trace': `k ${key}`, progressToken: key };
    expect(h.evaluate('server-to-client', toolResult([text('fine')], { _meta: meta }))).toBe(PASS);
    expect(h.evaluate('client-to-server', { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'x', arguments: {}, _meta: meta } })).toBe(PASS);
    const out = h.toClient(toolResult([text(`id ${key}`)], { _meta: meta }));
    expect(out.verdict).toBe('transform');
    expect(resultOf(out)._meta).toEqual(meta);
  });

  it('never changes the message id, and never changes the message it was given', () => {
    const h = setup();
    for (const id of [0, 42, 'req-ß-7']) {
      const message = toolResult([text(`id ${key}`)], {}, id);
      const before = JSON.stringify(message);
      const out = h.toClient(message);
      // The pipeline refuses a stage that changes the id, so `transform` also says it did not.
      expect(out.verdict).toBe('transform');
      expect((out.frame.message as { id?: unknown }).id).toBe(id);
      expect(JSON.stringify(message)).toBe(before);
    }
  });
});
