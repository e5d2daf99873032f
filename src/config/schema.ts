/**
 * The shape of `guardrail.yaml` as users write it. This is step one of three (schema parse →
 * normalise → cross-field rules, see `load.ts`): it describes input only, with no transforms,
 * so the generated JSON Schema (`schema/guardrail.schema.json`) matches what editors should
 * autocomplete.
 */
import { z } from 'zod';

const duration = z
  .union([z.number().int().nonnegative(), z.string().regex(/^\d+(\.\d+)?\s*(ms|s|m|h|d)$/, 'a duration such as "500ms", "30s", "5m", "1h" or "90d"')])
  .describe('Milliseconds as a number, or a string with a unit: "500ms", "30s", "5m", "1h", "90d".');

const byteSize = z
  .union([z.number().int().positive(), z.string().regex(/^\d+(\.\d+)?\s*(B|KB|KiB|MB|MiB|GB|GiB)$/, 'a size such as "512KiB" or "10MiB"')])
  .describe('Bytes as a number, or a string with a unit: "512KiB", "10MiB", "1MB".');

const globList = z.array(z.string().min(1)).describe('Glob patterns (`*`, `?`, `[abc]`, `{a,b}`) matched against names as the server spells them.');

export const toolPolicySchema = z
  .strictObject({
    allow: globList.optional().describe('Only tools matching one of these exist for the client. Omit to allow every tool not denied.'),
    deny: globList.optional().describe('Tools matching any of these are hidden from listings and refused when called. Deny wins over allow.'),
  })
  .describe('Which of a server\'s tools the client may see and call.');

const selector = z
  .string()
  .regex(/^[A-Za-z_$][\w$-]*(\[(\*|\d+)\]|\.[A-Za-z_$][\w$-]*)*$/, 'an argument path such as "path", "paths[*]" or "options.url"');
const guardTarget = {
  tools: globList.optional().describe('The tools whose arguments this guard judges (default: every tool). For `on: resources/read`, ignored.'),
  arguments: z.array(selector).min(1).optional().describe('Where the value sits in the arguments: "path", "paths[*]", "options.url". An absent argument is not judged.'),
  detect: z
    .boolean()
    .optional()
    .describe('Instead of `arguments`: find the arguments this guard judges in each tool\'s input schema, by name (path, file, url, sql, command, …) and by JSON Schema format (uri, url).'),
  on: z.enum(['tools/call', 'resources/read']).optional().describe('`tools/call` (default) judges tool arguments; `resources/read` judges `params.uri` (use arguments: [uri]).'),
};
const pathOptions = {
  roots: z.array(z.string().min(1)).min(1).describe('Folders the path must be inside, relative to the config file; relative arguments start at the first.'),
  blocked: z.array(z.string().min(1)).optional().describe('Folders inside the roots that are refused.'),
  extensions: z.array(z.string().regex(/^(\.[^./\\]+)+$/, 'an extension such as ".txt" or ".tar.gz"')).optional().describe('Allowed file extensions; absent = any.'),
  allow: z
    .strictObject({ read: z.boolean().optional(), write: z.boolean().optional(), delete: z.boolean().optional() })
    .optional()
    .describe('Operations the policy permits (default read and write, not delete).'),
  max_file_bytes: byteSize.optional().describe('Largest existing file a read may name.'),
};
const urlOptions = {
  schemes: z.array(z.string().min(1)).optional().describe('Allowed URL schemes (default http, https).'),
  hosts: z.array(z.string().min(1)).optional().describe('Allowed host globs (`*.example.com`); absent = any public host.'),
  ports: z.array(z.number().int().min(1).max(65535)).optional().describe('Allowed ports (the effective port: 80 for http://h/); absent = any.'),
  block_private: z.boolean().optional().describe('Refuse loopback, private, link-local, CGNAT, unique-local and other internal addresses, in every spelling, after resolving names (default true). Cloud metadata addresses are always refused.'),
};
const commandOptions = {
  allow: z.array(z.string().min(1)).describe('Command names that may run.'),
  block: z.array(z.string().min(1)).optional().describe('Command names always refused (wins over allow).'),
  allow_shell: z.boolean().optional().describe('Accept shell syntax (pipes, redirections, ;) in a command line, judging every command in it (default false).'),
  no_options_after: z.number().int().nonnegative().optional().describe('From this argument index on, no argument may start with "-" (option injection).'),
  command_dirs: z.array(z.string().min(1)).optional().describe('Folders a command written with a "/" may come from (default: the system bin folders).'),
};
const sqlOptions = {
  read_only: z.boolean().optional().describe('Refuse writes (default true).'),
  allow_ddl: z.boolean().optional().describe('Accept CREATE/ALTER/DROP when not read-only (default false).'),
  dialect: z.enum(['postgresql', 'mysql', 'sqlite']).optional().describe('SQL dialect (default postgresql).'),
};

