/**
 * Events in the Open Cybersecurity Schema Framework (OCSF 1.6.0), so that SIEMs ingest them
 * without custom parsing. The mapping is documented in docs/events.md.
 *
 *   refusals, transformations, secrets seen, egress calls → API Activity (6003)
 *   failed annotations                                    → Authentication (3002)
 *   correlation alerts, audit failures, changed tools     → Detection Finding (2004)
 *   upstream restarts                                     → Application Lifecycle (6002)
 */
import { VERSION } from '../version.ts';
import type { SecurityEvent } from './bus.ts';
import { EVENT_TYPES, SEVERITY_RANK } from './taxonomy.ts';

export const OCSF_VERSION = '1.6.0';

/** OCSF disposition_id: 1 Allowed, 2 Blocked, 99 Other. */
const DISPOSITION: Readonly<Record<string, { id: number; name: string }>> = {
  'event.security.request.denied': { id: 2, name: 'Blocked' },
  'event.security.guard.blocked': { id: 2, name: 'Blocked' },
  'event.security.resource_quota.exceeded': { id: 2, name: 'Blocked' },
  'event.security.flow_control.blocked': { id: 2, name: 'Blocked' },
  'event.security.policy.error': { id: 2, name: 'Blocked' },
  'event.security.audit.unrecorded': { id: 2, name: 'Blocked' },
  'event.security.flow_control.transformed': { id: 99, name: 'Transformed' },
  'event.security.flow_control.egress': { id: 1, name: 'Allowed' },
  'event.security.data.secret_seen': { id: 1, name: 'Allowed' },
};

export function toOcsf(event: SecurityEvent): Record<string, unknown> {
  const classUid = EVENT_TYPES[event.type].ocsfClass;
  // API Activity 99 Other; Application Lifecycle 5 Restart; Authentication 1 Logon; Detection Finding 1 Create.
  const activityId = classUid === 6003 ? 99 : classUid === 6002 ? 5 : 1;
  const out: Record<string, unknown> = {
    class_uid: classUid,
    category_uid: Math.floor(classUid / 1000),
    activity_id: activityId,
    type_uid: classUid * 100 + activityId,
    time: Date.parse(event.time),
    severity_id: SEVERITY_RANK[event.severity],
    severity: event.severity === 'info' ? 'Informational' : event.severity[0]!.toUpperCase() + event.severity.slice(1),
    message: event.message,
    metadata: { version: OCSF_VERSION, uid: event.id, event_code: event.type, original_time: event.time, product: { name: 'GUARDRAIL', vendor_name: 'GUARDRAIL', version: VERSION } },
    unmapped: {
      ...(event.rule ? { rule: event.rule } : {}),
      ...(event.tool ? { tool: event.tool } : {}),
      ...(event.detail ? { detail: event.detail } : {}),
    },
  };
  if (event.session) out.actor = { session: { uid: event.session } };
  const disposition = DISPOSITION[event.type];
  if (disposition) {
    out.disposition_id = disposition.id;
    out.disposition = disposition.name;
    out.status_id = disposition.id === 2 ? 2 : 1; // 1 Success, 2 Failure
  }
  if (classUid === 6002) out.app = { name: event.server ?? 'unknown', vendor_name: 'MCP server' };
  if (classUid === 6003) out.api = { operation: event.method ?? 'unknown', service: { name: event.server ?? 'guardrail' } };
  if (classUid === 3002) out.status_id = 2;
  if (classUid === 2004) out.finding_info = { uid: event.id, title: event.message, types: [event.type], ...(event.rule ? { analytic: { name: event.rule, type_id: 1 } } : {}) };
  return out;
}
