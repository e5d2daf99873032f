/**
 * The JSON Schema shipped for editors must be the one the zod schema generates today, and the
 * example configs must validate against it (with a real JSON Schema validator, not zod: the
 * one the gateway uses for tool arguments).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Validator } from '@cfworker/json-schema';
import { parse } from 'yaml';
import { configJsonSchemaText } from '../../src/config/json-schema.ts';
import { parseConfigText } from '../../src/config/load.ts';
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
    const result = new Validator(JSON.parse(configJsonSchemaText()) as object, '2020-12', false).validate(parse(text));
    expect(result.valid, JSON.stringify(result.errors)).toBe(true);
  });

  it('rejects what the loader rejects: unknown keys, a bad duration, a missing upstream list', () => {
    const validator = new Validator(JSON.parse(configJsonSchemaText()) as object, '2020-12');
    const validate = (value: unknown) => validator.validate(value).valid;
    expect(validate({ upstreams: {}, lmits: {} })).toBe(false);
    expect(validate({ upstreams: { a: { command: 'x', request_timeout: '5 parsecs' } } })).toBe(false);
    expect(validate({ listen: ['stdio'] })).toBe(false);
    expect(validate({ upstreams: { a: { url: 'http://127.0.0.1:1/mcp', headers: { Authorization: 'Bearer ${TOKEN}' } } } })).toBe(true);
  });
});

describe('the configuration example in the README', () => {
  it('loads without errors or warnings', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Configuration'));
    const example = /```yaml\n([\s\S]*?)```/.exec(section)![1]!;
    const loaded = parseConfigText(example, { env: { SEARCH_TOKEN: 't', PATH: '/usr/bin' }, baseDir: ROOT });
    expect(loaded.ok ? [] : loaded.errors.map((e) => `${e.path}: ${e.message}`)).toEqual([]);
    expect(loaded.warnings.map((w) => `${w.path}: ${w.message}`)).toEqual([]);
  });
});
