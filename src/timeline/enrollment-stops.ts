/**
 * Stopping enrollments, as data: the one definition of a stop that the engine's stop rules (replies,
 * bounces, unsubscribes, manual stops) and the pipeline (a lead moved to a won or lost stage) share.
 * It lives below the engine because a stage move, at this layer, must be able to stop cadences.
 */
import { type SQL, sql } from 'drizzle-orm';
import type { DbOrTx } from '../db/client';
import type { EnrollmentStatus } from '../db/schema/index';
import { type EventInput, recordEvents } from './events';
import { movesSql, type StageMoveInput } from './stage-moves';

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
export type StoppedEnrollment = {
  id: string;
  leadId: string;
  sequenceId: string;
  version: number;
  /** Its runs already handed to their channel when the stop committed: they may still deliver. */
  inFlight?: string[];
};

export type EnrollmentRef = { id: string; lead_id: string; sequence_id: string; version: number };
export const toStopped = (r: EnrollmentRef): StoppedEnrollment => ({
  id: r.id,
  leadId: r.lead_id,
  sequenceId: r.sequence_id,
  version: r.version,
});

/** The one definition of a stop: live (active or paused) enrollments end, with nothing left to run. */
export function stopUpdate(input: StopInput, now: Date): SQL {
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
 * Cancels the scheduled runs of stopped enrollments, and notes on each stopped enrollment the runs
 * already in flight (`claimed`, hand-off started): their hand-off check committed before the stop,
 * so their message may still leave, and the stop's event says so. A statement of its own, after the
 * stop: its snapshot then includes a run that a concurrent advance committed while the stop waited
 * for the enrollment's row lock (a CTE of the stop statement would not see it, and leave it
 * scheduled), and the hand-off of any run whose check held the row before the stop took it.
 */
export async function cancelScheduledRuns(
  db: DbOrTx,
  stopped: StoppedEnrollment[],
  reason: string,
  now: Date,
) {
  if (stopped.length === 0) return;
  const ids = sql.param(stopped.map((e) => e.id));
  const { rows } = await db.execute<{ id: string; enrollment_id: string }>(sql`
    with canceled as (
      update step_runs set status = 'canceled', reason = ${reason}, updated_at = ${now}
      where enrollment_id = any(${ids}::uuid[]) and status = 'scheduled'
    )
    select id, enrollment_id from step_runs
    where enrollment_id = any(${ids}::uuid[]) and status = 'claimed' and handoff = 'started'`);
  if (rows.length === 0) return;
  const byId = new Map(stopped.map((e) => [e.id, e]));
  for (const row of rows) {
    const enrollment = byId.get(row.enrollment_id);
    if (enrollment) enrollment.inFlight = [...(enrollment.inFlight ?? []), row.id];
  }
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
    data: { status: input.status, reason: input.reason, ...(e.inFlight ? { inFlight: e.inFlight } : {}) },
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

/**
 * A lead moved into a won or lost stage ends its live enrollments (`stopped`, reason
 * `stage_closed`), except those whose sequence version opts out with `settings.stopOnClose: false`
 * and the one whose own `stage` step made the move (it runs on to its end).
 * It runs before the move itself, so enrollments are locked before their lead, in the order every
 * other path (a reply, a step's advance) takes them; `movesSql` makes it stop exactly the leads the
 * move then moves. Nothing happens when the target stage is open. Returns the stops with their events.
 */
export async function stopForClosedStage(
  db: DbOrTx,
  input: StageMoveInput,
): Promise<{ stopped: StoppedEnrollment[]; events: EventInput[] }> {
  if (input.leadIds.length === 0) return { stopped: [], events: [] };
  const now = input.at ?? new Date();
  const reason = 'stage_closed';
  const byEnrollment = input.byEnrollment ? sql`and e.id <> ${input.byEnrollment}` : sql``;
  const { rows } = await db.execute<EnrollmentRef>(sql`
    update enrollments e set status = 'stopped', reason = ${reason}, next_run_at = null,
      ended_at = ${now}, updated_at = ${now}
    from leads l
    where l.id = e.lead_id and l.workspace_id = ${input.workspaceId}
      and e.workspace_id = ${input.workspaceId} and e.lead_id = any(${sql.param(input.leadIds)}::uuid[])
      and e.status in ('active', 'paused') and l.erased_at is null ${byEnrollment}
      and exists (select 1 from stages s where s.workspace_id = ${input.workspaceId}
        and s.key = ${input.toStage} and s.kind in ('won', 'lost'))
      and ${movesSql(input, sql`l`)}
      and coalesce((select (v.definition #>> '{settings,stopOnClose}')::boolean from sequence_versions v
        where v.sequence_id = e.sequence_id and v.version = e.version), true)
    returning e.id, e.lead_id, e.sequence_id, e.version`);
  const stopped = rows.map(toStopped);
  await cancelScheduledRuns(db, stopped, reason, now);
  return {
    stopped,
    events: stoppedEvents({ workspaceId: input.workspaceId, status: 'stopped', reason }, stopped),
  };
}
