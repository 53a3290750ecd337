import { and, eq, isNotNull, lte, sql } from 'drizzle-orm';
import { anyOf } from '../db/any-of';
import type { Deps } from '../context';
import type { DbOrTx, Tx } from '../db/client';
import { enrollments, stepRuns } from '../db/schema/index';
import { dispatchRuns } from './dispatch';
import { recordEvents } from '../timeline/events';
import { channelStepTypes } from '../core/step-types';
import { windowed } from './advance';
import { loadVersion } from './versions';

/**
 * Pauses live enrollments. Their scheduled run stays in the ledger; its job finds the enrollment
 * paused at claim time and does nothing. `until` makes the pause resume by itself (out-of-office).
 */
export async function pauseEnrollments(
  db: DbOrTx,
  input: {
    workspaceId: string;
    leadIds?: string[];
    enrollmentIds?: string[];
    until?: Date | null;
    reason: string;
  },
): Promise<string[]> {
  const target = input.enrollmentIds
    ? anyOf(enrollments.id, input.enrollmentIds, 'uuid')
    : anyOf(enrollments.leadId, input.leadIds ?? [], 'uuid');
  const rows = await db
    .update(enrollments)
    .set({ status: 'paused', resumeAt: input.until ?? null, reason: input.reason, updatedAt: new Date() })
    .where(and(eq(enrollments.workspaceId, input.workspaceId), target, eq(enrollments.status, 'active')))
    .returning({ id: enrollments.id, leadId: enrollments.leadId });
  // One statement for all of them: pausing a sequence pauses every live enrollment at once.
  await recordEvents(
    db,
    rows.map((row) => ({
      workspaceId: input.workspaceId,
      type: 'enrollment.paused',
      leadId: row.leadId,
      enrollmentId: row.id,
      data: { reason: input.reason, until: input.until?.toISOString() ?? null },
    })),
  );
  return rows.map((r) => r.id);
}

/**
 * Resumes paused enrollments: the pending run keeps its place in the sequence and runs now if it
 * fell due during the pause, or, for a channel step, when the lead's sending window next opens (a
 * lead back from an out-of-office at 3 a.m. is not written to at 3 a.m., nor on a holiday). Nothing
 * already sent is repeated, because sent runs are terminal.
 */
