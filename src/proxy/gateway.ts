/**
 * The gateway: listeners for clients, a pipeline, and for every client session its links to
 * the upstream servers. `start` brings it up, `stop` ends every session and reaps every child.
 */
import { randomUUID } from 'node:crypto';
import type { Readable, Writable } from 'node:stream';
import { createDecisionLog, type DecisionRecorder } from '../audit/decision-log.ts';
import { argumentSchema } from '../access/argument-schema.ts';
import { actionLimiter } from '../limits/action-limiter.ts';
import { requestFilter } from '../access/request-filter.ts';
import { argumentGuards, type ArgumentGuards } from '../guards/argument-guards.ts';
import { flowStage } from '../flow/flow-stage.ts';
import { toolWatch } from '../audit/tool-watch.ts';
import { createAnnotator, type FrameAnnotator } from '../flow/annotate.ts';
import { EventBus } from '../events/bus.ts';
import { correlate, DEFAULT_CORRELATION } from '../events/correlate.ts';
import { eventsOf } from '../events/from-decisions.ts';
import type { Sink } from '../events/sinks.ts';
import { NO_METRICS, type AdminServer, type GatewayMetrics } from '../metrics/metrics.ts';
import { NO_TRACING, type Telemetry, type Tracing } from '../metrics/telemetry.ts';
import type { AuditRecorder } from '../audit/audit-recorder.ts';
import type { GatewayConfig, HttpListenerConfig, ServerPolicy, UpstreamConfig } from '../config/config.ts';
import { Pipeline } from '../pipeline/pipeline.ts';
import { SecurityContext } from '../pipeline/security-context.ts';
import type { Stage } from '../pipeline/stage.ts';
import { StdioServerTransport } from '../transports/stdio-server.ts';
import type { FrameTransport } from '../transports/transport.ts';
import { createLogger, type Logger } from '../util/logger.ts';
import type { HttpListener } from './http-listener.ts';
import { LinkSet } from './link-set.ts';
import { createNamespace, type Namespace } from './namespace.ts';
import { Session } from './session.ts';
import { upstreamTransportFactory, type UpstreamTransportFactory } from './upstream-transport.ts';

export interface GatewayOptions {
  readonly config: GatewayConfig;
  readonly logger?: Logger;
  /** Streams for the stdio listener (default: this process's stdin/stdout). */
  readonly stdio?: { readonly input: Readable; readonly output: Writable };
  /** Stages run after the built-in ones (the embedding API's extension point). */
  readonly stages?: readonly Stage[];
  /** Where decision records go when the config says stderr (tests capture them). */
  readonly decisionStream?: NodeJS.WritableStream;
  /** Overrides how upstream transports are made (tests use in-memory pairs). */
  readonly createTransport?: (upstream: UpstreamConfig) => FrameTransport;
}

/** Something that accepts clients: the stdio listener or an HTTP endpoint. */
export interface Listener {
  readonly kind: 'stdio' | 'http';
  close(): Promise<void>;
}

export class Gateway {
  readonly config: GatewayConfig;
  readonly pipeline: Pipeline;
  readonly namespace: Namespace;
  readonly logger: Logger;
  /** Every stage's decisions as security events (seed 000 §10.8); subscribe to watch them. */
  readonly events = new EventBus();
  #sinks: Sink[] = [];
  #metrics: GatewayMetrics = NO_METRICS;
  #admin: AdminServer | undefined;
  #audit: AuditRecorder | undefined;
  #telemetry: Telemetry | undefined;
  #tracing: Tracing = NO_TRACING;
  readonly #options: GatewayOptions;
  readonly #guards: ArgumentGuards;
  readonly #annotator: FrameAnnotator | undefined;
  readonly #sessions = new Set<Session>();
  readonly #listeners: Listener[] = [];
  #recorder: DecisionRecorder | undefined;
  #createTransport: UpstreamTransportFactory | undefined;
  #stopping: Promise<void> | undefined;
  /** Called when the stdio client goes away (the CLI exits then, unless HTTP listeners remain). */
  onStdioClosed: (() => void) | undefined;

