/**
 * The security events GUARDRAIL emits (seed 000 §10.8): a fixed set of types, each with a
 * severity and its place in the Open Cybersecurity Schema Framework (OCSF), so that SIEMs
 * ingest them without custom parsing. Every stage's decisions become events through one bus
 * (`bus.ts`); correlation rules raise further events from patterns of these.
 */

export type Severity = 'info' | 'low' | 'medium' | 'high' | 'critical';

export const SEVERITY_RANK: Readonly<Record<Severity, number>> = { info: 1, low: 2, medium: 3, high: 4, critical: 5 };

export interface EventType {
  readonly severity: Severity;
  readonly description: string;
  /** OCSF class: 6003 API Activity, 6002 Application Lifecycle, 2004 Detection Finding, 3002 Authentication. */
  readonly ocsfClass: 6003 | 6002 | 2004 | 3002;
}

const type = (severity: Severity, ocsfClass: EventType['ocsfClass'], description: string): EventType => ({ severity, ocsfClass, description });

export const EVENT_TYPES = {
  'event.security.request.denied': type('medium', 6003, 'A request was refused by request control (method, capability policy, schema).'),
  'event.security.guard.blocked': type('high', 6003, 'An argument guard refused a call: a path escape, SSRF, an injected command or query.'),
  'event.security.resource_quota.exceeded': type('medium', 6003, 'An action limit (rate, quota, concurrency) refused a call.'),
  'event.security.flow_control.blocked': type('high', 6003, 'A flow rule refused a message: sensitive data going where it may not.'),
  'event.security.flow_control.transformed': type('low', 6003, 'Sensitive data in a message was redacted, hashed, tokenized or withheld.'),
  'event.security.flow_control.egress': type('info', 6003, 'A call to a tool marked as egress (it sends data out of the session).'),
  'event.security.data.secret_seen': type('medium', 6003, 'A secret (RESTRICTED data) crossed the gateway, transformed or not.'),
  'event.security.authentication.failed': type('high', 3002, 'A security annotation failed verification: wrong HMAC, replayed or malformed.'),
  'event.security.audit.unrecorded': type('critical', 2004, 'The audit store could not record a message; in block mode the message was refused.'),
  'event.security.tool.changed': type('medium', 2004, 'A server changed a tool\'s definition (description, schema, annotations) since the gateway last listed it.'),
  'event.security.upstream.restarted': type('low', 6002, 'A server exited, failed its health check or hung, and the gateway is restarting it.'),
  'event.security.correlation.alert': type('high', 2004, 'A correlation rule matched a pattern of events (its own severity applies).'),
  'event.security.policy.error': type('high', 2004, 'A security check failed with an error; the message was refused (fail closed).'),
} as const satisfies Record<string, EventType>;

export type EventTypeName = keyof typeof EVENT_TYPES;
