/**
 * Where events go: a JSON-lines file, syslog (RFC 5424, over UDP or TCP with octet counting,
 * RFC 6587), or an HTTP webhook with retries and exponential backoff. Each sink is subscribed
 * to the bus with its own types and minimum severity, formats events as GUARDRAIL's own JSON
 * or as OCSF, and never blocks or fails the gateway: a sink that cannot deliver keeps a bounded
 * backlog, retries, and drops (counted, logged once per burst) what does not fit.
 */
import type * as Dgram from 'node:dgram';
import type { SinkDelivery } from '../config/config.ts';
import { createWriteStream, mkdirSync } from 'node:fs';
import type * as Net from 'node:net';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import { jsonPoster } from '../util/json-poster.ts';
import type { Logger } from '../util/logger.ts';
import type { SecurityEvent } from './bus.ts';
import { toOcsf } from './ocsf.ts';
import type { Severity } from './taxonomy.ts';

export type SinkConfig = SinkDelivery;

export interface Sink {
  send(event: SecurityEvent): void;
  /** Waits (bounded) for what is in flight, then releases sockets and files. */
  close(): Promise<void>;
  readonly dropped: number;
}

const MAX_BACKLOG = 1000;

const formatted = (event: SecurityEvent, format: 'native' | 'ocsf') => JSON.stringify(format === 'ocsf' ? toOcsf(event) : event);

export function createSink(config: SinkConfig, logger: Logger): Sink {
  switch (config.type) {
    case 'file':
      return fileSink(config, logger);
    case 'syslog':
      return syslogSink(config, logger);
    default:
      return webhookSink(config, logger);
  }
}

function fileSink(config: Extract<SinkConfig, { type: 'file' }>, logger: Logger): Sink {
  mkdirSync(dirname(config.path), { recursive: true });
  const stream = createWriteStream(config.path, { flags: 'a', mode: 0o600 });
  let failed = false;
  stream.on('error', (error) => {
    if (!failed) logger.error('events: the event file cannot be written', { path: config.path, error: error.message });
    failed = true;
  });
  return {
    dropped: 0,
    send: (event) => void stream.write(`${formatted(event, config.format)}\n`),
    close: () => new Promise((resolve) => stream.end(() => resolve())),
  };
}

/** RFC 5424 severities: critical → 2 (critical), high → 3 (error), medium → 4 (warning), low → 5 (notice), info → 6. */
const SYSLOG_SEVERITY: Readonly<Record<Severity, number>> = { critical: 2, high: 3, medium: 4, low: 5, info: 6 };

/** One RFC 5424 message: `<PRI>1 TIMESTAMP HOST APP PROCID MSGID - MSG`. */
export function syslogLine(event: SecurityEvent, appName: string, facility: number, format: 'native' | 'ocsf'): string {
  const pri = facility * 8 + SYSLOG_SEVERITY[event.severity];
  // MSGID is at most 32 printable characters: the last part of the type.
  const msgid = event.type.split('.').slice(-2).join('.').slice(0, 32);
  return `<${pri}>1 ${event.time} ${hostname() || '-'} ${appName} ${process.pid} ${msgid} - ${formatted(event, format)}`;
}

function syslogSink(config: Extract<SinkConfig, { type: 'syslog' }>, logger: Logger): Sink {
  const url = new URL(config.url);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const port = Number(url.port || 514);
  let dropped = 0;
  if (url.protocol === 'udp:') {
    const dgram = process.getBuiltinModule('node:dgram') as typeof Dgram;
    const socket = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
    socket.unref();
    socket.on('error', (error) => logger.warn('events: syslog over UDP failed', { error: error.message }));
    return {
      get dropped() {
        return dropped;
      },
      send(event) {
        socket.send(Buffer.from(syslogLine(event, config.appName, config.facility, config.format), 'utf8'), port, host, (error) => {
          if (error) dropped++;
        });
      },
      close: () => new Promise((resolve) => socket.close(() => resolve())),
    };
  }
  // TCP: octet-counting frames ("LEN SP MSG"), one connection, reconnected with backoff.
  const net = process.getBuiltinModule('node:net') as typeof Net;
  let socket: Net.Socket | undefined;
  let connected = false;
  let backoff = 250;
  let closed = false;
  const backlog: Buffer[] = [];
  const connect = () => {
    if (closed) return;
    const s = net.connect({ host, port });
    s.unref();
    socket = s;
    s.on('connect', () => {
      connected = true;
      backoff = 250;
      while (backlog.length > 0) s.write(backlog.shift()!);
    });
    s.on('error', (error) => logger.debug('events: syslog over TCP failed', { error: error.message }));
    s.on('close', () => {
      connected = false;
      if (!closed) setTimeout(connect, (backoff = Math.min(backoff * 2, 30_000))).unref();
    });
  };
  connect();
  return {
    get dropped() {
      return dropped;
    },
    send(event) {
      const line = Buffer.from(syslogLine(event, config.appName, config.facility, config.format), 'utf8');
      const frame = Buffer.concat([Buffer.from(`${line.length} `), line]);
      if (connected && socket) socket.write(frame);
      else if (backlog.length < MAX_BACKLOG) backlog.push(frame);
      else dropped++;
    },
    close: () =>
      new Promise((resolve) => {
        closed = true;
        if (!socket || !connected) {
          socket?.destroy();
          return resolve();
        }
        socket.end(() => resolve());
      }),
  };
}

function webhookSink(config: Extract<SinkConfig, { type: 'webhook' }>, logger: Logger): Sink {
  const poster = jsonPoster(config, logger, 'events: the webhook did not take an event');
  return {
    get dropped() {
      return poster.dropped;
    },
    send: (event) => poster.post(formatted(event, config.format)),
    close: () => poster.close(),
  };
}
