/**
 * Security annotations between two GUARDRAIL gateways, end to end: an SDK client talks to
 * gateway A (stdio), whose upstream is gateway B (Streamable HTTP) in front of the reference
 * filesystem server. Both sign what they send and require a valid annotation on what they
 * receive, with one shared key. B redacts a planted secret; A verifies B's annotation and
 * carries its classification and transformations into its own. A raw client driving B on stdio
 * shows the refusals: no annotation, a changed message, a replayed one.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ANNOTATION_KEY, AnnotationSigner } from '../../src/flow/annotation.ts';
import { connectV1, FILESYSTEM, NODE, type RunningGateway, startHttpGateway, textOf, workspace, type Connected, type Workspace } from '../helpers/gateway.ts';
import { RawStdio } from '../helpers/raw.ts';

const KEY = randomBytes(32).toString('hex');
const fakeAwsKey = () => `AKIA${Array.from({ length: 16 }, () => 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'[randomInt(32)]).join('')}`;

describe('two gateways that sign and verify', () => {
  let dir: string;
  let wsB: Workspace;
  let wsA: Workspace;
  let b: RunningGateway;
  let conn: Connected;
  const awsKey = fakeAwsKey();

  beforeAll(async () => {
    dir = realpathSync(mkdtempSync(join(tmpdir(), 'guardrail-annotations-')));
    mkdirSync(join(dir, 'data'));
    writeFileSync(join(dir, 'data/.env'), `AWS_ACCESS_KEY_ID=${awsKey}\n`);
    // B requires annotations from its client (gateway A); its own server is a plain one.
    const annotations = { sign: true, verify: { clients: 'required', servers: 'if-present' }, key: KEY };
    wsB = workspace({ upstreams: { files: { command: NODE, args: [FILESYSTEM, join(dir, 'data')] } }, flow: { annotations: { ...annotations, source: 'gateway-b' } } });
    b = await startHttpGateway(['--config', wsB.config]);
    // A's own client is an ordinary SDK client; A requires annotations from B.
    wsA = workspace({ upstreams: { b: { url: b.url.href } }, flow: { annotations: { ...annotations, verify: { clients: 'if-present', servers: 'required' }, source: 'gateway-a' } } });
    conn = await connectV1('stdio', { config: wsA.config });
  });

  afterAll(async () => {
    await conn?.close();
    await b?.stop();
    wsA?.remove();
    wsB?.remove();
    rmSync(dir, { recursive: true, force: true });
  });

  it('carries the redaction done by the far gateway to the client, signed by the near one', async () => {
    const result = await conn.client.callTool({ name: 'read_text_file', arguments: { path: join(dir, 'data/.env') } });
    expect(textOf(result)).toBe('AWS_ACCESS_KEY_ID=[REDACTED:aws-access-key-id]\n');
    const annotation = (result._meta as Record<string, { classification: string; source: string; transformations: string[]; sequence: number }>)[ANNOTATION_KEY]!;
    expect(annotation.source).toMatch(/^gateway-a-/);
    // A found nothing itself (the value arrived redacted): the level is B's, verified.
    expect(annotation.classification).toBe('RESTRICTED');
    expect(annotation.transformations).toContain('redact:aws-access-key-id');
    expect(annotation.sequence).toBeGreaterThan(1);
    // B's records show it judged requests that A signed.
    const refused = wsB.decisions().filter((d) => String(JSON.stringify(d.decisions)).includes('annotation'));
    expect(refused).toEqual([]);
  });
});

describe('a gateway that requires annotations, driven byte by byte', () => {
  let dir: string;
  let ws: Workspace;
  let raw: RawStdio;
  const signer = new AnnotationSigner({ key: Buffer.from(KEY, 'utf8'), source: 'test-peer' });
  const signed = (message: Record<string, unknown>) => JSON.stringify(signer.sign(message as never, { classification: 'PUBLIC', transformations: [] }));

  beforeAll(async () => {
    dir = realpathSync(mkdtempSync(join(tmpdir(), 'guardrail-annotations-raw-')));
    ws = workspace({ upstreams: { files: { command: NODE, args: [FILESYSTEM, dir] } }, flow: { annotations: { sign: true, verify: { clients: 'required' }, key: KEY } } });
    raw = new RawStdio(['--config', ws.config]);
    raw.write(
      `${signed({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } })}\n`,
    );
    await raw.response(1);
    raw.write(`${signed({ jsonrpc: '2.0', method: 'notifications/initialized' })}\n`);
  });

  afterAll(async () => {
    await raw?.end();
    ws?.remove();
    rmSync(dir, { recursive: true, force: true });
  });

  const answer = async (id: number) => (await raw.response(id)) as { result?: Record<string, unknown>; error?: { code: number; data: { guardrail: { rule: string } } } };

  it('answers a signed request, with its own annotation', async () => {
    raw.write(`${signed({ jsonrpc: '2.0', id: 2, method: 'tools/list' })}\n`);
    const reply = await answer(2);
    expect(reply.error, JSON.stringify(reply.error)).toBeUndefined();
    expect(((reply.result!._meta as Record<string, unknown>)[ANNOTATION_KEY] as { source: string }).source).toMatch(/^guardrail-/);
  });

  it('refuses a request without an annotation', async () => {
    raw.write(`${JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'tools/list' })}\n`);
    const reply = await answer(3);
    expect(reply.error?.code).toBe(-32010);
    expect(reply.error?.data.guardrail.rule).toBe('flow.annotation-missing');
  });

  it('refuses a signed request changed on the way', async () => {
    const tampered = JSON.parse(signed({ jsonrpc: '2.0', id: 4, method: 'tools/call', params: { name: 'list_directory', arguments: { path: dir } } })) as {
      params: { arguments: { path: string } };
    };
    tampered.params.arguments.path = '/etc';
    raw.write(`${JSON.stringify(tampered)}\n`);
    const reply = await answer(4);
    expect(reply.error?.code).toBe(-32010);
    expect(reply.error?.data.guardrail.rule).toBe('flow.annotation-bad-integrity');
  });

  it('refuses a replayed request', async () => {
    const once = signed({ jsonrpc: '2.0', id: 5, method: 'tools/list' });
    raw.write(`${once}\n`);
    expect((await answer(5)).error).toBeUndefined();
    raw.write(`${once}\n`);
    const reply = await answer(5);
    expect(reply.error?.code).toBe(-32010);
    expect(reply.error?.data.guardrail.rule).toBe('flow.annotation-replayed');
  });
});
