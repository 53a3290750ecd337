import { sql } from 'drizzle-orm';
import type { Deps } from '../context';
import { resumeEnrollments } from './pause';
import { recordEvents } from '../timeline/events';
import { enqueueStepRuns } from '../queue/queues';
import { AB_PASS_INTERVAL_MS, promoteAbWinners } from './ab-winners';

type MaintenanceDeps = Pick<Deps, 'db' | 'queues' | 'config' | 'log'>;
type RunRow = { id: string; run_at: Date; generation: number } & Record<string, unknown>;

const BATCH = 5000;
const toRefs = (rows: RunRow[]) =>
  rows.map((r) => ({ id: r.id, runAt: new Date(r.run_at), generation: r.generation }));

/**
 * Feeder: moves runs that fall due within the horizon from Postgres into Redis. Rows are taken with
 * SKIP LOCKED, so several workers feed without overlap. If Redis refuses, the rows are released.
 */
export async function feedDueRuns(deps: MaintenanceDeps): Promise<number> {
  const { rows } = await deps.db.execute<RunRow>(sql`
    update step_runs set enqueued_at = now()
    where id in (
      select id from step_runs
      where status = 'scheduled' and enqueued_at is null
        and run_at < now() + make_interval(secs => ${deps.config.QUEUE_HORIZON_SECONDS})
      order by run_at
      limit ${BATCH}
      for update skip locked
    )
    returning id, run_at, generation`);
  if (rows.length === 0) return 0;
  try {
    await enqueueStepRuns(deps.queues, toRefs(rows));
  } catch (err) {
    await deps.db.execute(
      sql`update step_runs set enqueued_at = null where id = any(${rows.map((r) => r.id)}::uuid[])`,
    );
    throw err;
  }
  return rows.length;
}

/**
 * Due runs that should be in Redis but may have been lost, oldest first. They are found through the
 * due index first, then checked against their enrollment and sequence: `offset 0` keeps the
 * planner from starting at the other end. Right after a bulk enrollment the statistics are stale,
 * and a plan starting from the sequence's active enrollments probed step_runs once per enrollment
 * on every pass (20,000 probes a pass in the burst bench, with nothing to requeue).
 */
export const overdueRuns = (graceSeconds: number, limit: number) => sql`
  select sr.id, sr.run_at, sr.generation
  from (
    select id, run_at, generation, enrollment_id from step_runs
    where status = 'scheduled' and enqueued_at is not null
      and run_at < now() - make_interval(secs => ${graceSeconds})
    offset 0
  ) sr
  join enrollments e on e.id = sr.enrollment_id and e.status = 'active'
  join sequences s on s.id = e.sequence_id and s.status = 'active'
  order by sr.run_at
  limit ${limit}`;

/**
 * Reconciler, part 1: due runs that should be in Redis but may not be (FLUSHALL, a lost add) are
 * added again under the same job id, so a job that still exists is left alone.
 */
export async function requeueOverdueRuns(deps: MaintenanceDeps, graceSeconds: number): Promise<number> {
  const { rows } = await deps.db.execute<RunRow>(overdueRuns(graceSeconds, BATCH));
  await enqueueStepRuns(deps.queues, toRefs(rows));
  return rows.length;
}

/**
 * Reconciler, part 2: a claim whose lease ran out means its worker died (or stalled) between claim
 * and outcome. It is scheduled again under a new generation, so the old claim can no longer start
 * its hand-off or record an outcome, when nothing can have reached the lead (`handoff = 'pending'`)
 * or when its email is known to have left (its message row is `sent`: the retry records the send
 * without sending). Otherwise the lead may or may not have received the step, so the run becomes
 * `ambiguous` and is not resent. The hand-off mark is written to the run row itself, so a hand-off
 * starting while this statement runs is seen (Postgres re-checks the row it waited for).
 */
export async function expireLeases(deps: MaintenanceDeps): Promise<{ ambiguous: number; rerun: number }> {
  const rerun = sql`(sr.handoff = 'pending' or exists (
    select 1 from messages m
    where m.step_run_id = sr.id and m.step_run_generation = sr.generation
      and m.direction = 'outbound' and m.status = 'sent'))`;
  const { rows } = await deps.db.execute<{
    id: string;
    status: 'scheduled' | 'ambiguous';
    workspace_id: string;
    enrollment_id: string;
    lead_id: string;
  }>(sql`
    update step_runs sr set
      (status, reason, generation, attempts, handoff, claimed_at) = (
        select o.status, o.reason, o.generation, o.attempts, o.handoff, o.claimed_at
        from (values
          -- Run again under a new generation; the lost attempt does not count against its retries.
          (true, 'scheduled', 'worker_lost', sr.generation + 1, greatest(sr.attempts - 1, 0),
            null::text, null::timestamptz),
          (false, 'ambiguous', 'lease_expired', sr.generation, sr.attempts, sr.handoff, sr.claimed_at)
        ) o(again, status, reason, generation, attempts, handoff, claimed_at)
        where o.again = ${rerun}),
      enqueued_at = null, lease_until = null, updated_at = now()
    from enrollments e
    where sr.status = 'claimed' and sr.lease_until < now() and e.id = sr.enrollment_id
    returning sr.id, sr.status, sr.workspace_id, sr.enrollment_id, e.lead_id`);
  const ambiguous = rows.filter((r) => r.status === 'ambiguous');
  const again = rows.filter((r) => r.status === 'scheduled');
  if (ambiguous.length > 0)
    await recordEvents(
      deps.db,
      ambiguous.map((row) => ({
        workspaceId: row.workspace_id,
        type: 'step.ambiguous',
        leadId: row.lead_id,
        enrollmentId: row.enrollment_id,
        stepRunId: row.id,
        data: { reason: 'lease_expired' },
      })),
    );
  if (ambiguous.length > 0)
    deps.log.warn(
      { stepRunIds: ambiguous.map((r) => r.id) },
      'step runs ambiguous after lease expiry; not resent',
    );
  if (again.length > 0)
    deps.log.warn(
      { stepRunIds: again.map((r) => r.id) },
      'step runs whose worker was lost before the hand-off or after the send; running them again',
    );
  return { ambiguous: ambiguous.length, rerun: again.length };
}

let lastAbPassAt = 0;

/**
 * One maintenance pass: feed, requeue, expire leases, resume out-of-office pauses that are over,
 * and (every few minutes, not every pass: it counts sends and replies) promote A/B winners.
 */
export async function maintenancePass(deps: MaintenanceDeps) {
  const fed = await feedDueRuns(deps);
  const requeued = await requeueOverdueRuns(deps, Math.max(5, deps.config.MAINTENANCE_INTERVAL_SECONDS * 2));
  const { ambiguous, rerun } = await expireLeases(deps);
  const resumed = await resumeEnrollments(deps, { dueBy: new Date() });
  let promoted = 0;
  if (Date.now() - lastAbPassAt >= AB_PASS_INTERVAL_MS) {
    lastAbPassAt = Date.now();
    promoted = await promoteAbWinners(deps);
  }
  return { fed, requeued, ambiguous, rerun, resumed: resumed.length, promoted };
}
