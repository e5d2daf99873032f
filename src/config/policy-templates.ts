/**
 * The three policy templates of seed 002 ("Security Configuration Examples"), which a server's
 * policy names with `extends`. A template supplies `strict_mode` and the defaults of every
 * guard of that policy, by guard kind; what the policy itself sets wins. Templates cannot name
 * folders or hosts (they do not know the server): the guards still need their roots.
 */
import type { GuardEntry } from './config.ts';

export interface PolicyTemplate {
  readonly strictMode: boolean;
  readonly guardDefaults: Readonly<Record<GuardEntry['guard'], Readonly<Record<string, unknown>>>>;
}

export const POLICY_TEMPLATES: Readonly<Record<'restrictive' | 'moderate' | 'permissive', PolicyTemplate>> = {
  /** Untrusted servers: nothing unless allowed, reading only, https only, no shell, read-only SQL. */
  restrictive: {
    strictMode: true,
    guardDefaults: {
      path: { allow: { read: true, write: false, delete: false }, maxFileBytes: 10 << 20 },
      url: { schemes: ['https'], blockPrivate: true },
      command: { allowShell: false },
      sql: { readOnly: true, allowDdl: false },
    },
  },
  /** Semi-trusted: writes but no deletes, web ports only, no shell, read-only SQL. */
  moderate: {
    strictMode: false,
    guardDefaults: {
      path: { allow: { read: true, write: true, delete: false }, maxFileBytes: 10 << 20 },
      url: { schemes: ['http', 'https'], ports: [80, 443], blockPrivate: true },
      command: { allowShell: false },
      sql: { readOnly: true, allowDdl: false },
    },
  },
  /** Trusted internal servers: deletes, private addresses (never cloud metadata), shell, writes. */
  permissive: {
    strictMode: false,
    guardDefaults: {
      path: { allow: { read: true, write: true, delete: true } },
      url: { blockPrivate: false },
      command: { allowShell: true },
      sql: { readOnly: false, allowDdl: false },
    },
  },
};
