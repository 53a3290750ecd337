import { sql } from 'drizzle-orm';
import type { Db } from '../db/client';
import { stopLeadEnrollments } from './stop-rules';
import { stepAllowed } from './liveness';

/**
 * A due run that its enrollment and sequence still want, but the lead no longer allows (suppressed
 * by domain through the API, marked do-not-contact, erased without its enrollments), would be
 * re-queued by the reconciler for ever. Ends that enrollment with the lead's reason instead.
 * Anything else a failed claim means (paused, already claimed, stale generation) is left alone.
 */
export async function stopIfLeadBlocked(db: Db, stepRunId: string): Promise<boolean> {
  const { rows } = await db.execute<{ workspace_id: string; lead_id: string; lead_status: string }>(sql`
    select e.workspace_id, e.lead_id, l.status as lead_status
    from step_runs sr
    join enrollments e on e.id = sr.enrollment_id
    join leads l on l.id = e.lead_id
    join sequences s on s.id = e.sequence_id
    where sr.id = ${stepRunId} and sr.status = 'scheduled' and sr.run_at <= now()
      and e.status = 'active' and s.status = 'active'
      and not (${stepAllowed})`);
  const blocked = rows[0];
  if (!blocked) return false;
  const status =
    blocked.lead_status === 'bounced'
      ? 'bounced'
      : blocked.lead_status === 'unsubscribed'
        ? 'unsubscribed'
        : 'stopped';
  await db.transaction((tx) =>
    stopLeadEnrollments(tx, {
      workspaceId: blocked.workspace_id,
      leadIds: [blocked.lead_id],
      status,
      reason: blocked.lead_status === 'active' ? 'suppressed' : `lead_${blocked.lead_status}`,
    }),
  );
  return true;
}