export const guardEntrySchema = z
  .union([
    z.strictObject({ guard: z.literal('path'), ...guardTarget, ...pathOptions, operation: z.enum(['read', 'write', 'delete']).optional() }).describe('Filesystem paths.'),
    z.strictObject({ guard: z.literal('url'), ...guardTarget, ...urlOptions }).describe('URLs a server will fetch (SSRF).'),
    z.strictObject({ guard: z.literal('command'), ...guardTarget, ...commandOptions }).describe('Commands a server will run.'),
    z.strictObject({ guard: z.literal('sql'), ...guardTarget, ...sqlOptions }).describe('SQL a server will execute.'),
    z.strictObject({ preset: z.literal('filesystem'), ...pathOptions }).describe('The reference filesystem server: every path argument of every tool, with the operation each tool performs, and file:// resources.'),
    z.strictObject({ preset: z.literal('fetch'), ...urlOptions }).describe('Fetch-like servers: the `url` argument of fetch tools.'),
    z.strictObject({ preset: z.literal('git'), ...pathOptions }).describe('Git servers: the `repo_path` argument, read or write by tool.'),
    z.strictObject({ preset: z.literal('shell'), ...commandOptions }).describe('Shell-like servers: the `command` argument of run/exec tools.'),
    z.strictObject({ preset: z.literal('sql'), ...sqlOptions }).describe('SQL servers: the `sql` or `query` argument of query tools.'),
  ])
  .describe('An argument guard: which arguments of which tools it judges, and how. A preset covers a common server without selectors.');

const namePolicy = (what: string, spelled: string) =>
  z
    .strictObject({
      allow: globList.optional().describe(`Only ${what} matching one of these exist for the client. Omit to allow every one not denied (unless strict_mode).`),
      deny: globList.optional().describe(`${what[0]!.toUpperCase()}${what.slice(1)} matching any of these are hidden from listings and refused. Deny wins over allow.`),
    })
    .describe(`Which ${what} the client may see and use, by ${spelled}.`);

const perPeriod = z.string().regex(/^\d+(\.\d+)?\s*\/\s*(ms|s|sec|second|m|min|minute|h|hour|d|day)$/, 'a count per period such as "10/s", "100/min", "1000/day"');

export const limitSchema = z
  .strictObject({
    scope: z.enum(['global', 'session', 'client', 'server', 'tool']).describe('Who shares the budget: everyone, each session, each client (by the name it gives), each server, each tool.'),
    tools: globList.optional().describe('The tools it counts (default: every tool call).'),
    rate: perPeriod.optional().describe('Token bucket rate, e.g. "10/s".'),
    burst: z.number().int().positive().optional().describe('Bucket size: calls allowed at once before the rate applies (default: the rate\'s count).'),
    quota: perPeriod.optional().describe('Total calls per period, e.g. "1000/day" (fixed windows).'),
    concurrency: z.number().int().positive().optional().describe('Calls in flight at once.'),
    mode: z.enum(['strict', 'soft']).optional().describe('`strict` (default) refuses at once; `soft` delays a call up to `max_delay` when the rate allows it by then.'),
    max_delay: duration.optional().describe('Longest a soft limit delays a call (default 1s).'),
  })
  .describe('One action limit: at least one of rate, quota, concurrency.');

