/**
 * The filesystem path guard (seed 002, the path validation algorithm): is this argument a
 * location inside the allowed roots, outside the blocked ones, with an allowed extension, for
 * an operation the policy permits? It judges location, not existence: a new file inside a root
 * is fine.
 *
 * The argument is read the way a server would end up using it, never "sanitised":
 * strict percent-decoding to a fixpoint (a `%` that is not an escape, or bytes that are not
 * UTF-8, refuse the path), NFC, `file://` URIs, Windows separators, drive letters, UNC and
 * device names, and then resolution as the kernel does it: every existing component that is
 * a symlink is followed, `..` after a link climbs from the link's target, and what does not
 * exist yet is applied lexically. Roots and blocked folders are compared by their real paths,
 * by whole segments (`/srv/allowed_old` is not inside `/srv/allowed`).
 *
 * The checks use synchronous `lstat`/`readlink`: a few microseconds per component on a local
 * disk, cheaper than a round trip through the thread pool. The guard is for local paths; on
 * a slow network filesystem each call waits for it.
 */
import { lstatSync, readlinkSync, realpathSync, statSync } from 'node:fs';
import { posix } from 'node:path';
import { finding, GuardConfigError, type ArgumentGuard, type GuardResult } from './guard.ts';

export type PathOperation = 'read' | 'write' | 'delete';

export interface PathGuardOptions {
  /** Directories the argument must be inside (absolute). Relative arguments start at the first. */
  readonly roots: readonly string[];
  /** Directories inside the roots that are refused. */
  readonly blocked?: readonly string[];
  /** Allowed extensions (`.txt`), compared without case; absent = any. */
  readonly extensions?: readonly string[];
  /** What the tool does with the path. */
  readonly operation?: PathOperation;
  /** Which operations the policy permits (default read and write, not delete). */
  readonly allow?: Readonly<Partial<Record<PathOperation, boolean>>>;
  /** Largest existing file a read may name, in bytes; absent = any. */
  readonly maxFileBytes?: number;
}

const MAX_DECODE_ROUNDS = 5;
const MAX_SYMLINK_HOPS = 40;
const SCHEME = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//;
const DRIVE = /^[a-zA-Z]:/;
const DEVICE_NAME = /^(con|prn|aux|nul|com[1-9\u00b9\u00b2\u00b3]|lpt[1-9\u00b9\u00b2\u00b3]|conin\$|conout\$)(\..*)?$/i;
const utf8 = new TextDecoder('utf-8', { fatal: true });

