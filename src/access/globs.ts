import picomatch from 'picomatch';

/** A compiled list of glob patterns that says which pattern matched (for the decision's evidence). */
export interface GlobList {
  readonly patterns: readonly string[];
  /** The first pattern that matches `name`, or undefined. */
  matches(name: string): string | undefined;
}

// Tool names are not paths, but picomatch treats "/" as a separator that `*` does not cross.
// Both sides swap it for a character that never means anything to picomatch.
const SLASH = '\u2215';
const unslash = (s: string) => (s.includes('/') ? s.replaceAll('/', SLASH) : s);

/**
 * Compiles name globs (`*`, `?`, `[abc]`, `{a,b}`) once, at load. Names are matched whole and
 * case-sensitively. Throws on a pattern that cannot compile, naming it.
 */
export function compileGlobs(patterns: readonly string[]): GlobList {
  const compiled = patterns.map((pattern) => {
    try {
      return { pattern, test: picomatch(unslash(pattern), { dot: true, noglobstar: true }) };
    } catch (error) {
      throw new Error(`invalid glob "${pattern}": ${(error as Error).message}`, { cause: error });
    }
  });
  return {
    patterns,
    matches(name: string): string | undefined {
      const subject = unslash(name);
      for (const { pattern, test } of compiled) if (test(subject)) return pattern;
      return undefined;
    },
  };
}
