import { sql } from 'drizzle-orm';
import type { DbOrTx } from '../db/client';
import {
  cancelScheduledRuns,
  type EnrollmentRef,
  type StopInput,
  type StoppedEnrollment,
  stopUpdate,
  toStopped,
} from '../timeline/enrollment-stops';

export {
  type StopInput,
  type StopStatus,
  type StoppedEnrollment,
  stopEnrollments,
  stopLeadEnrollments,
  stoppedEvents,
} from '../timeline/enrollment-stops';

/**
 * The stop a human reply makes: every live enrollment of the lead ends `replied`, and in the same
 * statement the enrollment the reply answers is found (the matched one, else the lead's most recent,
 * whatever its status), since its settings decide the rest of the reply's effects.
 */
export async function stopForReply(
  db: DbOrTx,
  input: { workspaceId: string; leadId: string; enrollmentId: string | null },
): Promise<{ stopped: StoppedEnrollment[]; context: StoppedEnrollment | null }> {
  const now = new Date();
  const stop: StopInput = {
    workspaceId: input.workspaceId,
    leadIds: [input.leadId],
    status: 'replied',
    reason: 'replied',
  };
  const matched = input.enrollmentId ? sql`and id = ${input.enrollmentId}` : sql``;
  const { rows } = await db.execute<EnrollmentRef & { context: boolean }>(sql`
    with stopped as (${stopUpdate(stop, now)}), context as (
      select id, lead_id, sequence_id, version from enrollments
      where lead_id = ${input.leadId} ${matched}
      order by created_at desc
      limit 1
    )
    select false as context, * from stopped
    union all
    select true, * from context`);
  const stopped = rows.filter((r) => !r.context).map(toStopped);
  const context = rows.find((r) => r.context);
  await cancelScheduledRuns(db, stopped, stop.reason, now);
  return { stopped, context: context ? toStopped(context) : null };
}