export async function resumeEnrollments(
  deps: Pick<Deps, 'db' | 'queues' | 'config' | 'log'>,
  input: { workspaceId?: string; enrollmentIds?: string[]; dueBy?: Date },
): Promise<string[]> {
  const now = new Date();
  const resumed = await deps.db.transaction(async (tx) => {
    const conditions = [eq(enrollments.status, 'paused')];
    if (input.workspaceId) conditions.push(eq(enrollments.workspaceId, input.workspaceId));
    if (input.enrollmentIds) conditions.push(anyOf(enrollments.id, input.enrollmentIds, 'uuid'));
    if (input.dueBy) conditions.push(isNotNull(enrollments.resumeAt), lte(enrollments.resumeAt, input.dueBy));
    const rows = await tx
      .update(enrollments)
      .set({ status: 'active', resumeAt: null, reason: null, updatedAt: now })
      .where(and(...conditions))
      .returning({ id: enrollments.id, leadId: enrollments.leadId, workspaceId: enrollments.workspaceId });
    if (rows.length === 0) return { rows, runs: [] };
    const due = await tx
      .update(stepRuns)
      .set({
        runAt: sql`greatest(${stepRuns.runAt}, now())`,
        generation: sql`${stepRuns.generation} + 1`,
        enqueuedAt: null,
        updatedAt: now,
      })
      .where(
        and(
          anyOf(
            stepRuns.enrollmentId,
            rows.map((r) => r.id),
            'uuid',
          ),
          eq(stepRuns.status, 'scheduled'),
        ),
      )
      .returning({
        id: stepRuns.id,
        runAt: stepRuns.runAt,
        runAtText: sql<string>`${stepRuns.runAt}::text`,
        generation: stepRuns.generation,
        enrollmentId: stepRuns.enrollmentId,
        // Fell due during the pause: its new time is now(), or before this call's clock (which
        // tests set ahead of the database's).
        overdue: sql<boolean>`${stepRuns.runAt} <= greatest(now(), ${now.toISOString()}::timestamptz)`,
      });
    const placed = await placeOverdueRuns(
      tx,
      due.filter((r) => r.overdue).map((r) => r.id),
      now,
    );
    const runs = due.map(({ overdue: _overdue, ...run }) => {
      const at = placed.get(run.id);
      return at ? { ...run, runAt: at, runAtText: at.toISOString() } : run;
    });
    // Each enrollment's next run time is its pending run's (none: null), for all in one statement
    // that reaches each enrollment by primary key whatever the statistics say (a subquery per
    // enrollment walked step_runs once each when they were stale). The time travels as Postgres
    // text: a JavaScript Date would drop its microseconds.
    const runAt = new Map(runs.map((r) => [r.enrollmentId, r.runAtText]));
    await tx.execute(sql`
      update enrollments e set next_run_at = x.run_at
      from unnest(${sql.param(rows.map((r) => r.id))}::uuid[],
        ${sql.param(rows.map((r) => runAt.get(r.id) ?? null))}::timestamptz[]) as x(id, run_at)
      where e.id = x.id`);
    await recordEvents(
      tx,
      rows.map((row) => ({
        workspaceId: row.workspaceId,
        type: 'enrollment.resumed',
        leadId: row.leadId,
        enrollmentId: row.id,
      })),
    );
    return { rows, runs };
  });
  // After commit: a job added before commit could run before the row says `active`.
  await dispatchRuns(deps, resumed.runs);
  return resumed.rows.map((r) => r.id);
}

type OverdueRun = {
  id: string;
  step_id: string;
  step_type: string;
  sequence_id: string;
  version: number;
  lead_id: string;
  timezone: string | null;
  country: string | null;
  workspace_timezone: string;
  workspace_country: string | null;
};

/**
 * Moves the overdue channel runs among `runIds` into their lead's sending window, at the instant
 * `windowed` gives every other placement of the same step (so a retry lands on it too), and returns
 * the runs it moved with their new time. Runs still due later were placed when they were scheduled
 * and keep their time; so does a run whose window is open now.
 */
async function placeOverdueRuns(tx: Tx, runIds: string[], now: Date): Promise<Map<string, Date>> {
  const placed = new Map<string, Date>();
  if (runIds.length === 0) return placed;
  const { rows } = await tx.execute<OverdueRun>(sql`
    select r.id, r.step_id, r.step_type, e.sequence_id, e.version, l.id as lead_id, l.timezone, l.country,
      w.timezone as workspace_timezone, w.country as workspace_country
    from step_runs r
    join enrollments e on e.id = r.enrollment_id
    join leads l on l.id = e.lead_id
    join workspaces w on w.id = e.workspace_id
    where r.id = any(${sql.param(runIds)}::uuid[])
      and r.step_type = any(${sql.param([...channelStepTypes])}::text[])`);
  for (const run of rows) {
    // Versions are cached for the process by `loadVersion`: one query per version at most.
    const definition = await loadVersion(tx, run.sequence_id, run.version);
    if (!definition) continue;
    const runAt = windowed(now, {
      lead: { id: run.lead_id, timezone: run.timezone, country: run.country },
      definition,
      workspaceTimezone: run.workspace_timezone,
      workspaceCountry: run.workspace_country,
      step: { id: run.step_id, type: run.step_type },
    });
    if (runAt.getTime() > now.getTime()) placed.set(run.id, runAt);
  }
  if (placed.size === 0) return placed;
  await tx.execute(sql`
    update step_runs r set run_at = x.run_at
    from unnest(${sql.param([...placed.keys()])}::uuid[],
      ${sql.param([...placed.values()].map((d) => d.toISOString()))}::timestamptz[]) as x(id, run_at)
    where r.id = x.id`);
  return placed;
}
