/**
 * The session transport's replay log, on a real HTTP server and real sockets: an answer that
 * reached its client whole is forgotten at once (nothing to replay, nothing to hold in memory),
 * while a stream whose connection broke before the answer stays resumable with Last-Event-ID.
 * Several answers on one keep-alive connection also check that coalesced writes never leave
 * the reused socket corked.
 */
import { createServer, request, Agent, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { frameOf } from '../../src/protocol/frame.ts';
import { HttpSessionTransport } from '../../src/transports/http-streams.ts';

let server: Server;
let port: number;
let transport: HttpSessionTransport;
const agent = new Agent({ keepAlive: true, maxSockets: 1 });
let attached: (() => void) | undefined;

beforeAll(async () => {
  transport = new HttpSessionTransport({ sessionId: 's1' });
  transport.setClientVersion('2025-11-25');
  server = createServer((req, res) => {
    if (req.method === 'POST') {
      transport.attachRequest(res, Number(req.headers['x-id']));
      req.resume();
      attached?.();
      return;
    }
    const result = transport.attachGet(req, res);
    if (!result.ok) {
      res.writeHead(result.status, { 'content-type': 'text/plain' });
      res.end(result.message);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  agent.destroy();
  await transport.close();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

/** POSTs for request `id`, and once the transport holds the response, runs `serve`. */
function post(id: number, serve: () => void, options: { abortAfterFirstByte?: boolean } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    attached = () => {
      attached = undefined;
      serve();
    };
    const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/', agent, headers: { 'x-id': String(id) } }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => {
        body += chunk.toString();
        if (options.abortAfterFirstByte) {
          req.destroy();
          resolve(body);
        }
      });
      res.on('end', () => resolve(body));
      res.on('error', () => resolve(body));
    });
    req.on('error', (error) => (options.abortAfterFirstByte ? undefined : reject(error)));
    req.end('{}');
  });
}

function get(lastEventId: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method: 'GET', path: '/', headers: { 'last-event-id': lastEventId } }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

const progress = (token: number) => frameOf({ jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: token, progress: 1 } });
const answer = (id: number) => frameOf({ jsonrpc: '2.0', id, result: { content: [{ type: 'text', text: `answer ${id}` }] } });

describe('HttpSessionTransport replay log', () => {
  it('streams several answers on one keep-alive connection, each whole', async () => {
    for (const id of [1, 2, 3]) {
      const body = await post(id, () => {
        void transport.send(progress(id), { relatedRequestId: id });
        void transport.send(answer(id), { relatedRequestId: id });
      });
      expect(body).toContain(`id: ${id}:0`);
      expect(body).toContain('notifications/progress');
      expect(body).toContain(`"answer ${id}"`);
    }
  });

  it('forgets a stream whose answer was delivered', async () => {
    const body = await post(10, () => {
      void transport.send(progress(10), { relatedRequestId: 10 });
      void transport.send(answer(10), { relatedRequestId: 10 });
    });
    const streamId = /id: (\d+):0/.exec(body)![1]!;
    await new Promise((r) => setTimeout(r, 50));
    const resumed = await get(`${streamId}:1`);
    expect(resumed.status).toBe(400);
  });

  it('keeps a stream whose connection broke before the answer, and replays it', async () => {
    const body = await post(
      20,
      () => void transport.send(progress(20), { relatedRequestId: 20 }),
      { abortAfterFirstByte: true },
    );
    const streamId = /id: (\d+):0/.exec(body)![1]!;
    await new Promise((r) => setTimeout(r, 50));
    await transport.send(answer(20), { relatedRequestId: 20 });
    const resumed = await get(`${streamId}:0`);
    expect(resumed.status).toBe(200);
    expect(resumed.body).toContain('"answer 20"');
  });
});