export const serverPolicySchema = z
  .strictObject({
    extends: z
      .enum(['restrictive', 'moderate', 'permissive'])
      .optional()
      .describe('A policy template (seed 002): restrictive (untrusted: strict mode, read-only paths, https only), moderate (semi-trusted), permissive (trusted internal). It supplies strict_mode and the defaults of every guard; what the policy sets wins.'),
    validate_arguments: z.boolean().optional().describe('Check tool arguments against the tool\'s own inputSchema before the call reaches the server (default true).'),
    strict_mode: z.boolean().optional().describe('Anything the policy does not allow explicitly is denied: without an allow list, no tool, prompt or resource exists for the client.'),
    tools: toolPolicySchema.optional(),
    prompts: namePolicy('prompts', 'name').optional(),
    resources: namePolicy('resources', 'URI, matched as text (`*` matches "/" too; for file:// containment use the path guard, which resolves `..` and links)').optional(),
    rate_limits: z.array(limitSchema).optional().describe('Action limits on tool calls. The global policy\'s limits apply to every server (a `global` scope there is one budget for all).'),
    guards: z.array(guardEntrySchema).optional().describe('Argument guards. The global policy\'s guards apply to every server, before the server\'s own.'),
  })
  .describe('Policy for one upstream server; anything not set falls back to the global `policy`.');

const restartSchema = z
  .strictObject({
    initial_delay: duration.optional().describe('Delay before the first restart (default 250ms).'),
    max_delay: duration.optional().describe('Backoff ceiling (default 30s).'),
    max_attempts: z.number().int().nonnegative().optional().describe('Consecutive failed starts before the upstream is marked failed (default 10; 0 = never give up).'),
  })
  .describe('Restart with exponential backoff after the upstream exits or stops answering.');

const upstreamCommon = {
  required: z.boolean().optional().describe('Readiness (/readyz) waits for this upstream (default true).'),
  request_timeout: duration.optional().describe('A request without an answer for this long fails with a timeout error (default from `limits.request_timeout`). Progress notifications restart the clock, up to `limits.max_request_time`.'),
  restart: restartSchema.optional(),
  policy: serverPolicySchema.optional(),
};

const stdioUpstreamSchema = z
  .strictObject({
    transport: z.literal('stdio').optional(),
    command: z.string().min(1).describe('Executable to start; found on PATH.'),
    args: z.array(z.string()).optional().describe('Arguments, passed as they are (no shell).'),
    env: z.record(z.string(), z.string()).optional().describe('Variables set for the server. Use ${VAR} to take secrets from the gateway\'s environment.'),
    inherit_env: z.array(z.string()).optional().describe('Names of further variables of the gateway\'s own environment to pass through, added to the defaults (HOME, LOGNAME, PATH, SHELL, TERM, USER, LANG, LC_ALL, TMPDIR, TZ; the system ones on Windows). Nothing else is inherited.'),
    cwd: z.string().optional().describe('Working directory, relative to the config file (default: the config file\'s directory).'),
    stderr: z.enum(['log', 'inherit', 'ignore']).optional().describe('What to do with the server\'s stderr: prefix each line into the gateway log (default), pass it through, or drop it.'),
    ...upstreamCommon,
  })
  .describe('A server started as a child process, speaking MCP over stdin/stdout.');

