/** `guardrail schema`: the JSON Schema of guardrail.yaml, generated from the zod schema. */
import { configJsonSchema } from '../../config/json-schema.ts';

export async function printSchema(out: (text: string) => void = (t) => process.stdout.write(t)): Promise<number> {
  out(`${JSON.stringify(configJsonSchema(), null, 2)}\n`);
  return 0;
}
