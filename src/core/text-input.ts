import { z } from 'zod';

/**
 * Postgres refuses NUL in text and jsonb (a 500 if it gets that far, and it would fail a whole bulk
 * batch), so text input is checked here, where it is a 400 on the right field.
 */
const hasNul = (text: string) => text.includes('\u0000');
const NUL_MESSAGE = 'must not contain NUL characters';

/** Trimmed text of `min` to `max` characters, without NUL. */
export const Text = (max: number, min = 0) =>
  z
    .string()
    .trim()
    .min(min)
    .max(max)
    .refine((v) => !hasNul(v), NUL_MESSAGE);

const MAX_JSON_DEPTH = 10;

/** Why a JSON value cannot be stored as jsonb (NUL anywhere, or nested deeper than 10), or null. */
export function jsonProblem(value: unknown, depth = 0): string | null {
  if (typeof value === 'string') return hasNul(value) ? NUL_MESSAGE : null;
  if (value === null || typeof value !== 'object') return null;
  if (depth >= MAX_JSON_DEPTH) return `must not nest deeper than ${MAX_JSON_DEPTH} levels`;
  for (const [key, item] of Object.entries(value)) {
    const problem = hasNul(key) ? NUL_MESSAGE : jsonProblem(item, depth + 1);
    if (problem) return problem;
  }
  return null;
}
