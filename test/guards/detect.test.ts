/**
 * Detection of guarded arguments from tool input schemas: by the last word of the argument's
 * name and, for URLs, by format; arrays of strings as their items; one level of nesting.
 */
import { describe, expect, it } from 'vitest';
import { detectArguments, operationOf } from '../../src/guards/detect.ts';

const schema = (properties: Record<string, unknown>) => ({ type: 'object', properties });

describe('detectArguments', () => {
  it('finds path arguments by name, including lists and nested objects, and not look-alikes', () => {
    const s = schema({
      path: { type: 'string' },
      repo_path: { type: 'string' },
      outputDir: { type: 'string' },
      paths: { type: 'array', items: { type: 'string' } },
      options: { type: 'object', properties: { source: { type: 'string' }, profile: { type: 'string' } } },
      profile: { type: 'string' },
      pathCount: { type: 'integer' },
      content: { type: 'string' },
    });
    expect(detectArguments('path', s).sort()).toEqual(['options.source', 'outputDir', 'path', 'paths[*]', 'repo_path'].sort());
  });

  it('finds URLs by name or by format, SQL and commands by name', () => {
    const s = schema({ target: { type: 'string', format: 'uri' }, callbackUrl: { type: 'string' }, curl: { type: 'string' }, sql: { type: 'string' }, query: { type: 'string' }, cmd: { type: 'string' }, note: { type: 'string' } });
    expect(detectArguments('url', s).sort()).toEqual(['callbackUrl', 'target']);
    expect(detectArguments('sql', s).sort()).toEqual(['query', 'sql']);
    expect(detectArguments('command', s)).toEqual(['cmd']);
  });

  it('finds nothing in a schema without properties', () => {
    expect(detectArguments('path', undefined)).toEqual([]);
    expect(detectArguments('path', { type: 'object' })).toEqual([]);
  });
});

describe('operationOf', () => {
  it('reads what a tool does with a path from its name', () => {
    expect(operationOf('read_text_file')).toBe('read');
    expect(operationOf('list_directory')).toBe('read');
    expect(operationOf('write_file')).toBe('write');
    expect(operationOf('move_file')).toBe('write');
    expect(operationOf('createDirectory')).toBe('write');
    expect(operationOf('delete_file')).toBe('delete');
    expect(operationOf('rm')).toBe('delete');
  });
});