const httpUpstreamSchema = z
  .strictObject({
    transport: z.enum(['streamable-http', 'sse']).optional().describe('`streamable-http` (default) or `sse` for the legacy HTTP+SSE transport (2024-11-05).'),
    url: z.url({ protocol: /^https?$/ }).describe('Endpoint URL (for `sse`, the URL of the event stream).'),
    headers: z.record(z.string(), z.string()).optional().describe('Headers sent with every request, e.g. Authorization: "Bearer ${TOKEN}".'),
    connect_timeout: duration.optional().describe('Time allowed to connect and receive response headers (default 10s).'),
    ...upstreamCommon,
  })
  .describe('A remote server reached over HTTP.');

export const upstreamSchema = z.union([stdioUpstreamSchema, httpUpstreamSchema]);

const httpListenerSchema = z
  .strictObject({
    url: z.url({ protocol: /^http$/ }).describe('Where to listen, e.g. http://127.0.0.1:8787/mcp. Port 0 picks a free port.'),
    allowed_hosts: z.array(z.string().min(1)).optional().describe('Host header values accepted besides the listening address and its loopback aliases (DNS-rebinding protection).'),
    allowed_origins: z.array(z.string().min(1)).optional().describe('Origin header values accepted from browsers (default: the listener\'s own origin and its loopback aliases).'),
    session_idle_timeout: duration.optional().describe('A session with no traffic for this long is closed (default 30m).'),
    max_sessions: z.number().int().positive().optional().describe('Concurrent sessions allowed (default 1000).'),
  })
  .describe('A Streamable HTTP endpoint for remote clients (both 2025-11-25 sessions and 2026-07-28 stateless requests).');

export const listenerSchema = z.union([z.literal('stdio').describe('MCP over this process\'s stdin/stdout, for desktop clients.'), httpListenerSchema]);

export const limitsSchema = z
  .strictObject({
    max_message_bytes: byteSize.optional().describe('Largest message accepted in either direction (default 10MiB). Larger ones fail only their own call.'),
    max_depth: z.number().int().min(2).max(1000).optional().describe('Deepest JSON nesting accepted (default 64).'),
    request_timeout: duration.optional().describe('Default time an upstream has to answer a request (default 60s).'),
    max_request_time: duration.optional().describe('Hard ceiling on a request even while it reports progress (default 10m).'),
  })
  .describe('Bounds that protect the gateway and its peers.');

export const decisionLogSchema = z
  .strictObject({
    sink: z.enum(['stderr', 'file', 'off']).optional().describe('Where decisions are written as JSON lines (default stderr).'),
    path: z.string().optional().describe('File for `sink: file`, relative to the config file.'),
    include: z.enum(['all', 'denials']).optional().describe('`all` records every request\'s decision; `denials` only refusals and transformations (default all).'),
  })
  .describe('Decision lines: one JSON line per decision, a live view for people and log collectors. The record of what happened is the audit store (`audit`).');

const level = z.enum(['PUBLIC', 'INTERNAL', 'SENSITIVE', 'RESTRICTED']);
const transformation = z
  .string()
  .regex(/^(redact|hash|tokenize|drop)(:[a-z0-9*-]+)?$/, 'redact, hash, tokenize or drop, optionally for one detector: "hash:email"')
  .describe('`redact` (mask in place), `hash` (keyed, stable), `tokenize` (reversible pseudonym kept by the gateway), `drop` (withhold the whole text); `name:detector` limits it to one detector\'s findings.');
const flowAction = z.enum(['allow', 'deny', 'transform']);
const verifyMode = z.enum(['off', 'if-present', 'required']);
const levelAction = z
  .strictObject({
    action: flowAction.describe('What happens to a flow at this level when no rule decides.'),
    transformations: z.array(transformation).optional().describe('For `transform` (default [redact]).'),
  })
  .describe('The default flow action of one classification level.');