  constructor(options: GatewayOptions) {
    this.#options = options;
    this.config = options.config;
    this.logger = options.logger ?? createLogger(options.config.log);
    const policies = new Map<string, ServerPolicy>(options.config.upstreams.map((u) => [u.name, u.policy]));
    this.#guards = argumentGuards(policies);
    this.#annotator = options.config.flow.enabled ? createAnnotator(options.config.flow.annotations) : undefined;
    correlate(this.events, options.config.events.correlation ?? DEFAULT_CORRELATION);
    const validated = new Set(options.config.upstreams.filter((u) => u.policy.validateArguments).map((u) => u.name));
    this.pipeline = new Pipeline([
      // First, so it sees tool definitions as the server wrote them.
      toolWatch(),
      requestFilter({ maxDepth: options.config.limits.maxDepth, policies }),
      // Information flow before the argument checks: they judge the values the server will
      // receive, pseudonyms restored.
      ...(options.config.flow.enabled ? [flowStage({ config: options.config.flow })] : []),
      argumentSchema({ servers: validated }),
      this.#guards.stage,
      // Last of the built-in stages: a call that any check refuses spends no budget.
      actionLimiter({ rules: new Map(options.config.upstreams.map((u) => [u.name, u.policy.limits])) }),
      ...(options.stages ?? []),
    ]);
    this.namespace = createNamespace({
      enabled: options.config.aggregation.namespaced,
      separator: options.config.aggregation.separator,
      servers: options.config.upstreams.map((u) => u.name),
    });
  }

  get sessions(): ReadonlySet<Session> {
    return this.#sessions;
  }

  /** The admin listener's URL (GET /metrics), when one is configured and started. */
  get adminUrl(): URL | undefined {
    return this.#admin?.url;
  }

