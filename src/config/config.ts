/** The normalised configuration the gateway runs on (after `load.ts` has checked it). */
import type { JsonPosterOptions } from '../util/json-poster.ts';

/** Allow and deny globs for tools (by name), prompts (by name) or resources (by URI). */
export interface ToolPolicy {
  /** Globs; `undefined` allows every one that is not denied (unless the policy is strict). */
  readonly allow: readonly string[] | undefined;
  readonly deny: readonly string[];
}

/** One argument guard, normalised (presets expanded, paths absolute, options camelCased). */
export interface GuardEntry {
  readonly guard: 'path' | 'url' | 'command' | 'sql';
  readonly on: 'tools/call' | 'resources/read';
  /** Tool globs; undefined = every tool. */
  readonly tools: readonly string[] | undefined;
  readonly arguments: readonly string[];
  /** The arguments are found in each tool's input schema (see guards/detect.ts). */
  readonly detect: boolean;
  /** The guard factory's options (see src/guards/). */
  readonly options: Readonly<Record<string, unknown>>;
  /** Where it came from in the file, for messages: `upstreams.files.policy.guards.0`. */
  readonly source: string;
}

/** One action limit (seed 001 §5.3), normalised. */
export interface LimitRule {
  readonly scope: 'global' | 'session' | 'client' | 'server' | 'tool';
  /** Tool globs; undefined = every tool call. */
  readonly tools: readonly string[] | undefined;
  readonly rate?: { readonly perMs: number; readonly burst: number; readonly text: string };
  readonly quota?: { readonly limit: number; readonly periodMs: number; readonly text: string };
  readonly concurrency?: number;
  readonly mode: 'strict' | 'soft';
  readonly maxDelayMs: number;
  /** Where it is in the file; also the counter's name, so a global rule is shared by every server. */
  readonly source: string;
}

export interface ServerPolicy {
  readonly tools: ToolPolicy;
  readonly prompts: ToolPolicy;
  readonly resources: ToolPolicy;
  /** Anything not allowed explicitly is denied (an absent allow list allows nothing). */
  readonly strictMode: boolean;
  /** Tool arguments are checked against the tool's inputSchema. */
  readonly validateArguments: boolean;
  readonly guards: readonly GuardEntry[];
  readonly limits: readonly LimitRule[];
}

export interface RestartPolicy {
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
  /** 0 = keep trying forever. */
  readonly maxAttempts: number;
}

export type UpstreamTransportConfig =
  | {
      readonly kind: 'stdio';
      readonly command: string;
      readonly args: readonly string[];
      /** The complete environment of the child: inherited names plus `env`. */
      readonly env: Readonly<Record<string, string>>;
      readonly cwd: string;
      readonly stderr: 'log' | 'inherit' | 'ignore';
    }
  | {
      readonly kind: 'streamable-http' | 'sse';
      /** The endpoint, normalised (`URL.href`); a string so the config can cross a worker boundary. */
      readonly url: string;
      readonly headers: Readonly<Record<string, string>>;
      readonly connectTimeoutMs: number;
    };

export interface UpstreamConfig {
  readonly name: string;
  readonly transport: UpstreamTransportConfig;
  readonly required: boolean;
  readonly requestTimeoutMs: number;
  readonly restart: RestartPolicy;
  readonly policy: ServerPolicy;
}

export interface HttpListenerConfig {
  readonly kind: 'http';
  readonly host: string;
  readonly port: number;
  readonly path: string;
  readonly allowedHosts: readonly string[];
  readonly allowedOrigins: readonly string[];
  readonly sessionIdleTimeoutMs: number;
  readonly maxSessions: number;
}

export type ListenerConfig = { readonly kind: 'stdio' } | HttpListenerConfig;

export interface Limits {
  readonly maxMessageBytes: number;
  readonly maxDepth: number;
  readonly requestTimeoutMs: number;
  readonly maxRequestTimeMs: number;
}

export interface DecisionLogConfig {
  readonly sink: 'stderr' | 'file' | 'off';
  readonly path: string | undefined;
  readonly include: 'all' | 'denials';
}

export interface LogConfig {
  readonly level: 'debug' | 'info' | 'warn' | 'error' | 'silent';
  readonly format: 'text' | 'json';
}

export interface GatewayConfig {
  /** The file it was loaded from, if any. */
  readonly source: string | undefined;
  readonly profile: string;
  readonly listeners: readonly ListenerConfig[];
  readonly upstreams: readonly UpstreamConfig[];
  readonly aggregation: { readonly separator: string; readonly namespaced: boolean };
  readonly limits: Limits;
  readonly decisionLog: DecisionLogConfig;
  readonly flow: FlowConfig;
  /** The tamper-evident audit store, when configured. */
  readonly audit: AuditConfig | undefined;
  readonly events: EventsConfig;
  /** The admin listener (Prometheus metrics), when configured. */
  readonly admin: AdminListenerConfig | undefined;
  /** OpenTelemetry export, when configured. */
  readonly telemetry: TelemetryConfig | undefined;
  readonly log: LogConfig;
}

