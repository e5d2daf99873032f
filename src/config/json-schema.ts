import { z } from 'zod';
import { configSchema } from './schema.ts';

/** The JSON Schema (2020-12) editors use to autocomplete guardrail.yaml. */
export function configJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(configSchema, { io: 'input', target: 'draft-2020-12' }) as Record<string, unknown>;
  return { title: 'GUARDRAIL configuration', ...schema };
}

/** The schema as shipped in `schema/guardrail.schema.json` and printed by `guardrail schema`. */
export function configJsonSchemaText(): string {
  return `${JSON.stringify(configJsonSchema(), null, 2)}\n`;
}