const flowEndpoint = z
  .strictObject({
    server: z.string().min(1).optional().describe('Upstream name glob.'),
    tool: z.string().min(1).optional().describe('Tool name glob (as the server spells it).'),
    resource: z.string().min(1).optional().describe('Resource URI glob.'),
    client: z.string().min(1).optional().describe('Client name glob (the name in its clientInfo).'),
  })
  .describe('One side of a flow. Data from a server (results, notifications, its requests) has the server as source and the client as destination; data from the client (arguments, its answers) the reverse.');

export const flowRuleSchema = z
  .strictObject({
    id: z.string().min(1),
    description: z.string().optional(),
    priority: z.number().int().optional().describe('Higher runs first (default 0); among rules of equal priority that match, the most restrictive wins.'),
    source: flowEndpoint.optional(),
    destination: flowEndpoint.optional(),
    classification: z.array(level).min(1).optional().describe('Levels the rule applies to (default: every level).'),
    min_classification: level.optional().describe('Instead of a list: this level and above.'),
    detectors: z.array(z.string().min(1)).optional().describe('Only findings of these detectors (or classification rules, by id).'),
    conditions: z
      .strictObject({
        required_trust_level: z.number().min(0).max(1).optional().describe('The session\'s trust score must be at least this.'),
        required_capabilities: z.array(z.string().min(1)).optional().describe('Capabilities the session must hold.'),
        tainted: level.optional().describe('The session has received data at this level or above in clear.'),
        carries_tainted: z.boolean().optional().describe('The message carries a value the session received as tainted data.'),
        egress: z.boolean().optional().describe('The destination tool is marked as egress (`flow.egress`).'),
      })
      .optional(),
    action: flowAction,
    transformations: z.array(transformation).optional().describe('For `transform` (default [redact]).'),
    logging: z
      .strictObject({
        include_content: z.boolean().optional().describe('The audit record of a message this rule decided keeps its content, with every detector finding redacted (default: only keyed hashes of the parameters).'),
      })
      .optional(),
  })
  .describe('A flow rule (seed 001 §3.1.2): evaluated in priority order, first match wins.');

const classificationPattern = z.strictObject({
  type: z.enum(['regex', 'exact', 'keyword', 'semantic']).describe('`regex` (checked for catastrophic backtracking at load), `exact` (case-sensitive text), `keyword` (whole word, any case), `semantic` (a classifier registered by an embedding program; none ships).'),
  value: z.string().min(1),
  weight: z.number().positive().optional().describe('Added to the score when the pattern matches (default 1).'),
});

export const classificationRuleSchema = z
  .strictObject({
    id: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'lower-case letters, digits and dashes'),
    description: z.string().optional(),
    priority: z.number().int().optional(),
    patterns: z.array(classificationPattern).min(1),
    threshold: z.number().positive().optional().describe('Score needed to classify (default 1).'),
    classification: level,
    confidence: z.number().min(0).max(1).optional().describe('Confidence recorded with the finding (default 0.8).'),
  })
  .describe('A classification rule (seed 001 §3.2.2): the summed weights of the patterns that match must reach the threshold.');

