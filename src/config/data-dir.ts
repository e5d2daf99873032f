/**
 * Where GUARDRAIL keeps its state when the config does not say: the audit store and its keys.
 * One place per user, so every gateway the user starts (each desktop client launches its own)
 * writes to the same tamper-evident store, which several writers may share.
 *
 *   GUARDRAIL_DATA_DIR                      when set
 *   $XDG_STATE_HOME/guardrail               Linux and others (default ~/.local/state/guardrail)
 *   ~/Library/Application Support/guardrail macOS
 *   %LOCALAPPDATA%\guardrail                Windows
 */
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';

export function defaultDataDir(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform, home: string = homedir()): string {
  if (env.GUARDRAIL_DATA_DIR) return resolve(env.GUARDRAIL_DATA_DIR);
  if (platform === 'win32') return join(env.LOCALAPPDATA || join(home, 'AppData', 'Local'), 'guardrail');
  if (platform === 'darwin') return join(home, 'Library', 'Application Support', 'guardrail');
  // The XDG spec ignores a relative XDG_STATE_HOME.
  const state = env.XDG_STATE_HOME && isAbsolute(env.XDG_STATE_HOME) ? env.XDG_STATE_HOME : join(home, '.local', 'state');
  return join(state, 'guardrail');
}

/** The audit store's directory when the config names none. */
export function defaultAuditDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(defaultDataDir(env), 'audit');
}
