/** Where the audit store goes when the config names no directory, on each platform. */
import { describe, expect, it } from 'vitest';
import { defaultDataDir } from '../../src/config/data-dir.ts';
import { checkConfig } from '../../src/config/load.ts';

describe('the default data directory', () => {
  it('follows GUARDRAIL_DATA_DIR, then the platform\'s place for per-user state', () => {
    expect(defaultDataDir({ GUARDRAIL_DATA_DIR: '/srv/guardrail' }, 'linux', '/home/a')).toBe('/srv/guardrail');
    expect(defaultDataDir({}, 'linux', '/home/a')).toBe('/home/a/.local/state/guardrail');
    expect(defaultDataDir({ XDG_STATE_HOME: '/var/state/a' }, 'linux', '/home/a')).toBe('/var/state/a/guardrail');
    // The XDG spec says a relative XDG_STATE_HOME is to be ignored.
    expect(defaultDataDir({ XDG_STATE_HOME: 'state' }, 'linux', '/home/a')).toBe('/home/a/.local/state/guardrail');
    expect(defaultDataDir({}, 'darwin', '/Users/a')).toBe('/Users/a/Library/Application Support/guardrail');
  });

  it('is where the audit store goes unless the config names a directory or says audit: false', () => {
    const load = (audit: unknown) => {
      const result = checkConfig({ upstreams: { a: { command: 'node' } }, ...(audit === undefined ? {} : { audit }) }, { env: { GUARDRAIL_DATA_DIR: '/srv/g' }, baseDir: '/tmp' });
      if (!result.ok) throw new Error(JSON.stringify(result.errors));
      return result.config.audit;
    };
    expect(load(undefined)?.dir).toBe('/srv/g/audit');
    expect(load({ seal_every: 10 })).toMatchObject({ dir: '/srv/g/audit', sealEvery: 10 });
    expect(load({ dir: 'records' })?.dir).toBe('/tmp/records');
    expect(load(false)).toBeUndefined();
    const sink = checkConfig({ upstreams: { a: { command: 'node' } }, audit: false, events: { sinks: [{ type: 'audit' }] } }, { env: {} });
    expect(sink.ok).toBe(false);
  });
});

describe('second places for the seals', () => {
  const load = (exportSeals: unknown) => checkConfig({ upstreams: { a: { command: 'node' } }, audit: { dir: '/tmp/g', export_seals: exportSeals } }, { env: {}, baseDir: '/tmp' });

  it('takes a file, a webhook, or a list of them with one file at most', () => {
    const one = load('seals.jsonl');
    expect(one.ok && one.config.audit).toMatchObject({ exportSeals: '/tmp/seals.jsonl', sealWebhooks: [] });
    const both = load(['seals.jsonl', { url: 'https://worm.example/seals', headers: { authorization: 'Bearer t' } }]);
    expect(both.ok && both.config.audit).toMatchObject({ exportSeals: '/tmp/seals.jsonl', sealWebhooks: [{ url: 'https://worm.example/seals', headers: { authorization: 'Bearer t' }, retries: 5 }] });
    const twoFiles = load(['a.jsonl', 'b.jsonl']);
    expect(twoFiles.ok).toBe(false);
    expect(!twoFiles.ok && twoFiles.errors[0]?.message).toContain('one file at most');
    expect(load({ url: 'ftp://worm.example/seals' }).ok).toBe(false);
  });
});

describe('events in the audit store', () => {
  const sinksOf = (extra: Record<string, unknown>) => {
    const result = checkConfig({ upstreams: { a: { command: 'node' } }, ...extra }, { env: { GUARDRAIL_DATA_DIR: '/srv/g' } });
    if (!result.ok) throw new Error(JSON.stringify(result.errors));
    return result.config.events.sinks;
  };

  it('records high-severity events by default, unless an audit sink says otherwise or the store is off', () => {
    expect(sinksOf({})).toEqual([{ type: 'audit', types: undefined, minSeverity: 'high' }]);
    expect(sinksOf({ events: { sinks: [{ type: 'file', path: '/tmp/e.jsonl' }] } }).map((s) => [s.type, s.minSeverity])).toEqual([
      ['audit', 'high'],
      ['file', 'info'],
    ]);
    expect(sinksOf({ events: { sinks: [{ type: 'audit', min_severity: 'medium' }] } })).toEqual([{ type: 'audit', types: undefined, minSeverity: 'medium' }]);
    expect(sinksOf({ audit: false })).toEqual([]);
  });
});