export const flowSchema = z
  .strictObject({
    enabled: z.boolean().optional().describe('Scan and control information flow (default true).'),
    emergency_lockdown: z.boolean().optional().describe('Deny every flow above PUBLIC at once.'),
    conflict_resolution: z.literal('most_restrictive').optional(),
    levels: z
      .strictObject({ PUBLIC: levelAction.optional(), INTERNAL: levelAction.optional(), SENSITIVE: levelAction.optional(), RESTRICTED: levelAction.optional() })
      .optional()
      .describe('Default action per level (standard profile: allow, allow, allow, redact; strict: the spec\'s allow, allow, deny, deny).'),
    detectors: z
      .strictObject({
        disable: z.array(z.string().min(1)).optional().describe('Built-in detectors not to run.'),
        levels: z.record(z.string(), level).optional().describe('Another level for a detector, e.g. { email: INTERNAL }.'),
      })
      .optional(),
    classification_rules: z.array(classificationRuleSchema).optional(),
    rules: z.array(flowRuleSchema).optional(),
    egress: z
      .array(z.strictObject({ server: z.string().min(1), tools: globList.optional().describe('Default: every tool of the server.') }))
      .optional()
      .describe('Tools that send data out of the session (fetch, mail, messaging, shared storage): the `egress` condition of flow rules.'),
    taint_level: level.optional().describe('Data at this level or above, delivered in clear, taints the session (default SENSITIVE).'),
    hash_key: z.string().min(32).optional().describe('Key for `hash` (at least 32 characters; use ${VAR}). Without it, a random key per gateway run: hashes are stable until restart.'),
    annotations: z
      .strictObject({
        sign: z.boolean().optional().describe('Add a signed `dev.guardrail/security` annotation to messages the gateway sends.'),
        verify: z
          .union([
            verifyMode,
            z.strictObject({ clients: verifyMode.optional().describe('Messages from clients.'), servers: verifyMode.optional().describe('Messages from upstream servers.') }),
          ])
          .optional()
          .describe('Check annotations on messages that arrive: off, if-present (default), or required; one mode for both sides or { clients, servers }. Require them only from peers that are GUARDRAIL gateways.'),
        key: z.string().min(32).describe('Shared HMAC key (at least 32 characters; use ${VAR}).'),
        source: z.string().min(1).optional().describe('This gateway\'s sender name (default guardrail-<random>, new on every start).'),
      })
      .optional()
      .describe('Security annotations (seed 000 §10.5) between GUARDRAIL gateways.'),
  })
  .describe('Information flow control: classification, detectors, flow rules, taint, annotations.');

const sealPlace = z.union([
  z.string().min(1).describe('A file (JSON lines), relative to the config file.'),
  z
    .strictObject({
      url: z.url({ protocol: /^https?$/ }).describe('Each seal is POSTed here as JSON.'),
      headers: z.record(z.string(), z.string()).optional().describe('Sent with each POST (e.g. an Authorization header; ${VAR} works).'),
      retries: z.number().int().min(0).max(20).optional().describe('Retries of a failed POST, with exponential backoff (default 5).'),
    })
    .describe('A webhook.'),
]);

export const auditSchema = z
  .strictObject({
    dir: z.string().min(1).optional().describe('The data directory of the tamper-evident store (audit.db and the Ed25519 sealing key), relative to the config file. Default: the user\'s GUARDRAIL data directory (GUARDRAIL_DATA_DIR, else ~/.local/state/guardrail on Linux, ~/Library/Application Support/guardrail on macOS, %LOCALAPPDATA%\\guardrail on Windows) + /audit, shared by every gateway the user runs.'),
    seal_every: z.number().int().positive().optional().describe('Seal the chain after this many records (default 1000).'),
    seal_interval: duration.optional().describe('…and at least this often while records arrive (default 5m).'),
    export_seals: z
      .union([sealPlace, z.array(sealPlace).min(1)])
      .optional()
      .describe('Second places for every seal, so that rewriting the whole store is detectable: a file (JSON lines) the gateway appends to, relative to the config file, and/or webhooks that receive each seal as a JSON POST.'),
    queue: z.number().int().positive().optional().describe('Records waiting to be written (default 10000).'),
    on_overload: z
      .enum(['block', 'drop-with-alert'])
      .optional()
      .describe('When the store cannot keep up or fails. `block`: every message is recorded and waits until its record is on disk; calls wait for room, then are refused (nothing is forwarded unrecorded). `drop-with-alert`: records are dropped and the drops reported. Default: block under the strict profile, drop-with-alert otherwise.'),
    block_timeout: duration.optional().describe('With block: how long a call waits for room in a full queue before it is refused (default 5s).'),
    max_age: duration.optional().describe('Retention: records older than this are removed, by a signed prune entry that verify accepts (default: kept forever).'),
    snapshot_on: z
      .array(z.string().min(1))
      .optional()
      .describe('Event type globs that make the gateway take a forensic snapshot of the session they concern (high severity and above; default ["event.security.correlation.*"]; [] for none). Snapshots go to snapshots/ in the data directory.'),
    archive: z.string().min(1).optional().describe('Rotation: records retention removes are first written here (a directory, relative to the config file), one JSON-lines file per removal that `guardrail audit verify --export` checks on its own (default: removed records are gone).'),
    max_size: byteSize.optional().describe('Retention: the oldest records are removed while the records take more than this (default: no limit).'),
  })
  .describe('The tamper-evident audit trail (seed 001 §7): one flow record per message the gateway judged, hash-chained and sealed in a local SQLite store. On by default; `audit: false` turns it off.');

