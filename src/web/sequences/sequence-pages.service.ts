import { sql } from 'drizzle-orm';
import type { DbOrTx } from '../../db/client';

export type SequenceListRow = {
  id: string;
  name: string;
  status: string;
  enrolled: number;
  active: number;
  replied: number;
};

/** Every sequence of the workspace with its enrollment counts, by name. */
export async function sequencesWithCounts(db: DbOrTx, workspaceId: string): Promise<SequenceListRow[]> {
  const rows = await db.execute<SequenceListRow>(sql`
    select s.id, s.name, s.status,
      count(e.id)::int as enrolled,
      count(e.id) filter (where e.status = 'active')::int as active,
      count(e.id) filter (where e.status = 'replied')::int as replied
    from sequences s left join enrollments e on e.sequence_id = s.id
    where s.workspace_id = ${workspaceId}
    group by s.id order by s.name`);
  return rows.rows;
}
