/**
 * Information flow end to end, with two real servers from npm behind the gateway: the reference
 * filesystem server (the source of planted secrets and personal data) and the reference memory
 * server (a knowledge graph written to a file: a shared place, marked as egress). The planted
 * values are generated per run, never committed.
 *
 * - A secret read from a file reaches the client redacted, in the text and in structuredContent,
 *   and the decision record names the detector.
 * - Emails are pseudonymised: the memory server only ever receives the pseudonym; the
 *   filesystem server, where the value came from, gets the value back.
 * - An IBAN the client received in clear taints the session: sending it to the egress tool is
 *   refused and never reaches the memory file, while harmless writes still go through.
 */
import { randomInt } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { ROOT, eventually, FILESYSTEM, NODE, textOf, workspace, type Connected, type Downstream, type Workspace, connectThrough } from '../helpers/gateway.ts';

const MEMORY = join(ROOT, 'node_modules/@modelcontextprotocol/server-memory/dist/index.js');

const pick = (alphabet: string, n: number) => Array.from({ length: n }, () => alphabet[randomInt(alphabet.length)]).join('');
const fakeAwsKey = () => `AKIA${pick('ABCDEFGHIJKLMNOPQRSTUVWXYZ234567', 16)}`;
/** A German IBAN with valid check digits (ISO 13616 mod-97) and a random account. */
function fakeIban(): string {
  const bban = pick('0123456789', 18);
  const digits = `${bban}131400`; // D=13, E=14, check digits 00
  let remainder = 0;
  for (const c of digits) remainder = (remainder * 10 + Number(c)) % 97;
  return `DE${String(98 - remainder).padStart(2, '0')}${bban}`;
}

describe.each<Downstream>(['stdio', 'http'])('information flow over %s', (downstream) => {
  let dir: string;
  let ws: Workspace;
  let conn: Connected;
  const awsKey = fakeAwsKey();
  const email = `${pick('abcdefghijklmnopqrstuvwxyz', 8)}@corp-${pick('abcdefghijklmnopqrstuvwxyz', 5)}.io`;
  const iban = fakeIban();

  beforeAll(async () => {
    dir = realpathSync(mkdtempSync(join(tmpdir(), 'guardrail-flow-')));
    mkdirSync(join(dir, 'data'));
    writeFileSync(join(dir, 'data/.env'), `# deploy settings\nAWS_ACCESS_KEY_ID=${awsKey}\nREGION=eu-west-1\n`);
    writeFileSync(join(dir, 'data/contacts.csv'), `name,email\nPat,${email}\n`);
    writeFileSync(join(dir, 'data/payout.txt'), `Payout account: ${iban}\n`);
    ws = workspace({
      upstreams: {
        files: { command: NODE, args: [FILESYSTEM, join(dir, 'data')] },
        memory: { command: NODE, args: [MEMORY], env: { MEMORY_FILE_PATH: join(dir, 'memory.jsonl') } },
      },
      flow: {
        egress: [{ server: 'memory', tools: ['create_entities', 'add_observations'] }],
        rules: [
          { id: 'no-tainted-egress', priority: 100, conditions: { tainted: 'SENSITIVE', egress: true, carries_tainted: true }, action: 'deny' },
          { id: 'pseudonymise-emails', priority: 50, source: { server: 'files' }, detectors: ['email'], action: 'transform', transformations: ['tokenize'] },
        ],
      },
    });
    conn = await connectThrough(downstream, ws.config);
  });

  afterAll(async () => {
    await conn?.close();
    ws?.remove();
    rmSync(dir, { recursive: true, force: true });
  });

  const read = async (file: string) => conn.client.callTool({ name: 'files__read_text_file', arguments: { path: join(dir, 'data', file) } });
  const remember = (observation: string) =>
    conn.client.callTool({ name: 'memory__create_entities', arguments: { entities: [{ name: `note-${randomInt(1e9)}`, entityType: 'note', observations: [observation] }] } });
  const memoryFile = () => {
    try {
      return readFileSync(join(dir, 'memory.jsonl'), 'utf8');
    } catch {
      return '';
    }
  };

  it('redacts a secret read from a file, in the text and in structuredContent, and records the detector', async () => {
    const result = await read('.env');
    const text = textOf(result);
    expect(text).toContain('REGION=eu-west-1');
    expect(text).toContain('[REDACTED:aws-access-key-id]');
    expect(text).not.toContain(awsKey);
    expect(JSON.stringify(result)).not.toContain(awsKey);
    const record = await eventually(
      () => ws.decisions().find((d) => d.direction === 'server-to-client' && d.target === 'read_text_file' && JSON.stringify(d.decisions).includes('aws-access-key-id')),
      10_000,
      'the decision record of the read',
    );
    expect(record!.verdict).toBe('transform');
    const flow = (record!.decisions as Array<{ stage: string; evidence: { classification: string; detectors: Record<string, number>; transformations: string[] } }>).find((d) => d.stage === 'flow')!;
    expect(flow.evidence.classification).toBe('RESTRICTED');
    // Once in the text, once in structuredContent.
    expect(flow.evidence.detectors['aws-access-key-id']).toBe(2);
    expect(flow.evidence.transformations).toContain('redact:aws-access-key-id');
    // The record never holds the value itself.
    expect(JSON.stringify(record)).not.toContain(awsKey);
  });

  it('pseudonymises emails: the egress server receives only the pseudonym, the source server gets the value back', async () => {
    const text = textOf(await read('contacts.csv'));
    expect(text).not.toContain(email);
    const token = /tok_[a-z2-7]{16}/.exec(text)?.[0];
    expect(token).toBeDefined();
    // Reading again gives the same pseudonym: equal values stay joinable.
    expect(textOf(await read('contacts.csv'))).toContain(token);

    await remember(`contact: ${token}`);
    expect(memoryFile()).toContain(token);
    expect(memoryFile()).not.toContain(email);

    await conn.client.callTool({ name: 'files__write_file', arguments: { path: join(dir, 'data/copy.txt'), content: `to: ${token}` } });
    expect(readFileSync(join(dir, 'data/copy.txt'), 'utf8')).toBe(`to: ${email}`);
  });

  it('refuses to send data the session received in clear to an egress tool, and lets other writes through', async () => {
    const text = textOf(await read('payout.txt'));
    // SENSITIVE data flows in clear under the standard profile, and taints the session.
    expect(text).toContain(iban);
    const error = await remember(`pay to ${iban}`).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(McpError);
    expect((error as McpError).code).toBe(-32010);
    const data = (error as McpError).data as { guardrail: { rule: string; layer: string; evidence: Record<string, unknown> } };
    expect(data.guardrail).toMatchObject({ rule: 'flow.no-tainted-egress', layer: 'information-flow' });
    expect(data.guardrail.evidence).toMatchObject({ egress: true, tainted: 'SENSITIVE' });
    expect(memoryFile()).not.toContain(iban);
    // The same value spelled with spaces is still the tainted value.
    const spaced = iban.replace(/(.{4})/g, '$1 ').trim();
    expect(await remember(`account ${spaced}`).catch((e: unknown) => (e as McpError).code)).toBe(-32010);
    // A write that carries none of it is not egress of tainted data.
    await remember('meeting moved to Tuesday');
    expect(memoryFile()).toContain('meeting moved to Tuesday');
  });
});
