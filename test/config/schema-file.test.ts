/**
 * The JSON Schema shipped for editors must be the one the zod schema generates today, and the
 * example configs must validate against it (with a real JSON Schema validator, not zod).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { parse } from 'yaml';
import { configJsonSchemaText } from '../../src/config/json-schema.ts';
import { ROOT } from '../helpers/gateway.ts';

describe('schema/guardrail.schema.json', () => {
  it('is up to date (run `npm run schema` after changing src/config/schema.ts)', () => {
    expect(readFileSync(join(ROOT, 'schema/guardrail.schema.json'), 'utf8')).toBe(configJsonSchemaText());
  });

  it('describes every top-level section with a description', () => {
    const schema = JSON.parse(configJsonSchemaText()) as { properties: Record<string, { description?: string }>; required?: string[] };
    expect(schema.required).toEqual(['upstreams']);
    for (const key of ['listen', 'upstreams', 'limits', 'policy', 'profile', 'aggregation']) expect(schema.properties[key]?.description, key).toBeTruthy();
  });

  it('accepts the quickstart example and names itself in it', () => {
    const text = readFileSync(join(ROOT, 'examples/quickstart.yaml'), 'utf8');
    expect(text).toContain('$schema=../schema/guardrail.schema.json');
    const validate = new Ajv2020({ allErrors: true, strict: false }).compile(JSON.parse(configJsonSchemaText()) as object);
    expect(validate(parse(text)), JSON.stringify(validate.errors)).toBe(true);
  });

  it('rejects what the loader rejects: unknown keys, a bad duration, a missing upstream list', () => {
    const validate = new Ajv2020({ allErrors: true, strict: false }).compile(JSON.parse(configJsonSchemaText()) as object);
    expect(validate({ upstreams: {}, lmits: {} })).toBe(false);
    expect(validate({ upstreams: { a: { command: 'x', request_timeout: '5 parsecs' } } })).toBe(false);
    expect(validate({ listen: ['stdio'] })).toBe(false);
    expect(validate({ upstreams: { a: { url: 'http://127.0.0.1:1/mcp', headers: { Authorization: 'Bearer ${TOKEN}' } } } })).toBe(true);
  });
});
