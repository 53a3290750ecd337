import { asc, eq, sql } from 'drizzle-orm';
import type { DbOrTx } from '../../db/client';
import { sequences } from '../../db/schema/index';

/** What the board's filters offer: the workspace's sequences and the owners its leads name. */
export async function boardChoices(db: DbOrTx, workspaceId: string) {
  const [sequenceRows, owners] = await Promise.all([
    db
      .select({ id: sequences.id, name: sequences.name })
      .from(sequences)
      .where(eq(sequences.workspaceId, workspaceId))
      .orderBy(asc(sequences.name)),
    db.execute<{ owner: string }>(sql`
      select distinct owner from leads
      where workspace_id = ${workspaceId} and erased_at is null and owner is not null
      order by owner limit 200`),
  ]);
  return { sequences: sequenceRows, owners: owners.rows.map((r) => r.owner) };
}
