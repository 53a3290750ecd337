import { sql } from 'drizzle-orm';
import type { Db } from '../db/client';
import { fromJsonRow } from '../db/json-row';
import { enrollments, leads, stepRuns } from '../db/schema/index';
import type { EnrollmentRow, LeadRow, StepRunRow } from './channel';
import { stepAllowed } from './liveness';
import { prepared } from '../db/prepared';

export type ClaimedRun = {
  run: StepRunRow;
  enrollment: EnrollmentRow;
  lead: LeadRow;
  workspaceTimezone: string;
  workspaceCountry: string | null;
  /** The workspace's scoring threshold: when set, recording an event may promote the lead. */
  qualifyThreshold: number | null;
};

export type ClaimRequest = { stepRunId: string; generation: number };

/**
 * Atomically claims runs: each must still be `scheduled` at its generation and due, its enrollment
 * and sequence `active`, its lead active and not suppressed. The enrollment and lead rows are read
 * `FOR SHARE`, so a reply or unsubscribe that commits first always wins: its update makes this
 * statement re-check the rows and leave that run alone. The same statement returns what each step
 * needs (enrollment, lead, workspace time zone): claiming is one round trip and one commit for a
 * whole batch (`step-batches.ts` gathers the jobs that start together). The map holds the runs
 * claimed; a request missing from it has nothing to do.
 */
export async function claimStepRuns(
  /** The pool, never a transaction: the claim commits on its own (and asynchronously). */
  db: Db,
  requests: ClaimRequest[],
  leaseSeconds: number,
): Promise<Map<string, ClaimedRun>> {
  const ids = requests.map((r) => r.stepRunId);
  const generations = requests.map((r) => r.generation);
  const { rows } = await db.execute<{
    run: Record<string, unknown>;
    enrollment: Record<string, unknown>;
    lead: Record<string, unknown>;
    workspace_timezone: string;
    workspace_country: string | null;
    qualify_threshold: number | null;
  }>(
    prepared(sql`
    with claimed as (
      update step_runs set status = 'claimed', claimed_at = now(),
        lease_until = now() + make_interval(secs => ${leaseSeconds}),
        attempts = attempts + 1, handoff = 'pending', updated_at = now()
      where id in (
        -- Runs are looked up by id first, and the sequence through its enrollment (the subqueries
        -- with offset 0 keep the planner from reordering): right after a bulk enrollment the
        -- statistics are stale, and a plan starting from the sequence's enrollments or from the
        -- due index would walk every run of the burst for each claim.
        select sr.id
        from (select * from step_runs where id = any(${sql.param(ids)}::uuid[]) offset 0) sr
        join enrollments e on e.id = sr.enrollment_id
        join leads l on l.id = e.lead_id
        cross join lateral (select status from sequences where id = e.sequence_id offset 0) s
        where sr.generation = (${sql.param(generations)}::int[])[array_position(${sql.param(ids)}::uuid[], sr.id)]
          and sr.status = 'scheduled'
          and sr.run_at <= now() + interval '2 seconds'
          and ${stepAllowed}
        order by sr.id
        for update of sr for share of e, l
      )
      returning *
    )
    select row_to_json(c) as run, row_to_json(e) as enrollment, row_to_json(l) as lead,
      w.timezone as workspace_timezone, w.country as workspace_country,
      (w.settings #>> '{scoring,qualifyThreshold}')::int as qualify_threshold,
      -- This statement's commit does not wait for its WAL to reach disk. A claim lost in a crash
      -- of Postgres only puts its runs back to scheduled: nothing leaves before the run's hand-off
      -- mark, a synchronous commit fenced on this claim (it would find no claim and do nothing),
      -- and that commit flushes this one's WAL with its own.
      set_config('synchronous_commit', 'off', true) as async_commit
    from claimed c
    join enrollments e on e.id = c.enrollment_id
    join leads l on l.id = e.lead_id
    join workspaces w on w.id = e.workspace_id`),
  );
  const claimed = new Map<string, ClaimedRun>();
  for (const row of rows) {
    const run = fromJsonRow(stepRuns, row.run);
    claimed.set(run.id, {
      run,
      enrollment: fromJsonRow(enrollments, row.enrollment),
      lead: fromJsonRow(leads, row.lead),
      workspaceTimezone: row.workspace_timezone,
      workspaceCountry: row.workspace_country,
      qualifyThreshold: row.qualify_threshold,
    });
  }
  return claimed;
}
