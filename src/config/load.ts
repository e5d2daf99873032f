/**
 * Loading `guardrail.yaml` in three steps, returning every problem at once:
 *   1. schema parse: YAML (or JSON) → `${VAR}` interpolation → zod, each issue placed at its
 *      file, line and column;
 *   2. normalise: profiles resolved, units converted, defaults filled, paths made absolute;
 *   3. cross-field rules: names against the separator, listeners, globs that cannot match.
 * Nothing here runs per message; what the gateway evaluates later is already compiled.
 */
import { existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { LineCounter, isMap, isPair, isScalar, parseDocument, type Document } from 'yaml';
import type { ZodError } from 'zod';
import { compileGlobs } from '../access/globs.ts';
import type {
  CorrelationRuleConfig,
  EventSinkConfig,
  EventsConfig,
  DecisionLogConfig,
  GuardEntry,
  LimitRule,
  GatewayConfig,
  HttpListenerConfig,
  Limits,
  ListenerConfig,
  ServerPolicy,
  UpstreamConfig,
} from './config.ts';
import { defaultAuditDir } from './data-dir.ts';
import { interpolate, type InterpolationError } from './interpolate.ts';
import { BUILTIN_PROFILES } from './profiles.ts';
import { normaliseFlow } from './flow-config.ts';
import { expandPreset } from '../guards/presets.ts';
import { POLICY_TEMPLATES } from './policy-templates.ts';
import { configSchema, type RawConfig, type RawGuardEntry, type RawLimit, type RawProfile, type RawUpstream } from './schema.ts';
import { parseByteSize, parseDuration } from './units.ts';

export interface ConfigIssue {
  readonly severity: 'error' | 'warning';
  /** Dotted path in the file, e.g. `upstreams.fs.command`. */
  readonly path: string;
  readonly message: string;
  readonly file?: string;
  readonly line?: number;
  readonly column?: number;
}

export type LoadResult =
  | { readonly ok: true; readonly config: GatewayConfig; readonly warnings: readonly ConfigIssue[] }
  | { readonly ok: false; readonly errors: readonly ConfigIssue[]; readonly warnings: readonly ConfigIssue[] };

export interface LoadOptions {
  /** The file the text came from; relative paths in it resolve against its directory. */
  readonly source?: string;
  /** Directory relative paths resolve against when there is no file (default: cwd). */
  readonly baseDir?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Applied to the parsed document before it is checked (the CLI's overrides). */
  readonly transform?: (raw: Record<string, unknown>) => Record<string, unknown>;
}

export function formatIssue(issue: ConfigIssue): string {
  const where = issue.file ? `${issue.file}${issue.line ? `:${issue.line}:${issue.column ?? 1}` : ''}: ` : '';
  return `${where}${issue.severity}: ${issue.path ? `${issue.path}: ` : ''}${issue.message}`;
}

export async function loadConfigFile(file: string, options: Omit<LoadOptions, 'source'> = {}): Promise<LoadResult> {
  const source = resolve(file);
  let text: string;
  try {
    text = await readFile(source, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : (error as Error).message;
    return { ok: false, errors: [{ severity: 'error', path: '', message: `cannot read config: ${reason}`, file: source }], warnings: [] };
  }
  return parseConfigText(text, { ...options, source });
}

/** Steps 1–3 on config text (YAML or JSON). */
export function parseConfigText(text: string, options: LoadOptions = {}): LoadResult {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const locate = locator(doc, lineCounter, options.source);
  const errors: ConfigIssue[] = [];
  for (const e of doc.errors) {
    const pos = lineCounter.linePos(e.pos[0]);
    errors.push({ severity: 'error', path: '', message: e.message.split('\n')[0]!, file: options.source, line: pos.line, column: pos.col });
  }
  if (errors.length > 0) return { ok: false, errors, warnings: [] };
  const raw = (doc.toJS() ?? {}) as Record<string, unknown>;
  return checkConfig(options.transform ? options.transform(raw) : raw, { ...options, locate });
}

/** Steps 1–3 on a config value built in code (the CLI's flags, the embedding API). */
export function checkConfig(
  value: unknown,
  options: LoadOptions & { locate?: (path: (string | number)[]) => Pick<ConfigIssue, 'file' | 'line' | 'column'> } = {},
): LoadResult {
  const locate = options.locate ?? (() => ({}));
  const issue = (severity: ConfigIssue['severity'], path: (string | number)[], message: string): ConfigIssue => ({
    severity,
    path: path.join('.'),
    message,
    ...locate(path),
  });
  const errors: ConfigIssue[] = [];
  const warnings: ConfigIssue[] = [];

  // Step 1: interpolation, then the schema.
  const interpolationErrors: InterpolationError[] = [];
  const interpolated = interpolate(value, options.env ?? process.env, interpolationErrors);
  for (const e of interpolationErrors) errors.push(issue('error', e.path, e.message));
  const parsed = configSchema.safeParse(interpolated);
  if (!parsed.success) {
    errors.push(...zodIssues(parsed.error, issue));
    return { ok: false, errors, warnings };
  }

  // Steps 2 and 3 (also after an interpolation error, so every problem is reported at once).
  const baseDir = options.source ? dirname(options.source) : resolve(options.baseDir ?? '.');
  const config = normalise(parsed.data, baseDir, options.source, options.env ?? process.env, (severity, path, message) => {
    (severity === 'error' ? errors : warnings).push(issue(severity, path, message));
  });
  if (errors.length > 0 || config === undefined) return { ok: false, errors, warnings };
  return { ok: true, config, warnings };
}

type Report = (severity: ConfigIssue['severity'], path: (string | number)[], message: string) => void;

/** Reports a `tools` glob list that cannot compile. */
function checkToolGlobs(tools: readonly string[] | undefined, path: (string | number)[], report: Report): void {
  if (tools === undefined) return;
  try {
    compileGlobs(tools);
  } catch (error) {
    report('error', path, (error as Error).message);
  }
}

const PERIOD_MS: Record<string, number> = { ms: 1, s: 1000, sec: 1000, second: 1000, m: 60_000, min: 60_000, minute: 60_000, h: 3_600_000, hour: 3_600_000, d: 86_400_000, day: 86_400_000 };

function perPeriod(text: string): { count: number; periodMs: number } {
  const [count, unit] = text.split('/').map((p) => p.trim());
  return { count: Number(count), periodMs: PERIOD_MS[unit!]! };
}

function normaliseLimit(raw: RawLimit, path: (string | number)[], report: Report): LimitRule {
  const source = path.join('.');
  if (raw.rate === undefined && raw.quota === undefined && raw.concurrency === undefined) report('error', path, 'a limit needs at least one of rate, quota, concurrency');
  const rate = raw.rate === undefined ? undefined : perPeriod(raw.rate);
  const quota = raw.quota === undefined ? undefined : perPeriod(raw.quota);
  if (rate && rate.count <= 0) report('error', [...path, 'rate'], 'the rate must be more than 0');
  if (quota && (!Number.isInteger(quota.count) || quota.count <= 0)) report('error', [...path, 'quota'], 'the quota must be a whole number of calls, more than 0');
  checkToolGlobs(raw.tools, [...path, 'tools'], report);
  return {
    scope: raw.scope,
    tools: raw.tools,
    ...(rate ? { rate: { perMs: rate.count / rate.periodMs, burst: raw.burst ?? Math.max(1, Math.floor(rate.count)), text: raw.rate! } } : {}),
    ...(quota ? { quota: { limit: quota.count, periodMs: quota.periodMs, text: raw.quota! } } : {}),
    ...(raw.concurrency === undefined ? {} : { concurrency: raw.concurrency }),
    mode: raw.mode ?? 'strict',
    maxDelayMs: parseDuration(raw.max_delay ?? '1s'),
    source,
  };
}

const camel = (key: string): string => key.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

/** A guard entry as the gateway compiles it: presets expanded, folders absolute, options camelCased. */
function normaliseGuard(raw: RawGuardEntry, path: (string | number)[], baseDir: string, report: Report): GuardEntry[] {
  const source = path.join('.');
  const { tools, arguments: args, on, detect, ...rest } = raw as RawGuardEntry & { tools?: string[]; arguments?: string[]; on?: GuardEntry['on']; detect?: boolean };
  const options: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(rest)) {
    if (key === 'guard' || key === 'preset') continue;
    if (key === 'roots' || key === 'blocked') options[key] = (value as string[]).map((dir) => resolve(baseDir, dir));
    else if (key === 'max_file_bytes') options.maxFileBytes = parseByteSize(value as number | string);
    else options[camel(key)] = value;
  }
  checkToolGlobs(tools, [...path, 'tools'], report);
  if ('preset' in raw) return expandPreset(raw.preset, options).map((entry) => ({ ...entry, detect: false, source }));
  if ((args === undefined) === (detect !== true)) report('error', path, 'give the arguments to judge, or detect: true (not both)');
  if (detect === true && on === 'resources/read') report('error', [...path, 'detect'], 'detection reads tool input schemas; resources/read has none');
  return [{ guard: raw.guard, on: on ?? 'tools/call', tools, arguments: args ?? [], detect: detect === true, options, source }];
}

function zodIssues(error: ZodError, issue: (s: 'error', p: (string | number)[], m: string) => ConfigIssue): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  for (const i of error.issues) {
    const path = i.path.filter((p): p is string | number => typeof p !== 'symbol');
    if (i.code === 'unrecognized_keys') {
      for (const key of i.keys) out.push(issue('error', [...path, key], `unknown setting "${key}"`));
    } else if (i.code === 'invalid_union' && 'errors' in i && Array.isArray(i.errors)) {
      // Report the alternative that got furthest, rather than "invalid input".
      const best = (i.errors as Array<Array<{ path: PropertyKey[]; message: string; code: string; keys?: string[] }>>)
        .map((alt) => alt.filter((x) => !(x.code === 'invalid_type' && x.path.length === 0)))
        .sort((a, b) => a.length - b.length)[0];
      if (best && best.length > 0) {
        for (const sub of best) {
          const subPath = [...path, ...sub.path.filter((p): p is string | number => typeof p !== 'symbol')];
          if (sub.code === 'unrecognized_keys' && sub.keys) for (const key of sub.keys) out.push(issue('error', [...subPath, key], `unknown setting "${key}"`));
          else out.push(issue('error', subPath, sub.message));
        }
      } else {
        out.push(issue('error', path, i.message));
      }
    } else {
      out.push(issue('error', path, i.message));
    }
  }
  return out;
}

const DEFAULT_INHERITED_ENV =
  process.platform === 'win32'
    ? ['APPDATA', 'HOMEDRIVE', 'HOMEPATH', 'LOCALAPPDATA', 'PATH', 'PATHEXT', 'PROCESSOR_ARCHITECTURE', 'SYSTEMDRIVE', 'SYSTEMROOT', 'TEMP', 'TMP', 'USERNAME', 'USERPROFILE', 'PROGRAMFILES']
    : ['HOME', 'LOGNAME', 'PATH', 'SHELL', 'TERM', 'USER', 'LANG', 'LC_ALL', 'TMPDIR', 'TZ'];

/**
 * Variables that make a program load or run code it was not given (dynamic-loader preloads,
 * interpreter start-up hooks): never passed to a server, even when named.
 */
const INJECTING_ENV = /^(LD_[A-Z_]*|DYLD_[A-Z_]*|NODE_OPTIONS|NODE_PATH|NODE_REPL_EXTERNAL_MODULE|PYTHONPATH|PYTHONSTARTUP|PYTHONHOME|PYTHONINSPECT|PERL5OPT|PERL5LIB|PERLLIB|RUBYOPT|RUBYLIB|BASH_ENV|ENV|PROMPT_COMMAND|SHELLOPTS|BASHOPTS|JAVA_TOOL_OPTIONS|_JAVA_OPTIONS|JDK_JAVA_OPTIONS|GIT_SSH_COMMAND|GIT_EXEC_PATH|GIT_CONFIG_GLOBAL|GIT_CONFIG_SYSTEM)$/;

const SERVER_NAME = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;
const NAME_CHARS = /^[A-Za-z0-9_.-]+$/;

function resolveProfile(raw: RawConfig, report: Report): { name: string; layers: RawProfile[] } {
  const name = raw.profile ?? 'standard';
  const layers: RawProfile[] = [];
  const seen = new Set<string>();
  let current: string | undefined = name;
  while (current !== undefined) {
    if (seen.has(current)) {
      report('error', ['profiles', current, 'extends'], `profile "${current}" extends itself through ${[...seen].join(' → ')}`);
      break;
    }
    seen.add(current);
    const profile: RawProfile | undefined = raw.profiles?.[current] ?? BUILTIN_PROFILES[current];
    if (profile === undefined) {
      const known = [...Object.keys(BUILTIN_PROFILES), ...Object.keys(raw.profiles ?? {})];
      report('error', seen.size === 1 ? ['profile'] : ['profiles', [...seen].at(-2)!, 'extends'], `unknown profile "${current}" (known: ${known.join(', ')})`);
      break;
    }
    layers.unshift(profile);
    // A user profile without `extends` still builds on the standard defaults.
    current = profile.extends ?? (raw.profiles?.[current] !== undefined && current !== 'standard' ? 'standard' : undefined);
  }
  return { name, layers };
}

function normalise(raw: RawConfig, baseDir: string, source: string | undefined, env: NodeJS.ProcessEnv, report: Report): GatewayConfig | undefined {
  const { name: profile, layers } = resolveProfile(raw, report);
  const pick = <K extends 'limits' | 'decision_log'>(key: K): NonNullable<RawProfile[K]> =>
    Object.assign({}, ...layers.map((l) => l[key] ?? {}), raw[key] ?? {}) as NonNullable<RawProfile[K]>;
  const rawLimits = pick('limits');
  const limits: Limits = {
    maxMessageBytes: parseByteSize(rawLimits.max_message_bytes ?? '10MiB'),
    maxDepth: rawLimits.max_depth ?? 64,
    requestTimeoutMs: parseDuration(rawLimits.request_timeout ?? '60s'),
    maxRequestTimeMs: parseDuration(rawLimits.max_request_time ?? '10m'),
  };
  if (limits.maxRequestTimeMs < limits.requestTimeoutMs) {
    report('error', ['limits', 'max_request_time'], 'must be at least limits.request_timeout');
  }
  const rawLog = pick('decision_log');
  const decisionLog: DecisionLogConfig = {
    sink: rawLog.sink ?? 'stderr',
    path: rawLog.path === undefined ? undefined : resolve(baseDir, rawLog.path),
    include: rawLog.include ?? 'all',
  };
  if (decisionLog.sink === 'file' && decisionLog.path === undefined) report('error', ['decision_log', 'path'], 'required when sink is "file"');

  // Policies: the profile's, then the global section, then each server's own.
  const globalTools = Object.assign({}, ...layers.map((l) => l.policy?.tools ?? {}), raw.policy?.tools ?? {}) as { allow?: string[]; deny?: string[] };
  checkGlobs(globalTools, ['policy', 'tools'], report);

  const globalGuards = [...layers.flatMap((l) => l.policy?.guards ?? []), ...(raw.policy?.guards ?? [])].flatMap((g, i) => normaliseGuard(g, ['policy', 'guards', i], baseDir, report));

  const globalLimits = (raw.policy?.rate_limits ?? []).map((l, i) => normaliseLimit(l, ['policy', 'rate_limits', i], report));

  const separator = raw.aggregation?.separator ?? '__';
  if (separator.length === 0 || !NAME_CHARS.test(separator)) {
    report('error', ['aggregation', 'separator'], 'must be one or more of the characters tool names may use: letters, digits, "_", "-", "."');
  }
  const names = Object.keys(raw.upstreams);
  if (names.length === 0) report('error', ['upstreams'], 'at least one upstream is required');
  const namespace = raw.aggregation?.namespace ?? 'auto';
  if (namespace === 'never' && names.length > 1) {
    report('error', ['aggregation', 'namespace'], `"never" needs exactly one upstream: with ${names.length}, two servers' tools could collide`);
  }

  const upstreams: UpstreamConfig[] = [];
  for (const name of names) {
    const up = raw.upstreams[name]!;
    const path = ['upstreams', name];
    if (!SERVER_NAME.test(name)) report('error', path, 'a server name starts with a letter and has at most 64 letters, digits, "_" or "-"');
    else if (separator.length > 0 && name.includes(separator)) {
      report('error', path, `the name contains the separator "${separator}", so prefixed names could collide; rename it or set aggregation.separator`);
    }
    const serverTools = up.policy?.tools ?? {};
    checkGlobs(serverTools, [...path, 'policy', 'tools'], report, globalTools.deny);
    const namePolicy = (kind: 'prompts' | 'resources') => {
      const global = Object.assign({}, ...layers.map((l) => l.policy?.[kind] ?? {}), raw.policy?.[kind] ?? {}) as { allow?: string[]; deny?: string[] };
      const own = up.policy?.[kind] ?? {};
      checkGlobs(own, [...path, 'policy', kind], report, global.deny);
      return { allow: own.allow ?? global.allow, deny: [...new Set([...(global.deny ?? []), ...(own.deny ?? [])])] };
    };
    const template = up.policy?.extends ?? raw.policy?.extends;
    const defaults = template === undefined ? undefined : POLICY_TEMPLATES[template];
    const guards = [...globalGuards, ...(up.policy?.guards ?? []).flatMap((g, i) => normaliseGuard(g, [...path, 'policy', 'guards', i], baseDir, report))];
    const policy: ServerPolicy = {
      tools: {
        allow: serverTools.allow ?? globalTools.allow,
        deny: [...new Set([...(globalTools.deny ?? []), ...(serverTools.deny ?? [])])],
      },
      prompts: namePolicy('prompts'),
      resources: namePolicy('resources'),
      strictMode: up.policy?.strict_mode ?? raw.policy?.strict_mode ?? defaults?.strictMode ?? false,
      validateArguments: up.policy?.validate_arguments ?? raw.policy?.validate_arguments ?? true,
      limits: [...globalLimits, ...(up.policy?.rate_limits ?? []).map((l, i) => normaliseLimit(l, [...path, 'policy', 'rate_limits', i], report))],
      // The template's guard defaults lie under what each entry sets.
      guards: defaults ? guards.map((g) => ({ ...g, options: { ...defaults.guardDefaults[g.guard], ...g.options } })) : guards,
    };
    upstreams.push({
      name,
      transport: upstreamTransport(up, path, baseDir, env, report),
      required: up.required ?? true,
      requestTimeoutMs: up.request_timeout === undefined ? limits.requestTimeoutMs : parseDuration(up.request_timeout),
      restart: {
        initialDelayMs: parseDuration(up.restart?.initial_delay ?? 250),
        maxDelayMs: parseDuration(up.restart?.max_delay ?? '30s'),
        maxAttempts: up.restart?.max_attempts ?? 10,
      },
      policy,
    });
  }

  const listeners: ListenerConfig[] = [];
  let stdioCount = 0;
  (raw.listen ?? ['stdio']).forEach((listener, i) => {
    if (listener === 'stdio') {
      if (++stdioCount === 2) report('error', ['listen', i], 'stdio can be listed once');
      listeners.push({ kind: 'stdio' });
      return;
    }
    const http = httpListener(listener, ['listen', i], report);
    if (http) listeners.push(http);
  });

  const flow = normaliseFlow(layers, raw.flow, report);
  // On unless the config says `audit: false`: the record of what the agent did is not opt-in.
  const rawAudit = raw.audit === false ? undefined : (raw.audit ?? {});
  const sealPlaces = rawAudit?.export_seals === undefined ? [] : [rawAudit.export_seals].flat();
  const sealFiles = sealPlaces.filter((p) => typeof p === 'string');
  if (sealFiles.length > 1) report('error', ['audit', 'export_seals'], 'one file at most (and any number of webhooks)');
  const sealFile = sealFiles[0];
  if (rawAudit?.archive !== undefined && rawAudit.max_age === undefined && rawAudit.max_size === undefined) report('warning', ['audit', 'archive'], 'has no effect without max_age or max_size: nothing is ever removed');
  const audit = rawAudit
    ? ({
        dir: rawAudit.dir === undefined ? defaultAuditDir(env) : resolve(baseDir, rawAudit.dir),
        sealEvery: rawAudit.seal_every ?? 1000,
        sealIntervalMs: parseDuration(rawAudit.seal_interval ?? '5m'),
        exportSeals: sealFile === undefined ? undefined : resolve(baseDir, sealFile),
        sealWebhooks: sealPlaces.filter((p) => typeof p !== 'string').map((p) => ({ url: p.url, headers: p.headers ?? {}, retries: p.retries ?? 5, backoffMs: 1000 })),
        queue: rawAudit.queue ?? 10_000,
        // The high-security profile records everything durably before it moves on.
        onOverload: rawAudit.on_overload ?? (layers.some((l) => l === BUILTIN_PROFILES.strict) ? 'block' : 'drop-with-alert'),
        blockTimeoutMs: parseDuration(rawAudit.block_timeout ?? '5s'),
        maxAgeMs: rawAudit.max_age === undefined ? undefined : parseDuration(rawAudit.max_age),
        maxBytes: rawAudit.max_size === undefined ? undefined : parseByteSize(rawAudit.max_size),
        archive: rawAudit.archive === undefined ? undefined : resolve(baseDir, rawAudit.archive),
        snapshotOn: rawAudit.snapshot_on ?? ['event.security.correlation.*'],
      } as const)
    : undefined;
  const sinks = raw.events?.sinks ?? [];
  // With the store on and no audit sink named, events of high severity and above (refusals by
  // guards and flow rules, failed annotations, check errors, alerts) are recorded in the chain.
  const implicitAudit: EventSinkConfig[] = audit && !sinks.some((s) => s.type === 'audit') ? [{ type: 'audit', types: undefined, minSeverity: 'high' }] : [];
  const events: EventsConfig = {
    sinks: [...implicitAudit, ...sinks.map((sink): EventSinkConfig => {
      if (sink.type === 'audit') {
        if (!audit) report('error', ['events', 'sinks'], 'an audit sink needs the audit store, which `audit: false` turns off');
        return { type: 'audit', types: sink.types, minSeverity: sink.min_severity ?? 'info' };
      }
      const filter = { types: sink.types, minSeverity: sink.min_severity ?? 'info', format: sink.format ?? 'native' } as const;
      if (sink.type === 'file') return { type: 'file', path: resolve(baseDir, sink.path), ...filter };
      if (sink.type === 'syslog') return { type: 'syslog', url: sink.url, appName: sink.app_name ?? 'guardrail', facility: sink.facility ?? 13, ...filter };
      return { type: 'webhook', url: sink.url, headers: sink.headers ?? {}, retries: sink.retries ?? 3, backoffMs: parseDuration(sink.backoff ?? '500ms'), ...filter };
    })],
    correlation: raw.events?.correlation?.map((rule): CorrelationRuleConfig => {
      const common = { id: rule.id, withinMs: parseDuration(rule.within), same: rule.same ?? 'session', raise: rule.raise } as const;
      return 'count' in rule ? { ...common, types: rule.types, count: rule.count } : { ...common, sequence: rule.sequence };
    }),
  };
  let admin: { host: string; port: number } | undefined;
  if (raw.admin) {
    const u = new URL(raw.admin.url);
    admin = { host: u.hostname.replace(/^\[|\]$/g, ''), port: u.port === '' ? 80 : Number(u.port) };
    if (!['127.0.0.1', '::1', 'localhost'].includes(admin.host)) report('warning', ['admin', 'url'], 'the admin listener has no authentication and listens beyond loopback');
  }
  const telemetry = raw.telemetry
    ? {
        endpoint: raw.telemetry.endpoint.replace(/\/+$/, ''),
        headers: raw.telemetry.headers ?? {},
        serviceName: raw.telemetry.service_name ?? 'guardrail',
        traces: raw.telemetry.traces ?? true,
        logs: raw.telemetry.logs ?? true,
        exportIntervalMs: parseDuration(raw.telemetry.export_interval ?? '5s'),
      }
    : undefined;
  const log = { level: raw.log?.level ?? 'info', format: raw.log?.format ?? 'text' } as const;
  return {
    source,
    profile,
    listeners,
    upstreams,
    aggregation: { separator, namespaced: namespace === 'always' || (namespace === 'auto' && names.length > 1) },
    limits,
    decisionLog,
    flow,
    audit,
    events,
    admin,
    telemetry,
    log,
  };
}

function upstreamTransport(
  up: RawUpstream,
  path: (string | number)[],
  baseDir: string,
  env: NodeJS.ProcessEnv,
  report: Report,
): UpstreamConfig['transport'] {
  if ('command' in up) {
    const cwd = resolve(baseDir, up.cwd ?? '.');
    if (!existsSync(cwd) || !statSync(cwd).isDirectory()) report('error', [...path, 'cwd'], `directory ${cwd} does not exist`);
    const childEnv: Record<string, string> = {};
    for (const key of [...DEFAULT_INHERITED_ENV, ...(up.inherit_env ?? [])]) {
      const v = env[key];
      // Skip exported shell functions, which the child's shell would execute.
      if (v !== undefined && !v.startsWith('()')) childEnv[key] = v;
    }
    Object.assign(childEnv, up.env ?? {});
    for (const [section, names] of [['inherit_env', up.inherit_env ?? []], ['env', Object.keys(up.env ?? {})]] as const) {
      names.forEach((name, i) => {
        if (!INJECTING_ENV.test(name)) return;
        report('warning', [...path, section, section === 'env' ? name : i], `${name} makes a program load code it was not given; it is never passed to a server`);
        delete childEnv[name];
      });
    }
    return { kind: 'stdio', command: up.command, args: up.args ?? [], env: childEnv, cwd, stderr: up.stderr ?? 'log' };
  }
  return {
    kind: up.transport ?? 'streamable-http',
    url: new URL(up.url).href,
    headers: up.headers ?? {},
    connectTimeoutMs: parseDuration(up.connect_timeout ?? '10s'),
  };
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

function httpListener(
  raw: Exclude<NonNullable<RawConfig['listen']>[number], 'stdio'>,
  path: (string | number)[],
  report: Report,
): HttpListenerConfig | undefined {
  const url = new URL(raw.url);
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = url.port === '' ? 80 : Number(url.port);
  if (url.search || url.hash) report('error', [...path, 'url'], 'a listener URL has no query or fragment');
  if (!LOOPBACK.has(host)) {
    report(
      'warning',
      [...path, 'url'],
      `listening on ${host} makes the gateway reachable from other machines; set allowed_hosts to the names clients use, and put authentication in front until the auth layer lands`,
    );
  }
  return {
    kind: 'http',
    host,
    port,
    path: url.pathname,
    allowedHosts: raw.allowed_hosts ?? [],
    allowedOrigins: raw.allowed_origins ?? [],
    sessionIdleTimeoutMs: parseDuration(raw.session_idle_timeout ?? '30m'),
    maxSessions: raw.max_sessions ?? 1000,
  };
}

function checkGlobs(tools: { allow?: string[]; deny?: string[] }, path: (string | number)[], report: Report, inheritedDeny: readonly string[] = []): void {
  let deny: ReturnType<typeof compileGlobs> | undefined;
  try {
    deny = compileGlobs(tools.deny ?? []);
  } catch (error) {
    report('error', [...path, 'deny'], (error as Error).message);
  }
  try {
    compileGlobs(tools.allow ?? []);
  } catch (error) {
    report('error', [...path, 'allow'], (error as Error).message);
    return;
  }
  if (!deny) return;
  const denies = [...(tools.deny ?? []).map((d) => ({ d, which: 'deny' })), ...inheritedDeny.map((d) => ({ d, which: 'the global policy\'s deny' }))];
  (tools.allow ?? []).forEach((pattern, i) => {
    // An allow entry that a deny entry covers completely can never take effect.
    const covering = denies.find(({ d }) => covers(d, pattern));
    if (covering !== undefined) report('warning', [...path, 'allow', i], `"${pattern}" can never match: ${covering.which} "${covering.d}" covers it (deny wins)`);
  });
}

/** Whether deny pattern `d` matches everything allow pattern `pattern` can (conservatively). */
function covers(d: string, pattern: string): boolean {
  if (d === '*' || d === '**' || d === pattern) return true;
  if (/[*?[{]/.test(pattern)) return false;
  try {
    return compileGlobs([d]).matches(pattern) !== undefined;
  } catch {
    return false; // reported where the pattern is defined
  }
}

function locator(doc: Document, lineCounter: LineCounter, file: string | undefined) {
  return (path: (string | number)[]): Pick<ConfigIssue, 'file' | 'line' | 'column'> => {
    // Walk as far down the path as the document goes; point at the key when we can.
    let node: unknown = doc.contents;
    let offset: number | undefined = (doc.contents as { range?: number[] } | null)?.range?.[0];
    for (const key of path) {
      if (isMap(node)) {
        const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(key));
        if (!pair) break;
        offset = (pair.key as { range?: number[] }).range?.[0] ?? offset;
        node = pair.value;
      } else if (node && typeof node === 'object' && 'items' in node && Array.isArray((node as { items: unknown[] }).items)) {
        const item = (node as { items: unknown[] }).items[Number(key)];
        if (item === undefined) break;
        offset = (item as { range?: number[] }).range?.[0] ?? offset;
        node = item;
      } else {
        break;
      }
    }
    if (offset === undefined) return { file };
    const pos = lineCounter.linePos(offset);
    return { file, line: pos.line, column: pos.col };
  };
}
