/**
 * Guard presets for common MCP servers, so their arguments are covered without writing
 * selectors. Each preset expands, at load, into plain guard entries (see `GuardEntry`). The
 * tool names are those of the reference servers on npm (and the widely used fetch and git
 * servers); a server whose tools are named otherwise needs explicit entries.
 */
import type { GuardEntry } from '../config/config.ts';

type Options = Record<string, unknown>;
type Entry = Omit<GuardEntry, 'source' | 'detect'>;

/** `@modelcontextprotocol/server-filesystem`: which argument of which tool, and what the tool does with it. */
const FILESYSTEM_TOOLS: ReadonlyArray<readonly [tools: string[], args: string[], operation: 'read' | 'write']> = [
  [['read_file', 'read_text_file', 'read_media_file', 'get_file_info', 'list_directory', 'list_directory_with_sizes', 'directory_tree', 'search_files'], ['path'], 'read'],
  [['read_multiple_files'], ['paths[*]'], 'read'],
  [['write_file', 'edit_file', 'create_directory'], ['path'], 'write'],
  // Moving removes the source and creates the destination: both are writes.
  [['move_file'], ['source', 'destination'], 'write'],
];

/** `mcp-server-git`: every tool takes `repo_path`; these change the repository. */
const GIT_WRITES = ['git_add', 'git_commit', 'git_reset', 'git_create_branch', 'git_checkout', 'git_init'];

export const PRESETS = ['filesystem', 'fetch', 'git', 'shell', 'sql'] as const;
export type PresetName = (typeof PRESETS)[number];

export function expandPreset(preset: PresetName, options: Options): Entry[] {
  switch (preset) {
    case 'filesystem':
      return [
        ...FILESYSTEM_TOOLS.map(([tools, args, operation]): Entry => ({ guard: 'path', on: 'tools/call', tools, arguments: args, options: { ...options, operation } })),
        { guard: 'path', on: 'resources/read', tools: undefined, arguments: ['uri'], options: { ...options, operation: 'read' } },
      ];
    case 'fetch':
      return [{ guard: 'url', on: 'tools/call', tools: ['fetch', 'fetch_*', '*_fetch'], arguments: ['url'], options }];
    case 'git':
      return [
        { guard: 'path', on: 'tools/call', tools: GIT_WRITES, arguments: ['repo_path'], options: { ...options, operation: 'write' } },
        { guard: 'path', on: 'tools/call', tools: ['git_*'], arguments: ['repo_path'], options: { ...options, operation: 'read' } },
      ];
    case 'shell':
      return [{ guard: 'command', on: 'tools/call', tools: ['run_command', 'execute_command', 'run', 'exec', 'shell', 'shell_*', 'bash'], arguments: ['command'], options }];
    case 'sql':
      return [{ guard: 'sql', on: 'tools/call', tools: ['query', '*_query', 'query_*', 'execute_sql', 'run_sql', 'sql'], arguments: ['sql', 'query'], options }];
  }
}