export function pathGuard(options: PathGuardOptions): ArgumentGuard {
  if (!Array.isArray(options.roots) || options.roots.length === 0) throw new GuardConfigError('a path guard needs at least one root');
  for (const dir of [...options.roots, ...(options.blocked ?? [])]) {
    if (typeof dir !== 'string' || !posix.isAbsolute(dir)) throw new GuardConfigError(`"${String(dir)}" is not an absolute path`);
  }
  const extensions = options.extensions?.map((e) => {
    if (typeof e !== 'string' || !/^(\.[^./\\]+)+$/.test(e)) throw new GuardConfigError(`"${String(e)}" is not an extension such as ".txt" or ".tar.gz"`);
    return e.toLowerCase();
  });
  const operation = options.operation ?? 'read';
  if (!['read', 'write', 'delete'].includes(operation)) throw new GuardConfigError(`unknown operation "${operation}"`);
  const allowed = { read: true, write: true, delete: false, ...options.allow };
  const maxFileBytes = options.maxFileBytes;

  return {
    kind: 'path',
    check(value): GuardResult {
      if (!allowed[operation]) return finding('path.permission', `this tool would ${operation} files, which the policy does not allow`, { operation });
      const located = locate(value);
      if ('rule' in located) return located;
      // Roots and blocked folders by their real paths (a root may itself be a link).
      const roots = options.roots.map(real);
      const blockedDirs = (options.blocked ?? []).map(real);
      // Two readings of the same text: a POSIX server takes "\\" and trailing dots literally, a
      // Windows one splits at "\\" and drops trailing dots and spaces. Either must stay inside.
      let target = '';
      for (const reading of readings(located.path)) {
        const resolved = resolveReal(reading.startsWith('/') ? reading : `${roots[0]!}/${reading}`, knownRealDirs());
        if (typeof resolved !== 'string') return resolved;
        if (!roots.some((r) => inside(resolved, r))) return finding('path.outside-roots', 'the path resolves outside the allowed folders', { resolved, roots });
        // Blocked folders also by case: on a case-insensitive filesystem PRIVATE is private.
        const blocked = blockedDirs.find((b) => inside(resolved.toLowerCase(), b.toLowerCase()));
        if (blocked !== undefined) return finding('path.blocked', 'the path is inside a blocked folder', { resolved, blocked });
        target ||= resolved;
      }
      if (extensions && !isDirectory(target)) {
        // The name the client gave and the file it lands on (through a link) must both qualify.
        for (const name of new Set([posix.basename(located.path.replaceAll('\\', '/')), posix.basename(target)])) {
          if (/[. ]$/.test(name)) return finding('path.extension', 'a file name ending in a dot or a space hides its real extension', { name });
          const lower = name.toLowerCase();
          if (!extensions.some((e) => lower.length > e.length && lower.endsWith(e))) {
            const dot = name.lastIndexOf('.');
            return finding('path.extension', `files of type "${dot > 0 ? name.slice(dot) : 'none'}" are not allowed here`, { name, allowed: extensions });
          }
        }
      }
      if (maxFileBytes !== undefined && operation === 'read') {
        const size = sizeOf(target);
        if (size !== undefined && size > maxFileBytes) return finding('path.too-large', `the file is larger than the ${maxFileBytes}-byte limit`, { size, limit: maxFileBytes });
      }
      return undefined;
    },
  };
}

type Located = { readonly path: string } | NonNullable<GuardResult>;

/** Steps 1–6: what path the argument names, before the filesystem is asked. */
function locate(value: unknown): Located {
  if (typeof value !== 'string' || value.length === 0) return finding('path.not-a-path', 'the argument is not a path');
  if (value.includes('\0')) return finding('path.nul-byte', 'the path contains a NUL byte');
  let text = value;
  for (let round = 0; ; round++) {
    if (!text.isWellFormed()) return finding('path.bad-encoding', 'the path is not valid Unicode');
    if (!text.includes('%')) break;
    if (round === MAX_DECODE_ROUNDS) return finding('path.bad-encoding', 'the path is percent-encoded too many times');
    const decoded = percentDecode(text);
    if (decoded === undefined) return finding('path.bad-encoding', 'the path has an invalid percent-encoding or is not UTF-8');
    text = decoded;
  }
  if (text.includes('\0')) return finding('path.nul-byte', 'the path contains an encoded NUL byte');
  text = text.normalize('NFC');

  const scheme = SCHEME.exec(text);
  if (scheme && scheme[1]!.length > 1) {
    if (scheme[1]!.toLowerCase() !== 'file') return finding('path.not-a-path', `a ${scheme[1]} URL is not a file path`, { scheme: scheme[1] });
    const rest = text.slice(scheme[0].length);
    const slash = rest.indexOf('/');
    const host = slash < 0 ? rest : rest.slice(0, slash);
    if (host !== '' && host.toLowerCase() !== 'localhost') return finding('path.device', 'a file URL naming another host is a network share', { host });
    text = slash < 0 ? '/' : rest.slice(slash);
    if (text.startsWith('//') || DRIVE.test(text.slice(1))) return finding('path.device', 'the file URL names a network share or a drive');
  }
  if (text.startsWith('~')) return finding('path.home-expansion', 'a path starting with "~" depends on whose home the server expands it to');
  if (text.startsWith('\\\\') || DRIVE.test(text)) return finding('path.device', 'Windows drive, UNC and device paths are not allowed', { path: text.slice(0, 16) });
  const last = text.split(/[\\/]/).findLast((s) => s.length > 0) ?? '';
  if (DEVICE_NAME.test(last.replace(/[. ]+$/, ''))) return finding('path.device', `"${last}" is a reserved device name`, { name: last });
  return { path: text };
}

