import { and, eq, sql } from 'drizzle-orm';
import type { Db, DbOrTx } from '../db/client';
import { events, workspaces } from '../db/schema/index';
import { recordEvent } from './events';
import { bulkChangeStage } from './stages';
import { listStages } from './stage-moves';

/** A workspace's clean-up: leads idle `staleDays` move to `toStage`, every `everyHours`. */
export type CleanupSchedule = { staleDays: number; toStage: string; everyHours: number };

export type CleanupOutcome = { ok: true; moved: number } | { ok: false; error: 'unknown_stage' };

/** The event each clean-up run leaves (workspace-level), which the schedule reads as its last run. */
export const CLEANUP_EVENT = 'pipeline.cleanup';

/**
 * Moves every live lead that sits in an open stage and has had no activity for `staleDays` to
 * `toStage`, with stage events (source `cleanup`), in the caller's transaction.
 */
export async function cleanupStaleLeads(
  db: DbOrTx,
  workspaceId: string,
  input: { staleDays: number; toStage: string },
  now = new Date(),
): Promise<CleanupOutcome> {
  const stageList = await listStages(db, workspaceId);
  if (!stageList.some((s) => s.key === input.toStage)) return { ok: false, error: 'unknown_stage' };
  const open = stageList.filter((s) => s.kind === 'open').map((s) => s.key);
  const cutoff = new Date(now.getTime() - input.staleDays * 86_400_000);
  const stale = await db.execute<{ id: string }>(sql`
    select id from leads
    where workspace_id = ${workspaceId} and erased_at is null and stage <> ${input.toStage}
      and stage = any(${sql.param(open)}::text[]) and last_activity_at < ${cutoff}`);
  const result = await bulkChangeStage(db, {
    workspaceId,
    leadIds: stale.rows.map((r) => r.id),
    toStage: input.toStage,
    reason: `stale_${input.staleDays}d`,
    source: 'cleanup',
    onlyFrom: open,
    at: now,
  });
  if (!result.ok) return result;
  await recordEvent(db, {
    workspaceId,
    type: CLEANUP_EVENT,
    data: { staleDays: input.staleDays, toStage: input.toStage, moved: result.moved.length },
    at: now,
  });
  return { ok: true, moved: result.moved.length };
}

export async function getCleanupSchedule(db: DbOrTx, workspaceId: string) {
  const [ws] = await db
    .select({ settings: workspaces.settings })
    .from(workspaces)
    .where(eq(workspaces.id, workspaceId));
  const [last] = await db
    .select({ at: sql<Date | null>`max(${events.at})`.mapWith((v) => (v ? new Date(v) : null)) })
    .from(events)
    .where(and(eq(events.workspaceId, workspaceId), eq(events.type, CLEANUP_EVENT)));
  return { schedule: ws?.settings.cleanup ?? null, lastRunAt: last?.at ?? null };
}

/** Sets (or, with null, removes) the schedule; refuses a target stage the workspace does not have. */
export async function setCleanupSchedule(
  db: DbOrTx,
  workspaceId: string,
  schedule: CleanupSchedule | null,
): Promise<{ ok: true } | { ok: false; error: 'unknown_stage' }> {
  if (schedule && !(await listStages(db, workspaceId)).some((s) => s.key === schedule.toStage)) {
    return { ok: false, error: 'unknown_stage' };
  }
  await db.execute(sql`
    update workspaces set settings = settings || jsonb_build_object('cleanup', ${JSON.stringify(schedule)}::jsonb),
      updated_at = now()
    where id = ${workspaceId}`);
  return { ok: true };
}

/**
 * One tick of the scheduled clean-up: each workspace whose schedule is due runs once. The due check
 * and the run share a transaction holding a per-workspace advisory lock, and the run's event commits
 * with it, so two workers ticking together run it once. Returns how many workspaces ran.
 */
export async function runScheduledCleanups(db: Db, now = new Date()): Promise<number> {
  const scheduled = await db
    .select({ id: workspaces.id })
    .from(workspaces)
    .where(sql`jsonb_typeof(${workspaces.settings} -> 'cleanup') = 'object'`);
  let ran = 0;
  for (const { id } of scheduled) {
    const didRun = await db.transaction(async (tx) => {
      const lock = await tx.execute<{ locked: boolean }>(
        sql`select pg_try_advisory_xact_lock(hashtextextended(${`cleanup:${id}`}, 0)) as locked`,
      );
      if (!lock.rows[0]?.locked) return false;
      const { schedule, lastRunAt } = await getCleanupSchedule(tx, id);
      if (!schedule) return false;
      if (lastRunAt && lastRunAt.getTime() + schedule.everyHours * 3_600_000 > now.getTime()) return false;
      const result = await cleanupStaleLeads(tx, id, schedule, now);
      return result.ok;
    });
    if (didRun) ran++;
  }
  return ran;
}
