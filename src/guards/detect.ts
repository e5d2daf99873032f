/**
 * Finds, in a tool's input schema, the arguments a guard kind should judge (issue 3: "a
 * detector that applies guards by argument name and JSON-schema format when the policy asks
 * for it"). Top-level properties and one level of nesting are read; an array of strings
 * counts as its items (`paths[*]`). An argument is judged when the last word of its name (`repo_path`,
 * `targetUrl`) names what the guard judges, or, for URLs, when its format is `uri` or `url`.
 *
 * A path guard also needs the operation: a tool whose name says it writes, edits, creates,
 * moves or deletes is judged as such, everything else as a read.
 */
import type { GuardEntry } from '../config/config.ts';

type Obj = Record<string, unknown>;

/** Words that name what a guard judges, matched against the last word of an argument's name. */
const WORDS: Readonly<Record<GuardEntry['guard'], ReadonlySet<string>>> = {
  path: new Set(['path', 'paths', 'file', 'files', 'filename', 'filenames', 'filepath', 'dir', 'dirs', 'directory', 'directories', 'folder', 'folders', 'source', 'destination', 'dest', 'src', 'root', 'cwd', 'workdir']),
  url: new Set(['url', 'urls', 'uri', 'uris', 'href', 'link', 'links', 'endpoint', 'webhook', 'callback']),
  command: new Set(['command', 'commands', 'cmd', 'commandline', 'script']),
  sql: new Set(['sql', 'query', 'statement']),
};
const URL_FORMATS = new Set(['uri', 'url', 'iri', 'uri-reference', 'iri-reference']);

/** Selectors for the arguments of `inputSchema` that a guard of `kind` should judge. */
export function detectArguments(kind: GuardEntry['guard'], inputSchema: unknown): string[] {
  const found: string[] = [];
  const visit = (schema: unknown, prefix: string, depth: number) => {
    const properties = (schema as Obj | null)?.properties;
    if (properties === null || typeof properties !== 'object') return;
    for (const [name, raw] of Object.entries(properties as Obj)) {
      const property = (raw ?? {}) as Obj;
      const selector = prefix ? `${prefix}.${name}` : name;
      const items = property.type === 'array' ? ((property.items ?? {}) as Obj) : undefined;
      const leaf = items ?? property;
      if (matches(kind, name, leaf)) found.push(items ? `${selector}[*]` : selector);
      else if (depth < 1 && property.type === 'object') visit(property, selector, depth + 1);
    }
  };
  visit(inputSchema, '', 0);
  return found;
}

function matches(kind: GuardEntry['guard'], name: string, schema: Obj): boolean {
  if (schema.type !== undefined && schema.type !== 'string' && !(Array.isArray(schema.type) && schema.type.includes('string'))) return false;
  if (kind === 'url' && typeof schema.format === 'string' && URL_FORMATS.has(schema.format)) return true;
  // repo_path, repoPath, repo-path → [repo, path]: the last word decides (so "profile" is not a file).
  const words = name.replace(/([a-z0-9])([A-Z])/g, '$1 $2').toLowerCase().split(/[-_\s.]+/).filter(Boolean);
  const last = words.at(-1) ?? '';
  return WORDS[kind].has(last) || WORDS[kind].has(words.join(''));
}

/** What a tool does with a path, from its name. */
export function operationOf(tool: string): 'read' | 'write' | 'delete' {
  const name = tool.toLowerCase();
  if (/(delete|remove|unlink|rmdir|^rm(_|$)|erase|purge)/.test(name)) return 'delete';
  if (/(write|edit|create|move|rename|save|upload|append|mkdir|copy|put|patch|modify|update|replace|touch|chmod)/.test(name)) return 'write';
  return 'read';
}
