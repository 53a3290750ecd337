import { sql } from 'drizzle-orm';
import type { Deps } from '../context';
import type { DbOrTx } from '../db/client';
import { inTransaction, retryingAborts } from '../db/transaction';
import { type EventInput, eventsSql, type RecordedEvents, settleRecordedEvents } from '../timeline/events';
import type { ChannelResult } from './channel';
import type { RunRef } from './dispatch';
import type { PlannedStep } from '../core/plan';
import { prepared } from '../db/prepared';

export type EnrollmentPatch = NonNullable<Extract<ChannelResult, { kind: 'sent' }>['enrollmentPatch']>;

export type Outcome = {
  workspaceId: string;
  enrollmentId: string;
  runId: string;
  /** The generation the run was claimed at: an outcome only lands on the claim it belongs to. */
  generation: number;
  status: 'sent' | 'failed';
  reason: string | null;
  data: Record<string, unknown>;
  event: EventInput;
  enrollmentPatch?: EnrollmentPatch;
  /** The channel's message row to mark `sent` (see `ChannelResult`). */
  sentMessageRowId?: string;
  next: { planned: PlannedStep; runAt: Date };
  /** The workspace's scoring threshold: when set, the event may promote the lead. */
  qualifyThreshold: number | null;
};

/**
 * The channel's message rows the server took: `sending` becomes `sent`, whether or not the claim is
 * still current (its lease may have run out during the exchange). Both ways of recording an outcome
 * (`advanceRuns` and the step runner's own transaction) use it.
 */
export const messagesSent = (ids: string[]) =>
  sql`update messages set status = 'sent' where id = any(${sql.param(ids)}::uuid[]) and status = 'sending'`;

/**
 * The common advance, a step done with another one after it, for a batch of runs (of distinct
 * enrollments) in ONE statement: lock the enrollments, record each run's outcome and its event
 * (activity, score, webhook outbox), and, for each enrollment still live, insert the next run and
 * point the enrollment at it. A statement is its own transaction, so this is exactly as atomic as
 * the general path in `step-runner.ts`, in one round trip and one commit instead of about eight
 * each. The enrollment rows are locked first (`FOR UPDATE`, in id order), so a reply that stopped
 * one committed before (its next run is not written) or waits until this commits (and then cancels
 * the next run like any scheduled one). When a workspace has a qualification threshold, the
 * promotions the events may trigger join the statement in one transaction. Every effect hangs on
 * the run still being claimed, so the statement run again (its reply lost with the connection)
 * changes nothing that its first run committed.
 * Returns, per outcome, the next run to dispatch (null when the enrollment was no longer live).
 */
export async function advanceRuns(deps: Deps, outcomes: Outcome[]): Promise<(RunRef | null)[]> {
  const rows = outcomes.map((o, ord) => ({
    ord,
    workspace_id: o.workspaceId,
    enrollment_id: o.enrollmentId,
    run_id: o.runId,
    generation: o.generation,
    status: o.status,
    reason: o.reason,
    result: o.data,
    variant: typeof o.data.variant === 'number' ? o.data.variant : null,
    step_id: o.next.planned.step.id,
    step_index: o.next.planned.index,
    step_type: o.next.planned.step.type,
    run_at: o.next.runAt,
    patch: o.enrollmentPatch ?? {},
  }));
  // Only the runs this statement recorded get an event: run again after its commit, it does nothing.
  const events = eventsSql(
    outcomes.map((o) => o.event),
    sql`x.step_run_id in (select id from done)`,
  );
  // Every row is reached through its primary key as `= any(array)`, never through a join the
  // planner could turn into a scan when statistics are stale (right after a bulk enrollment).
  const enrollmentIds = sql`${sql.param(outcomes.map((o) => o.enrollmentId))}::uuid[]`;
  const runIds = sql`${sql.param(outcomes.map((o) => o.runId))}::uuid[]`;
  const sentMessageIds = outcomes.flatMap((o) => (o.sentMessageRowId ? [o.sentMessageRowId] : []));
  const statement = prepared(sql`
    with x as materialized (
      select * from json_to_recordset(${JSON.stringify(rows)}::json) as x(ord int, workspace_id uuid,
        enrollment_id uuid, run_id uuid, generation int, status text, reason text, result jsonb, variant int,
        step_id text, step_index int, step_type text, run_at timestamptz, patch jsonb)
    ), e as (
      select id, status in ('active', 'paused') as live from enrollments
      where id = any(${enrollmentIds})
      order by id
      for update
    ), sent_message as (${messagesSent(sentMessageIds)}
    ), done as (
      update step_runs sr set status = x.status, reason = x.reason, result = x.result, variant = x.variant,
        executed_at = now(), lease_until = null, updated_at = now()
      from x
      where sr.id = x.run_id and sr.id = any(${runIds}) and sr.generation = x.generation
        and sr.status in ('claimed', 'ambiguous')
      returning sr.id
    ), next_run as (
      insert into step_runs (workspace_id, enrollment_id, step_id, step_index, step_type, run_at, due_at)
      select x.workspace_id, x.enrollment_id, x.step_id, x.step_index, x.step_type, x.run_at, x.run_at
      from x join e on e.id = x.enrollment_id
      where e.live and x.run_id in (select id from done)
      -- The (enrollment, step) pair is unique: a step is in the ledger at most once, ever.
      on conflict do nothing
      returning id, enrollment_id, run_at, generation
    ), moved as (
      update enrollments en set
        thread_message_id = case when x.patch ? 'threadMessageId' then x.patch ->> 'threadMessageId'
          else en.thread_message_id end,
        thread_subject = case when x.patch ? 'threadSubject' then x.patch ->> 'threadSubject'
          else en.thread_subject end,
        mailbox_id = case when x.patch ? 'mailboxId' then (x.patch ->> 'mailboxId')::uuid else en.mailbox_id end,
        linkedin_account_id = case when x.patch ? 'linkedinAccountId' then (x.patch ->> 'linkedinAccountId')::uuid
          else en.linkedin_account_id end,
        current_step_id = case when e.live then x.step_id else en.current_step_id end,
        next_run_at = case when e.live then x.run_at else en.next_run_at end,
        updated_at = case when e.live then now() else en.updated_at end
      from x join e on e.id = x.enrollment_id
      where en.id = x.enrollment_id and en.id = any(${enrollmentIds}) and (e.live or x.patch <> '{}'::jsonb)
        and x.run_id in (select id from done)
    ), ${events.ctes}
    select (select json_agg(json_build_object('enrollmentId', enrollment_id, 'id', id, 'runAt', run_at,
        'generation', generation)) from next_run) as next_runs,
      ${events.ids} as ids, ${events.promote} as promote, (select count(*)::int from done) as done`);
  const run = async (db: DbOrTx) => {
    const result = await db.execute<RecordedEvents & { next_runs: NextRunJson[] | null; done: number }>(
      statement,
    );
    const row = result.rows[0];
    await settleRecordedEvents(db, row?.done ?? 0, row);
    const next = new Map((row?.next_runs ?? []).map((r) => [r.enrollmentId, r]));
    return outcomes.map((o): RunRef | null => {
      const r = next.get(o.enrollmentId);
      return r ? { id: r.id, runAt: new Date(r.runAt), generation: r.generation } : null;
    });
  };
  return outcomes.every((o) => o.qualifyThreshold === null)
    ? retryingAborts(deps, () => run(deps.db))
    : inTransaction(deps, (tx) => run(tx));
}

type NextRunJson = { enrollmentId: string; id: string; runAt: string; generation: number };
