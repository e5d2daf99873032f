import type { RawProfile } from './schema.ts';

/**
 * Built-in profiles (seed 001 §8.2.1 names high_security / standard / performance; ours are
 * named for their effect). A profile supplies defaults; the file's own sections win.
 */
export const BUILTIN_PROFILES: Readonly<Record<string, RawProfile>> = {
  standard: {
    description: 'Balanced defaults: 10 MiB messages, depth 64, every decision recorded; RESTRICTED data (secrets, card numbers) redacted.',
    limits: { max_message_bytes: '10MiB', max_depth: 64, request_timeout: '60s', max_request_time: '10m' },
    decision_log: { sink: 'stderr', include: 'all' },
  },
  strict: {
    description: 'Tighter bounds for untrusted servers: 4 MiB messages, depth 32, 30 s timeouts; SENSITIVE and RESTRICTED data do not flow.',
    limits: { max_message_bytes: '4MiB', max_depth: 32, request_timeout: '30s', max_request_time: '5m' },
    decision_log: { sink: 'stderr', include: 'all' },
    // The spec's default flow actions (seed 001 §3.2.1): SENSITIVE and RESTRICTED do not flow.
    flow: { levels: { SENSITIVE: { action: 'deny' }, RESTRICTED: { action: 'deny' } } },
  },
  permissive: {
    description: 'Looser bounds for trusted internal servers: 32 MiB messages, depth 128; only refusals recorded; flows are classified, not changed.',
    limits: { max_message_bytes: '32MiB', max_depth: 128, request_timeout: '5m', max_request_time: '1h' },
    decision_log: { sink: 'stderr', include: 'denials' },
    // Detected and recorded, never changed.
    flow: { levels: { RESTRICTED: { action: 'allow' } } },
  },
};
