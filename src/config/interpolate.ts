/**
 * `${VAR}` interpolation in config values, so secrets stay in the environment rather than the
 * file. `${VAR:-fallback}` supplies a default; `$${` writes a literal `${`. A reference to an
 * unset variable without a default is an error naming the place in the file.
 */

export interface InterpolationError {
  path: (string | number)[];
  message: string;
}

const REFERENCE = /\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}|\$\{([^}]*)\}?/g;

export function interpolate(
  value: unknown,
  env: NodeJS.ProcessEnv,
  errors: InterpolationError[],
  path: (string | number)[] = [],
): unknown {
  if (typeof value === 'string') {
    if (!value.includes('${')) return value;
    return value.replace(REFERENCE, (match, name: string | undefined, fallback: string | undefined, bad: string | undefined) => {
      if (match === '$${') return '${';
      if (name === undefined) {
        errors.push({ path, message: `"\${${bad ?? ''}" is not a valid variable reference (use \${NAME} or \${NAME:-default}; $\${ for a literal)` });
        return match;
      }
      const found = env[name];
      if (found !== undefined) return found;
      if (fallback !== undefined) return fallback;
      errors.push({ path, message: `environment variable ${name} is not set (give a default with \${${name}:-value})` });
      return match;
    });
  }
  if (Array.isArray(value)) return value.map((item, i) => interpolate(item, env, errors, [...path, i]));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) out[key] = interpolate(item, env, errors, [...path, key]);
    return out;
  }
  return value;
}
