/**
 * Decisions become events: each pipeline outcome the session records is turned into the
 * security events it stands for (a refusal by whichever layer, a transformation, a secret that
 * crossed, a call to an egress tool, a failed annotation, an unrecorded message).
 */
import type { DecisionRecord } from '../audit/decision-log.ts';
import type { Decision } from '../pipeline/decision.ts';
import type { EventInput } from './bus.ts';
import type { EventTypeName } from './taxonomy.ts';

export function eventsOf(entry: DecisionRecord): EventInput[] {
  const events: EventInput[] = [];
  const base = {
    session: entry.session,
    method: entry.method,
    ...(entry.server === undefined ? {} : { server: entry.server }),
    ...(entry.target === undefined ? {} : { tool: entry.target }),
  };
  const add = (type: EventTypeName, d: Decision, detail: Readonly<Record<string, unknown>> | undefined = d.evidence) =>
    events.push({ ...base, type, message: d.reason, rule: d.rule, ...(detail === undefined ? {} : { detail }) });

  const last = entry.decisions.at(-1);
  if (entry.verdict === 'deny' && last) add(refusalType(last), last);
  for (const d of entry.decisions) {
    if (d.rule === 'tool-watch.changed') add('event.security.tool.changed', d);
    if (d.layer !== 'information-flow') continue;
    const evidence = (d.evidence ?? {}) as { classification?: string; detectors?: Record<string, number>; egress?: boolean };
    if (d.effect === 'transform') add('event.security.flow_control.transformed', d);
    if (evidence.classification === 'RESTRICTED') add('event.security.data.secret_seen', d, { classification: evidence.classification, detectors: evidence.detectors });
    if (evidence.egress === true && entry.verdict !== 'deny') add('event.security.flow_control.egress', d, { egress: true });
  }
  return events;
}

function refusalType(d: Decision): EventTypeName {
  if (d.rule.endsWith('.internal-error')) return 'event.security.policy.error';
  if (d.rule.startsWith('flow.annotation-')) return 'event.security.authentication.failed';
  if (d.rule === 'audit.unrecorded') return 'event.security.audit.unrecorded';
  if (d.layer === 'information-flow') return 'event.security.flow_control.blocked';
  if (d.stage === 'argument-guard') return 'event.security.guard.blocked';
  if (d.stage === 'action-limiter') return 'event.security.resource_quota.exceeded';
  return 'event.security.request.denied';
}
