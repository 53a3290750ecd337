import { and, eq } from 'drizzle-orm';
import type { DbOrTx } from '../db/client';
import { sequenceVersions } from '../db/schema/index';
import type { SequenceDefinition } from '../core/sequences';

/** Versions never change once written, so a process-wide cache is always correct. */
const cache = new Map<string, SequenceDefinition>();
const MAX_CACHED = 5000;

export async function loadVersion(
  db: DbOrTx,
  sequenceId: string,
  version: number,
): Promise<SequenceDefinition | null> {
  const key = `${sequenceId}:${version}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const [row] = await db
    .select({ definition: sequenceVersions.definition })
    .from(sequenceVersions)
    .where(and(eq(sequenceVersions.sequenceId, sequenceId), eq(sequenceVersions.version, version)));
  if (!row) return null;
  // Stored definitions were validated and resolved on write (every step has an id).
  const definition = row.definition as SequenceDefinition;
  if (cache.size >= MAX_CACHED) cache.clear();
  cache.set(key, definition);
  return definition;
}