const severity = z.enum(['info', 'low', 'medium', 'high', 'critical']);
const eventFilter = {
  types: z.array(z.string().min(1)).optional().describe('Event type globs this sink takes, e.g. ["event.security.flow_control.*"] (default: all).'),
  min_severity: severity.optional().describe('The lowest severity this sink takes (default info).'),
  format: z.enum(['native', 'ocsf']).optional().describe('GUARDRAIL\'s own JSON (default) or OCSF 1.6.0.'),
};
const windowRule = {
  id: z.string().min(1),
  within: duration.describe('The sliding window.'),
  same: z.enum(['session', 'server', 'global']).optional().describe('What the events must share (default session).'),
  raise: severity.describe('The severity of the alert the rule raises.'),
};

export const eventsSchema = z
  .strictObject({
    sinks: z
      .array(
        z.union([
          z.strictObject({ type: z.literal('file'), path: z.string().min(1).describe('JSON lines, relative to the config file.'), ...eventFilter }),
          z.strictObject({ type: z.literal('audit'), types: eventFilter.types, min_severity: eventFilter.min_severity }).describe('The tamper-evident audit store (needs `audit`): each event an internal record in the chain.'),
          z.strictObject({
            type: z.literal('syslog'),
            url: z.string().regex(/^(udp|tcp):\/\/[^/]+$/, 'udp://HOST:PORT or tcp://HOST:PORT').describe('RFC 5424 over UDP, or over TCP with octet counting (RFC 6587).'),
            app_name: z.string().regex(/^[!-~]{1,48}$/).optional().describe('APP-NAME (default guardrail).'),
            facility: z.number().int().min(0).max(23).optional().describe('Syslog facility (default 13, log audit).'),
            ...eventFilter,
          }),
          z.strictObject({
            type: z.literal('webhook'),
            url: z.url({ protocol: /^https?$/ }),
            headers: z.record(z.string(), z.string()).optional().describe('E.g. Authorization: "Bearer ${TOKEN}".'),
            retries: z.number().int().min(0).max(10).optional().describe('Retries after a failed delivery (default 3), with exponential backoff.'),
            backoff: duration.optional().describe('The first retry\'s delay, doubled each time (default 500ms).'),
            ...eventFilter,
          }),
        ]),
      )
      .optional(),
    correlation: z
      .array(
        z.union([
          z.strictObject({ ...windowRule, types: z.array(z.string().min(1)).min(1).describe('Event type globs counted.'), count: z.number().int().min(2).describe('How many within the window.') }),
          z.strictObject({ ...windowRule, sequence: z.tuple([z.string().min(1), z.string().min(1)]).describe('An event of the first type glob, then one of the second.') }),
        ]),
      )
      .optional()
      .describe('Correlation rules (replace the built-in ones: five refusals in a minute in one session, a secret then an egress call within five minutes). [] turns them off.'),
  })
  .describe('Security events (seed 000 §10.8): every stage\'s decisions as typed events, sent to sinks, correlated.');