  get recorder(): DecisionRecorder {
    if (!this.#recorder) throw new Error('the gateway is not started');
    return this.#recorder;
  }

  async start(): Promise<void> {
    await this.#guards.prepare();
    if (this.config.admin) {
      const { startAdmin } = await import('../metrics/metrics.ts');
      this.#admin = await startAdmin(
        this.config.admin,
        {
          sessions: () => this.#sessions.size,
          auditQueue: () => this.#audit?.pending ?? 0,
          auditLagSeconds: () => (this.#audit?.lagMs ?? 0) / 1000,
          auditDropped: () => this.#audit?.dropped ?? 0,
        },
        this.logger,
      );
      const metrics = (this.#metrics = this.#admin.metrics);
      this.events.subscribe({}, (e) => metrics.event(e.type, e.severity));
    }
    if (this.config.telemetry) {
      const { startTelemetry } = await import('../metrics/telemetry.ts');
      this.#telemetry = await startTelemetry(this.config.telemetry, this.events);
      this.#tracing = this.#telemetry.tracing;
    }
    const external = this.config.events.sinks.filter((s): s is Exclude<typeof s, { type: 'audit' }> => s.type !== 'audit');
    if (external.length > 0) {
      const { createSink } = await import('../events/sinks.ts');
      for (const config of external) {
        const sink = createSink(config, this.logger);
        this.events.subscribe({ ...(config.types ? { types: config.types } : {}), minSeverity: config.minSeverity }, (e) => sink.send(e));
        this.#sinks.push(sink);
      }
    }
    const decisionLog = createDecisionLog(this.config.decisionLog, this.logger, this.#options.decisionStream);
    let recorder: DecisionRecorder = decisionLog;
    if (this.config.audit) {
      // Loaded only when on: node:sqlite and the chain stay out of a gateway with `audit: false`.
      const { createAuditRecorder, bothRecorders } = await import('../audit/audit-recorder.ts');
      let audit: AuditRecorder;
      try {
        audit = this.#audit = await createAuditRecorder(this.config.audit, this.logger, { includeContent: new Set(this.config.flow.rules.filter((r) => r.includeContent).map((r) => `flow.${r.id}`)) });
      } catch (error) {
        // Fail closed: a gateway that cannot record does not start.
        throw new Error(`cannot open the audit store in ${this.config.audit.dir}: ${(error as Error).message}. Set audit.dir to a writable directory (or GUARDRAIL_DATA_DIR for the default one), or turn the store off with audit: false`, { cause: error });
      }
      // An alert about a session preserves its records in a signed snapshot (they outlive retention).
      if (this.config.audit.snapshotOn.length > 0) {
        this.events.subscribe({ types: this.config.audit.snapshotOn, minSeverity: 'high' }, (e) => {
          if (e.session) audit.snapshot(e.session, `${e.type}${e.rule ? ` (${e.rule})` : ''}: ${e.message}`);
        });
      }
      for (const sink of this.config.events.sinks) {
        if (sink.type === 'audit') this.events.subscribe({ ...(sink.types ? { types: sink.types } : {}), minSeverity: sink.minSeverity }, (e) => audit.recordEvent(e));
      }
      recorder = bothRecorders(decisionLog, this.#audit);
    }
    // Every recorded decision is also the events it stands for, and counts in the metrics.
    const events = this.events;
    const metrics = this.#metrics;
    const inner = recorder;
    this.#recorder = {
      ...(inner.recordsEverything ? { recordsEverything: true } : {}),
      record(entry, content) {
        // Recorded first: what an event triggers (a forensic snapshot) finds the record queued.
        const recorded = inner.record(entry, content);
        for (const event of eventsOf(entry)) events.emit(event);
        if (entry.kind === 'request' && entry.direction === 'client-to-server') metrics.call(entry.server, entry.method, entry.verdict);
        for (const d of entry.decisions) metrics.decision(d.layer, d.effect);
        return recorded;
      },
      close: () => inner.close(),
    };
    this.#createTransport = this.#options.createTransport ?? (await upstreamTransportFactory(this.config.upstreams, this.config.limits, this.logger));
    for (const listener of this.config.listeners) {
      if (listener.kind === 'stdio') this.#listeners.push(await this.#startStdio());
      else this.#listeners.push(await this.startHttp(listener));
    }
  }

  /** Ends every session (children reaped) and closes the listeners and the decision log. */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      await Promise.all(this.#listeners.map((l) => l.close().catch(() => undefined)));
      await Promise.all([...this.#sessions].map((s) => s.close()));
      await this.#recorder?.close();
      await Promise.all(this.#sinks.map((sink) => sink.close()));
      await this.#admin?.close();
      await this.#telemetry?.shutdown();
    })();
    return this.#stopping;
  }

  /** A link set for one scope, with this gateway's transports and limits. */
  createLinks(): LinkSet {
    const createTransport = this.#createTransport;
    if (!createTransport) throw new Error('the gateway is not started');
    return new LinkSet({
      upstreams: this.config.upstreams,
      createTransport,
      logger: this.logger,
      maxRequestTimeMs: this.config.limits.maxRequestTimeMs,
      ...(this.#annotator ? { annotator: this.#annotator } : {}),
      onRestart: (name, restart) => {
        this.#metrics.restart(name);
        this.events.emit({
          type: 'event.security.upstream.restarted',
          server: name,
          message: `${name} is being restarted (attempt ${restart.attempt}, in ${restart.delayMs} ms)${restart.error ? `: ${restart.error}` : ''}`,
          detail: { attempt: restart.attempt, delay_ms: restart.delayMs, ...(restart.error ? { error: restart.error } : {}) },
        });
      },
    });
  }

  /** A new session on a downstream transport. */
  createSession(transport: FrameTransport, kind: 'stdio' | 'http', links: LinkSet = this.createLinks(), ownsLinks = true): Session {
    const id = randomUUID();
    const session = new Session({
      id,
      transport,
      links,
      ownsLinks,
      pipeline: this.pipeline,
      recorder: this.recorder,
      namespace: this.namespace,
      limits: this.config.limits,
      logger: this.logger,
      context: new SecurityContext({ sessionId: id, transport: kind }),
      ...(this.#annotator ? { annotator: this.#annotator } : {}),
      events: this.events,
      metrics: this.#metrics,
      tracing: this.#tracing,
      onClose: (s) => this.#sessions.delete(s),
    });
    this.#sessions.add(session);
    return session;
  }

  async #startStdio(): Promise<Listener> {
    const transport = new StdioServerTransport({
      input: this.#options.stdio?.input,
      output: this.#options.stdio?.output,
      maxMessageBytes: this.config.limits.maxMessageBytes,
    });
    const links = this.createLinks();
    const session = this.createSession(transport, 'stdio', links);
    // Boot the servers while the client is still starting up.
    links.prewarm();
    await session.start();
    const closed = new Promise<void>((resolve) => {
      const previous = transport.onclose;
      transport.onclose = (info) => {
        previous?.(info);
        resolve();
      };
    });
    void closed.then(() => this.onStdioClosed?.());
    this.logger.info('listening on stdio', { upstreams: this.config.upstreams.map((u) => u.name).join(',') });
    return { kind: 'stdio', close: () => session.close() };
  }

  /** The URLs of the HTTP listeners (port 0 in the config becomes the port actually bound). */
  get httpUrls(): URL[] {
    return this.#listeners.filter((l): l is HttpListener => l.kind === 'http').map((l) => l.url);
  }

  /** True when every HTTP listener reports every required upstream ready (always, on stdio only). */
  get ready(): boolean {
    return this.#listeners.every((l) => l.kind !== 'http' || (l as HttpListener).ready);
  }

  protected async startHttp(listener: HttpListenerConfig): Promise<Listener> {
    // Loaded on demand, like the HTTP upstreams: a stdio-only gateway never loads node:http.
    const { startHttpListener } = await import('./http-listener.ts');
    return startHttpListener(this, listener);
  }
}
