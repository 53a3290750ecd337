import { and, eq, isNotNull, lte, sql } from 'drizzle-orm';
import { anyOf } from '../db/any-of';
import type { Deps } from '../context';
import type { DbOrTx } from '../db/client';
import { enrollments, stepRuns } from '../db/schema/index';
import { dispatchRuns } from './dispatch';
import { recordEvents } from '../timeline/events';

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
 * fell due during the pause. Nothing already sent is repeated, because sent runs are terminal.
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
    const runs = await tx
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
