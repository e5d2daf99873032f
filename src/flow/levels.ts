/**
 * Classification levels (seed 001 §3.2.1). The names and values are the spec's; what each
 * level does by default (its flow action) is configurable in `flow.levels`.
 */

export type LevelName = 'PUBLIC' | 'INTERNAL' | 'SENSITIVE' | 'RESTRICTED';

export const LEVELS: Readonly<Record<LevelName, number>> = Object.freeze({ PUBLIC: 0, INTERNAL: 10, SENSITIVE: 20, RESTRICTED: 30 });

export const LEVEL_NAMES: readonly LevelName[] = ['PUBLIC', 'INTERNAL', 'SENSITIVE', 'RESTRICTED'];

/** The higher of two levels. */
export function maxLevel(a: LevelName, b: LevelName): LevelName {
  return LEVELS[a] >= LEVELS[b] ? a : b;
}

export function isLevel(value: unknown): value is LevelName {
  return typeof value === 'string' && Object.hasOwn(LEVELS, value);
}
