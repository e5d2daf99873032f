/**
 * OpenTelemetry, when enabled (`telemetry:`): a trace of each client call through the gateway
 * (one span per call, the stages' decisions as span events, a child span for the upstream's
 * round trip) and security events as OpenTelemetry log records, both exported over OTLP/HTTP
 * with the official SDK and exporters. Loaded only when configured; without it the session
 * talks to `NO_TRACING`, which does nothing.
 */
import type { TelemetryConfig } from '../config/config.ts';
import type { Decision } from '../pipeline/decision.ts';
import { VERSION } from '../version.ts';
import type { EventBus } from '../events/bus.ts';

/** One client call being traced. */
export interface CallTrace {
  decisions(direction: string, decisions: readonly Decision[]): void;
  /**
   * Starts the upstream round trip: `end` ends it, `meta` is its W3C trace context for the
   * request's `_meta` (SEP-414: `traceparent`, `tracestate`), so the server's spans join the trace.
   */
  upstream(server: string): { end(): void; meta: Readonly<Record<string, string>> };
  end(verdict: string | undefined, error?: string): void;
}

export interface Tracing {
  /** `meta` is the request's `_meta`: a client's `traceparent` there makes the call its child. */
  call(method: string, attributes: Readonly<Record<string, string>>, meta?: unknown): CallTrace | undefined;
}

export const NO_TRACING: Tracing = { call: () => undefined };

export interface Telemetry {
  readonly tracing: Tracing;
  shutdown(): Promise<void>;
}

const SEVERITY = { info: 9, low: 10, medium: 13, high: 17, critical: 21 } as const; // INFO, INFO2, WARN, ERROR, FATAL

export async function startTelemetry(config: TelemetryConfig, events: EventBus): Promise<Telemetry> {
  const [api, { TracerProvider, BatchSpanProcessor }, { OTLPTraceExporter }, { resourceFromAttributes }, { W3CTraceContextPropagator }] = await Promise.all([
    import('@opentelemetry/api'),
    import('@opentelemetry/sdk-trace'),
    import('@opentelemetry/exporter-trace-otlp-http'),
    import('@opentelemetry/resources'),
    import('@opentelemetry/core'),
  ]);
  const propagator = new W3CTraceContextPropagator();
  const resource = resourceFromAttributes({ 'service.name': config.serviceName, 'service.version': VERSION });
  const shutdowns: (() => Promise<void>)[] = [];
  let tracing: Tracing = NO_TRACING;

  if (config.traces) {
    const provider = new TracerProvider({
      resource,
      spanProcessors: [new BatchSpanProcessor({ exporter: new OTLPTraceExporter({ url: `${config.endpoint}/v1/traces`, headers: { ...config.headers } }), scheduledDelayMillis: config.exportIntervalMs })],
    });
    shutdowns.push(() => provider.shutdown());
    const tracer = provider.getTracer('guardrail', VERSION);
    tracing = {
      call(method, attributes, meta) {
        // A client already inside a trace sent its context in _meta: this call joins it.
        const carrier = meta !== null && typeof meta === 'object' ? (meta as Record<string, unknown>) : {};
        const remote = typeof carrier.traceparent === 'string' ? propagator.extract(api.ROOT_CONTEXT, carrier, api.defaultTextMapGetter) : api.ROOT_CONTEXT;
        const span = tracer.startSpan(`mcp ${method}`, { kind: api.SpanKind.SERVER, attributes: { 'mcp.method': method, ...attributes } }, remote);
        const parent = api.trace.setSpan(remote, span);
        return {
          decisions(direction, decisions) {
            for (const d of decisions) {
              span.addEvent(`${d.stage}: ${d.effect}`, { 'guardrail.direction': direction, 'guardrail.layer': d.layer, 'guardrail.rule': d.rule, 'guardrail.effect': d.effect });
            }
          },
          upstream(server) {
            const child = tracer.startSpan(`upstream ${server}`, { kind: api.SpanKind.CLIENT, attributes: { 'mcp.server': server, 'mcp.method': method } }, parent);
            const out: Record<string, string> = {};
            propagator.inject(api.trace.setSpan(parent, child), out, api.defaultTextMapSetter);
            return { end: () => child.end(), meta: out };
          },
          end(verdict, error) {
            if (verdict) span.setAttribute('guardrail.verdict', verdict);
            if (error !== undefined) span.setStatus({ code: api.SpanStatusCode.ERROR, message: error });
            span.end();
          },
        };
      },
    };
  }

  if (config.logs) {
    const [{ LoggerProvider, BatchLogRecordProcessor }, { OTLPLogExporter }] = await Promise.all([import('@opentelemetry/sdk-logs'), import('@opentelemetry/exporter-logs-otlp-http')]);
    const provider = new LoggerProvider({
      resource,
      processors: [new BatchLogRecordProcessor({ exporter: new OTLPLogExporter({ url: `${config.endpoint}/v1/logs`, headers: { ...config.headers } }), scheduledDelayMillis: config.exportIntervalMs })],
    });
    shutdowns.push(() => provider.shutdown());
    const logger = provider.getLogger('guardrail.events', VERSION);
    events.subscribe({}, (e) =>
      logger.emit({
        severityNumber: SEVERITY[e.severity],
        severityText: e.severity.toUpperCase(),
        body: e.message,
        attributes: {
          'event.name': e.type,
          'guardrail.event.id': e.id,
          ...(e.session ? { 'session.id': e.session } : {}),
          ...(e.server ? { 'mcp.server': e.server } : {}),
          ...(e.tool ? { 'mcp.tool': e.tool } : {}),
          ...(e.rule ? { 'guardrail.rule': e.rule } : {}),
        },
      }),
    );
  }

  return {
    tracing,
    shutdown: async () => {
      await Promise.all(shutdowns.map((s) => s().catch(() => undefined)));
    },
  };
}
