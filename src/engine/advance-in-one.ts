import { getTableColumns, type SQL, sql } from 'drizzle-orm';
import type { Deps } from '../context';
import type { DbOrTx } from '../db/client';
import { enrollments } from '../db/schema/index';
import { inTransaction, retryingAborts } from '../db/transaction';
import {
  type EventInput,
  eventsSql,
  type RecordedEvents,
  settleRecordedEvents,
} from '../modules/events/events.service';
import type { ChannelResult, StepContext } from './channel';
import type { RunRef } from './dispatch';
import type { PlannedStep } from './plan';

export type Outcome = {
  status: 'sent' | 'failed';
  reason: string | null;
  data: Record<string, unknown>;
  event: EventInput;
  enrollmentPatch?: Extract<ChannelResult, { kind: 'sent' }>['enrollmentPatch'];
  next: { planned: PlannedStep; runAt: Date };
  /** The workspace's scoring threshold: when set, the event may promote the lead. */
  qualifyThreshold: number | null;
};

const columns = getTableColumns(enrollments);

/**
 * The common advance, a step done with another one after it, as ONE statement: lock the enrollment,
 * record the run's outcome and its event (activity, score, webhook outbox), and, if the enrollment is
 * still live, insert the next run and point the enrollment at it. A single statement is its own
 * transaction, so it is exactly as atomic as the general path in `step-runner.ts`, in one round trip
 * instead of about eight. The enrollment row is locked first (`FOR UPDATE` in the first CTE), so a
 * reply that stopped it committed before (the next run is not written) or waits until this commits
 * (and then cancels the next run like any scheduled one). When the workspace has a qualification
 * threshold, the promotion that the event may trigger joins it in one transaction.
 */
export async function advanceInOne(deps: Deps, ctx: StepContext, outcome: Outcome): Promise<RunRef | null> {
  const { planned, runAt } = outcome.next;
  const patch = Object.entries(outcome.enrollmentPatch ?? {}).flatMap(([key, value]): SQL[] => {
    const column = columns[key as keyof typeof columns];
    return column && value !== undefined ? [sql`${sql.identifier(column.name)} = ${value}`] : [];
  });
  const events = eventsSql([outcome.event]);
  const variant = typeof outcome.data.variant === 'number' ? outcome.data.variant : null;
  const statement = sql`
    with e as (
      select id, status in ('active', 'paused') as live from enrollments where id = ${ctx.enrollment.id} for update
    ), done as (
      update step_runs set status = ${outcome.status}, reason = ${outcome.reason},
        result = ${JSON.stringify(outcome.data)}::jsonb, variant = ${variant}, executed_at = now(),
        lease_until = null, updated_at = now()
      where id = ${ctx.run.id} and status in ('claimed', 'ambiguous')
    ), next_run as (
      insert into step_runs (workspace_id, enrollment_id, step_id, step_index, step_type, run_at, due_at)
      select ${ctx.enrollment.workspaceId}, e.id, ${planned.step.id}, ${planned.index}, ${planned.step.type},
        ${runAt}, ${runAt}
      from e where e.live
      -- The (enrollment, step) pair is unique: a step is in the ledger at most once, ever.
      on conflict do nothing
      returning id, run_at, generation
    ), moved as (
      update enrollments en set
        ${patch.length > 0 ? sql`${sql.join(patch, sql`, `)},` : sql``}
        current_step_id = case when e.live then ${planned.step.id} else en.current_step_id end,
        next_run_at = case when e.live then ${runAt}::timestamptz else en.next_run_at end,
        updated_at = case when e.live then now() else en.updated_at end
      from e where en.id = e.id and (e.live or ${patch.length > 0})
    ), ${events.ctes}
    select (select row_to_json(next_run) from next_run) as next_run, ${events.ids} as ids,
      ${events.promote} as promote`;
  const run = async (db: DbOrTx) => {
    const { rows } = await db.execute<RecordedEvents & { next_run: NextRunJson | null }>(statement);
    await settleRecordedEvents(db, 1, rows[0]);
    const next = rows[0]?.next_run;
    return next ? { id: next.id, runAt: new Date(next.run_at), generation: next.generation } : null;
  };
  return outcome.qualifyThreshold === null
    ? retryingAborts(deps, () => run(deps.db))
    : inTransaction(deps, (tx) => run(tx));
}

type NextRunJson = { id: string; run_at: string; generation: number };
