/**
 * Tool changes, observed (seed 001 §7 anomaly detection; the `event.security.tool.changed`
 * event). A server that changes a tool's description or schema after clients have seen it can
 * slip new instructions to the model (a "rug pull"). This stage remembers, for the life of the
 * gateway and across its sessions, each server's tool definitions as seen in `tools/list`
 * results, and reports a definition that differs from the last one seen: which tools, and
 * which of their parts (each change once). It decides nothing: the listing passes unchanged, and the report becomes a
 * security event and an audit record. Refusing or pinning changed tools is the trust layer's.
 *
 * Cost: one JSON.stringify per listed tool, compared with what was seen; only a difference
 * pays for canonical JSON (so a server that merely reorders keys is not reported).
 */
import { decision } from '../pipeline/decision.ts';
import { PASS, type Stage, type StageResult } from '../pipeline/stage.ts';
import { canonicalJson } from '../util/canonical-json.ts';

interface Seen {
  /** The definition as the server last wrote it (the fast comparison). */
  raw: string;
  /** Canonical JSON of each part. */
  readonly parts: ReadonlyMap<string, string>;
}

export interface ToolChange {
  readonly tool: string;
  /** The parts that differ from the last sighting: description, inputSchema, annotations, … */
  readonly changed: readonly string[];
}

/** At most this many servers × tools are remembered; beyond it new tools are not tracked. */
const MAX_TRACKED = 50_000;

export function toolWatch(): Stage {
  const seen = new Map<string, Seen>();

  const partsOf = (tool: Record<string, unknown>): Map<string, string> => {
    const parts = new Map<string, string>();
    for (const [key, value] of Object.entries(tool)) if (key !== '_meta') parts.set(key, canonicalJson(value));
    return parts;
  };

  return {
    name: 'tool-watch',
    layer: 'audit',
    scope: { methods: ['tools/list'], directions: ['server-to-client'], kinds: ['result'] },
    evaluate(context): StageResult {
      const tools = (context.frame.message as { result?: { tools?: unknown } }).result?.tools;
      if (!Array.isArray(tools) || context.server === undefined) return PASS;
      const changes: ToolChange[] = [];
      for (const tool of tools as unknown[]) {
        if (tool === null || typeof tool !== 'object' || Array.isArray(tool)) continue;
        const definition = tool as Record<string, unknown>;
        if (typeof definition.name !== 'string') continue;
        const key = `${context.server}\u0000${definition.name}`;
        const { _meta: _ignored, ...withoutMeta } = definition;
        const raw = JSON.stringify(withoutMeta);
        const known = seen.get(key);
        if (!known) {
          if (seen.size < MAX_TRACKED) seen.set(key, { raw, parts: partsOf(definition) });
          continue;
        }
        if (known.raw === raw) continue;
        const now = partsOf(definition);
        const changed = [...new Set([...known.parts.keys(), ...now.keys()])].filter((part) => known.parts.get(part) !== now.get(part)).sort();
        if (changed.length === 0) {
          // Same definition, written differently (key order): remember the new spelling.
          known.raw = raw;
          continue;
        }
        changes.push({ tool: definition.name, changed });
        // Each change is reported once: the new definition is what later listings are compared with.
        seen.set(key, { raw, parts: now });
      }
      if (changes.length === 0) return PASS;
      const names = changes.map((c) => c.tool);
      return {
        effect: 'pass',
        decision: decision(
          'allow',
          'tool-watch',
          'audit',
          'tool-watch.changed',
          `${context.server} changed ${changes.length === 1 ? `the definition of ${names[0]}` : `the definitions of ${changes.length} tools (${names.slice(0, 5).join(', ')}${changes.length > 5 ? ', …' : ''})`} since it was last listed`,
          { changes },
        ),
      };
    },
  };
}