/** The path as a POSIX server reads it, and (when it differs) as a Windows server would. */
function readings(path: string): string[] {
  const windows = path
    .split(/[\\/]/)
    .map((segment) => (/^\.+$/.test(segment) ? segment : segment.replace(/[. ]+$/, '')))
    .join('/');
  return windows === path ? [path] : [path, windows];
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** One round of strict percent-decoding; undefined when an escape or the UTF-8 is invalid. */
function percentDecode(text: string): string | undefined {
  const bytes: number[] = [];
  const plain = Buffer.from(text, 'utf8');
  for (let i = 0; i < plain.length; i++) {
    const b = plain[i]!;
    if (b !== 0x25) {
      bytes.push(b);
      continue;
    }
    const hex = plain.toString('latin1', i + 1, i + 3);
    if (!/^[0-9a-fA-F]{2}$/.test(hex)) return undefined;
    bytes.push(parseInt(hex, 16));
    i += 2;
  }
  try {
    return utf8.decode(Uint8Array.from(bytes));
  } catch {
    return undefined;
  }
}

/**
 * Step 7: the path as the kernel would resolve it; a finding when it cannot be resolved.
 * `realDirs` are directories known to be real (the roots' real paths): a path that starts with
 * one, segment by segment, starts there without asking the filesystem about its ancestors.
 */
function resolveReal(path: string, realDirs: readonly string[]): string | NonNullable<GuardResult> {
  const pending = path.split('/').reverse();
  let current = '/';
  for (const dir of realDirs) {
    const parts = dir.split('/').slice(1);
    if (parts.length > pending.length - 1) continue;
    if (parts.every((part, i) => pending[pending.length - 2 - i] === part)) {
      pending.length -= parts.length + 1;
      current = dir;
      break;
    }
  }
  let exists = true;
  let hops = 0;
  while (pending.length > 0) {
    const part = pending.pop()!;
    if (part === '' || part === '.') continue;
    if (part === '..') {
      current = posix.dirname(current);
      continue;
    }
    const next = current === '/' ? `/${part}` : `${current}/${part}`;
    if (!exists) {
      current = next;
      continue;
    }
    let isLink: boolean;
    try {
      const stat = lstatSync(next, { throwIfNoEntry: false });
      if (stat === undefined) {
        exists = false;
        current = next;
        continue;
      }
      isLink = stat.isSymbolicLink();
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'ENOTDIR' && code !== 'ENAMETOOLONG') return finding('path.unresolvable', 'the path cannot be checked', { error: code });
      exists = false;
      current = next;
      continue;
    }
    if (!isLink) {
      current = next;
      continue;
    }
    if (++hops > MAX_SYMLINK_HOPS) return finding('path.symlink-loop', 'the path goes through a loop of symbolic links', { at: next });
    const target = readlinkSync(next);
    if (target.startsWith('/')) current = '/';
    pending.push(...target.split('/').reverse());
  }
  return current;
}

/** Folders (roots, blocked) whose real paths the filesystem confirmed: safe places to start resolving. */
function knownRealDirs(): string[] {
  return [...realPaths.values()];
}

/** A folder's real path; remembered once it exists (a root created later is picked up then). */
const realPaths = new Map<string, string>();
function real(dir: string): string {
  const known = realPaths.get(dir);
  if (known !== undefined) return known;
  try {
    const resolved = realpathSync(dir);
    realPaths.set(dir, resolved);
    return resolved;
  } catch {
    return posix.resolve(dir);
  }
}

function inside(path: string, dir: string): boolean {
  return path === dir || path.startsWith(dir.endsWith('/') ? dir : `${dir}/`);
}

function sizeOf(path: string): number | undefined {
  try {
    const stat = statSync(path);
    return stat.isFile() ? stat.size : undefined;
  } catch {
    return undefined;
  }
}