export interface TelemetryConfig {
  /** The OTLP/HTTP base URL; /v1/traces and /v1/logs are appended. */
  readonly endpoint: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly serviceName: string;
  readonly traces: boolean;
  readonly logs: boolean;
  readonly exportIntervalMs: number;
}

export interface AdminListenerConfig {
  readonly host: string;
  readonly port: number;
}

export type EventSeverity = 'info' | 'low' | 'medium' | 'high' | 'critical';

/** Where an event sink delivers (the audit store's sink aside, which the gateway serves itself). */
export type SinkDelivery =
  | { readonly type: 'file'; readonly path: string; readonly format: 'native' | 'ocsf' }
  | { readonly type: 'syslog'; readonly url: string; readonly format: 'native' | 'ocsf'; readonly appName: string; readonly facility: number }
  | ({ readonly type: 'webhook'; readonly format: 'native' | 'ocsf' } & JsonPosterOptions);

export type EventSinkConfig = ({ readonly type: 'audit' } | SinkDelivery) & { readonly types: readonly string[] | undefined; readonly minSeverity: EventSeverity };

export type CorrelationRuleConfig =
  | { readonly id: string; readonly types: readonly string[]; readonly count: number; readonly withinMs: number; readonly same: 'session' | 'server' | 'global'; readonly raise: EventSeverity }
  | { readonly id: string; readonly sequence: readonly [string, string]; readonly withinMs: number; readonly same: 'session' | 'server' | 'global'; readonly raise: EventSeverity };

export interface EventsConfig {
  readonly sinks: readonly EventSinkConfig[];
  /** Undefined: the built-in rules. */
  readonly correlation: readonly CorrelationRuleConfig[] | undefined;
}

export interface AuditConfig {
  /** Absolute path of the data directory. */
  readonly dir: string;
  readonly sealEvery: number;
  readonly sealIntervalMs: number;
  /** A file every seal is also appended to. */
  readonly exportSeals: string | undefined;
  /** Webhooks every seal is also POSTed to. */
  readonly sealWebhooks: readonly JsonPosterOptions[];
  readonly queue: number;
  readonly onOverload: 'block' | 'drop-with-alert';
  /** In block mode, how long a call waits for room in a full queue before it is refused. */
  readonly blockTimeoutMs: number;
  readonly maxAgeMs: number | undefined;
  readonly maxBytes: number | undefined;
  /** Event type globs that trigger a forensic snapshot of their session (at high severity and above). */
  readonly snapshotOn: readonly string[];
  /** Where removed records are archived before retention removes them (absolute). */
  readonly archive: string | undefined;
}

/** Information flow control (`flow:`), normalised. Plain data: it crosses the config process boundary. */
export type FlowAction = 'allow' | 'deny' | 'transform';
export type FlowLevel = 'PUBLIC' | 'INTERNAL' | 'SENSITIVE' | 'RESTRICTED';

export interface FlowEndpoint {
  readonly server?: string;
  readonly tool?: string;
  readonly resource?: string;
  readonly client?: string;
}

export interface FlowRuleConfig {
  readonly id: string;
  readonly priority: number;
  readonly source: FlowEndpoint | undefined;
  readonly destination: FlowEndpoint | undefined;
  /** Levels the rule applies to; undefined = all. */
  readonly levels: readonly FlowLevel[] | undefined;
  readonly detectors: readonly string[] | undefined;
  readonly conditions: {
    readonly requiredTrustLevel?: number;
    readonly requiredCapabilities?: readonly string[];
    readonly tainted?: FlowLevel;
    readonly carriesTainted?: boolean;
    readonly egress?: boolean;
  };
  readonly action: FlowAction;
  readonly transformations: readonly string[];
  /** The audit record of a message this rule decided keeps its (redacted) content. */
  readonly includeContent: boolean;
}

export interface ClassificationRuleConfig {
  readonly id: string;
  readonly priority: number;
  readonly patterns: readonly { readonly type: 'regex' | 'exact' | 'keyword' | 'semantic'; readonly value: string; readonly weight: number }[];
  readonly threshold: number;
  readonly classification: FlowLevel;
  readonly confidence: number;
}

export type VerifyMode = 'off' | 'if-present' | 'required';

export interface FlowConfig {
  readonly enabled: boolean;
  readonly emergencyLockdown: boolean;
  readonly levels: Readonly<Record<FlowLevel, { readonly action: FlowAction; readonly transformations: readonly string[] }>>;
  readonly disabledDetectors: readonly string[];
  readonly detectorLevels: Readonly<Record<string, FlowLevel>>;
  readonly classificationRules: readonly ClassificationRuleConfig[];
  readonly rules: readonly FlowRuleConfig[];
  readonly egress: readonly { readonly server: string; readonly tools: readonly string[] | undefined }[];
  readonly taintLevel: FlowLevel;
  readonly hashKey: string | undefined;
  readonly annotations:
    | {
        readonly sign: boolean;
        /** How messages from clients and from servers are checked. */
        readonly verify: { readonly clients: VerifyMode; readonly servers: VerifyMode };
        readonly key: string;
        readonly source: string | undefined;
      }
    | undefined;
}
