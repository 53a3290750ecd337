import { type SQL, sql } from 'drizzle-orm';
import type { DbOrTx } from '../db/client';
import type { EnrollmentStatus } from '../db/schema/index';
import { type EventInput, recordEvents } from '../timeline/events';

export type StopStatus = Extract<
  EnrollmentStatus,
  'replied' | 'stopped' | 'bounced' | 'unsubscribed' | 'failed' | 'completed'
>;

export type StopInput = {
  workspaceId: string;
  leadIds: string[];
  status: StopStatus;
  reason: string;
  /** Limit the stop to these enrollments (a manual stop of one enrollment). */
  onlyEnrollmentIds?: string[];
};

/** An enrollment a stop ended, with the version it ran (its settings say what else a reply does). */
export type StoppedEnrollment = { id: string; leadId: string; sequenceId: string; version: number };

type EnrollmentRef = { id: string; lead_id: string; sequence_id: string; version: number };
const toStopped = (r: EnrollmentRef): StoppedEnrollment => ({
  id: r.id,
  leadId: r.lead_id,
  sequenceId: r.sequence_id,
  version: r.version,
});

/** The one definition of a stop: live (active or paused) enrollments end, with nothing left to run. */
function stopUpdate(input: StopInput, now: Date): SQL {
  const only = input.onlyEnrollmentIds
    ? sql`and id = any(${sql.param(input.onlyEnrollmentIds)}::uuid[])`
    : sql``;
  return sql`
    update enrollments set status = ${input.status}, reason = ${input.reason}, next_run_at = null,
      ended_at = ${now}, updated_at = ${now}
    where workspace_id = ${input.workspaceId} and lead_id = any(${sql.param(input.leadIds)}::uuid[])
      and status in ('active', 'paused') ${only}
    returning id, lead_id, sequence_id, version`;
}

/**
 * Cancels the scheduled runs of stopped enrollments. A statement of its own, after the stop: its
 * snapshot then includes a run that a concurrent advance committed while the stop waited for the
 * enrollment's row lock (a CTE of the stop statement would not see it, and leave it scheduled).
 */
async function cancelScheduledRuns(db: DbOrTx, stopped: StoppedEnrollment[], reason: string, now: Date) {
  if (stopped.length === 0) return;
  await db.execute(sql`
    update step_runs set status = 'canceled', reason = ${reason}, updated_at = ${now}
    where enrollment_id = any(${sql.param(stopped.map((e) => e.id))}::uuid[]) and status = 'scheduled'`);
}

/**
 * Ends every live (active or paused) enrollment of the given leads and cancels their scheduled runs,
 * in the caller's transaction, without recording events: the caller records `stoppedEvents` with
 * its own. A run already `claimed` is left to its worker: the claim re-checks the enrollment and the
 * advance step refuses to schedule anything after this commit.
 */
export async function stopEnrollments(db: DbOrTx, input: StopInput): Promise<StoppedEnrollment[]> {
  if (input.leadIds.length === 0) return [];
  const now = new Date();
  const { rows } = await db.execute<EnrollmentRef>(stopUpdate(input, now));
  const stopped = rows.map(toStopped);
  await cancelScheduledRuns(db, stopped, input.reason, now);
  return stopped;
}

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

/** The `enrollment.stopped` events of a stop. */
export function stoppedEvents(
  input: Pick<StopInput, 'workspaceId' | 'status' | 'reason'>,
  stopped: StoppedEnrollment[],
): EventInput[] {
  return stopped.map((e) => ({
    workspaceId: input.workspaceId,
    type: 'enrollment.stopped',
    leadId: e.leadId,
    enrollmentId: e.id,
    data: { status: input.status, reason: input.reason },
  }));
}

/** `stopEnrollments` with its `enrollment.stopped` events recorded, for callers with no events of their own. */
export async function stopLeadEnrollments(
  db: DbOrTx,
  input: StopInput,
): Promise<{ enrollmentIds: string[] }> {
  const stopped = await stopEnrollments(db, input);
  await recordEvents(db, stoppedEvents(input, stopped));
  return { enrollmentIds: stopped.map((e) => e.id) };
}
