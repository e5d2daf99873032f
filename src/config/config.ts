/** The normalised configuration the gateway runs on (after `load.ts` has checked it). */

export interface ToolPolicy {
  /** Globs; `undefined` allows every tool that is not denied. */
  readonly allow: readonly string[] | undefined;
  readonly deny: readonly string[];
}

export interface ServerPolicy {
  readonly tools: ToolPolicy;
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
  readonly log: LogConfig;
}