export const profileSchema = z
  .strictObject({
    extends: z.string().optional().describe('A built-in profile (standard, strict, permissive) or another profile in this file.'),
    description: z.string().optional(),
    limits: limitsSchema.optional(),
    policy: serverPolicySchema.optional(),
    decision_log: decisionLogSchema.optional(),
    flow: flowSchema.optional(),
  })
  .describe('Named defaults; the sections a profile sets are overridden by the same sections at top level.');

export const configSchema = z
  .strictObject({
    $schema: z.string().optional(),
    version: z.literal(1).optional().describe('Config format version (1).'),
    profile: z.string().optional().describe('Profile supplying defaults: standard (default), strict, permissive, or one from `profiles`.'),
    profiles: z.record(z.string(), profileSchema).optional().describe('Your own named profiles, usable with `profile` and `extends`.'),
    listen: z.array(listenerSchema).min(1).optional().describe('Where clients connect (default: stdio).'),
    upstreams: z.record(z.string(), upstreamSchema).describe('The MCP servers behind the gateway, by name. Names become tool and prompt prefixes when several are aggregated.'),
    aggregation: z
      .strictObject({
        separator: z.string().optional().describe('Joins server name and tool/prompt name (default "__"); server names may not contain it.'),
        namespace: z
          .enum(['auto', 'always', 'never'])
          .optional()
          .describe('`auto` (default): prefix names only when there is more than one upstream; `always`; `never` (one upstream only).'),
      })
      .optional()
      .describe('How several upstreams are presented as one server: names are prefixed with the upstream\'s name and the separator.'),
    limits: limitsSchema.optional(),
    policy: serverPolicySchema.optional().describe('The global policy, the fallback for every upstream.'),
    decision_log: decisionLogSchema.optional(),
    flow: flowSchema.optional(),
    audit: z.union([z.literal(false).describe('No audit store (not recommended: nothing then records what the agent did).'), auditSchema]).optional(),
    events: eventsSchema.optional(),
    admin: z
      .strictObject({
        url: z.url({ protocol: /^http$/ }).describe('Where the admin listener serves GET /metrics (Prometheus) and GET /healthz, e.g. http://127.0.0.1:9464. It has no authentication: keep it on loopback or behind a proxy.'),
      })
      .optional()
      .describe('The admin listener: Prometheus metrics (calls, decisions, upstream latency, restarts, events, audit queue and lag).'),
    telemetry: z
      .strictObject({
        endpoint: z.url({ protocol: /^https?$/ }).describe('The OTLP/HTTP (JSON) base URL of a collector, e.g. http://127.0.0.1:4318; /v1/traces and /v1/logs are appended.'),
        headers: z.record(z.string(), z.string()).optional(),
        service_name: z.string().min(1).optional().describe('service.name (default guardrail).'),
        traces: z.boolean().optional().describe('A span per client call, the stages\' decisions as events, a child span per upstream round trip (default true).'),
        logs: z.boolean().optional().describe('Security events as OpenTelemetry log records (default true).'),
        export_interval: duration.optional().describe('How often batches are exported (default 5s).'),
      })
      .optional()
      .describe('OpenTelemetry traces and logs, exported over OTLP/HTTP.'),
    log: z
      .strictObject({
        level: z.enum(['debug', 'info', 'warn', 'error', 'silent']).optional(),
        format: z.enum(['text', 'json']).optional(),
      })
      .optional()
      .describe('The gateway\'s own log, always on stderr.'),
  })
  .describe('GUARDRAIL gateway configuration (guardrail.yaml).');

export type RawConfig = z.infer<typeof configSchema>;
export type RawUpstream = z.infer<typeof upstreamSchema>;
export type RawListener = z.infer<typeof listenerSchema>;
export type RawProfile = z.infer<typeof profileSchema>;
export type RawGuardEntry = z.infer<typeof guardEntrySchema>;
export type RawLimit = z.infer<typeof limitSchema>;
export type RawFlow = z.infer<typeof flowSchema>;
export type RawAudit = z.infer<typeof auditSchema>;
export type RawEvents = z.infer<typeof eventsSchema>;
