/** `guardrail schema`: the JSON Schema of guardrail.yaml, generated from the zod schema. */
import { configJsonSchemaText } from '../../config/json-schema.ts';

export async function printSchema(out: (text: string) => void = (t) => process.stdout.write(t)): Promise<number> {
  out(configJsonSchemaText());
  return 0;
}
