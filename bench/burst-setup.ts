import { sql } from 'drizzle-orm';
import { feedDueRuns } from '../src/engine/maintenance';
import { enrollLeads } from '../src/engine/enroll';
import type { BenchEngine } from './engine';
import { seedLeads } from './seed';

/**
 * Enrolls `count` fresh leads in batches of 10,000 (the API's maximum), through the engine's own
 * `enrollLeads`. Returns the seconds spent enrolling (lead seeding is set-up and not counted).
 */
export async function enrollFresh(
  engine: BenchEngine,
  input: { workspaceId: string; sequenceId: string; count: number; firstIndex?: number; batch?: number },
): Promise<{ seconds: number; enrolled: number }> {
  const batch = input.batch ?? 10_000;
  const from = input.firstIndex ?? 0;
  let seconds = 0;
  let enrolled = 0;
  for (let i = 0; i < input.count; i += batch) {
    const size = Math.min(batch, input.count - i);
    const leads = await seedLeads(engine.deps, input.workspaceId, {
      from: from + i,
      to: from + i + size - 1,
    });
    const started = performance.now();
    const result = await enrollLeads(
      engine.deps,
      input.workspaceId,
      input.sequenceId,
      leads.map((l) => l.id),
    );
    seconds += (performance.now() - started) / 1000;
    if (!result.ok) throw new Error(`enrollment failed: ${result.error}`);
    if (result.skipped.length > 0)
      throw new Error(`${result.skipped.length} leads skipped, e.g. ${result.skipped[0]?.reason}`);
    enrolled += result.enrolled.length;
  }
  return { seconds, enrolled };
}

/**
 * The 9:00 window opening, compressed to a few seconds: every scheduled run of the workspace is made
 * due at one instant a little ahead, then the engine's own feeder moves them into Redis, exactly as
 * it does in the quarter hour before a window opens. Returns that instant and the runs' step index.
 */
export async function dueAtOnce(
  engine: BenchEngine,
  workspaceId: string,
  count: number,
): Promise<{ dueAt: Date; stepIndex: number }> {
  // Enough time for the feeder to hand every run to Redis before they fall due (~0.1 ms a run on a
  // quiet machine; the margin covers a busy one). The figures count from `dueAt`, so it costs nothing.
  const dueAt = new Date(Date.now() + 2000 + count * 0.6);
  const { rows } = await engine.deps.db.execute<{ step_index: number }>(sql`
    with moved as (
      update step_runs set run_at = ${dueAt}, due_at = ${dueAt}, enqueued_at = null
      where workspace_id = ${workspaceId} and status = 'scheduled'
      returning enrollment_id, step_index
    ), enrollments_moved as (
      update enrollments set next_run_at = ${dueAt} where id in (select enrollment_id from moved)
    )
    select distinct step_index from moved`);
  const stepIndex = rows[0]?.step_index;
  if (rows.length !== 1 || stepIndex === undefined) throw new Error('expected one scheduled step per lead');
  let fed = 0;
  // Bounded: the feeder takes at most 5,000 runs a pass, and there are `count` of them.
  for (let pass = 0; pass <= count / 1000 + 2 && fed < count; pass++) fed += await feedDueRuns(engine.deps);
  if (fed !== count) throw new Error(`the feeder enqueued ${fed} of ${count} runs`);
  if (Date.now() > dueAt.getTime() - 200)
    throw new Error(
      'feeding took longer than the lead time: the burst would start late; raise the lead time',
    );
  return { dueAt, stepIndex };
}
