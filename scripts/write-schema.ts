/**
 * Regenerates `schema/guardrail.schema.json` from the zod schema (`npm run schema`).
 * test/config/schema-file.test.ts fails when the shipped file is out of date.
 */
import { writeFileSync } from 'node:fs';
import { configJsonSchemaText } from '../src/config/json-schema.ts';

const target = new URL('../schema/guardrail.schema.json', import.meta.url);
writeFileSync(target, configJsonSchemaText());
process.stdout.write(`wrote ${target.pathname}\n`);
