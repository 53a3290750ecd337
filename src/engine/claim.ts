import { sql } from 'drizzle-orm';
import type { Db } from '../db/client';
import { fromJsonRow } from '../db/json-row';
import { enrollments, leads, stepRuns } from '../db/schema/index';
import type { EnrollmentRow, LeadRow, StepRunRow } from './channel';
import { stepAllowed } from './liveness';

export type ClaimedRun = {
  run: StepRunRow;
  enrollment: EnrollmentRow;
  lead: LeadRow;
  workspaceTimezone: string;
  /** The workspace's scoring threshold: when set, recording an event may promote the lead. */
  qualifyThreshold: number | null;
};

/**
 * Atomically claims a run: it must still be `scheduled` at this generation and due, its enrollment
 * and sequence `active`, its lead active and not suppressed. The enrollment and lead rows are read
 * `FOR SHARE`, so a reply or unsubscribe that commits first always wins: its update makes this
 * statement re-check the rows and find nothing. The same statement returns what the step needs
 * (enrollment, lead, workspace time zone), so a claim is one round trip. Returns null when the job
 * has nothing to do.
 */
export async function claimStepRun(
  db: Db,
  input: { stepRunId: string; generation: number; leaseSeconds: number },
): Promise<ClaimedRun | null> {
  const { rows } = await db.execute<{
    run: Record<string, unknown>;
    enrollment: Record<string, unknown>;
    lead: Record<string, unknown>;
    workspace_timezone: string;
    qualify_threshold: number | null;
  }>(sql`
    with claimed as (
      update step_runs set status = 'claimed', claimed_at = now(),
        lease_until = now() + make_interval(secs => ${input.leaseSeconds}),
        attempts = attempts + 1, updated_at = now()
      where id = (
        select sr.id
        from step_runs sr
        join enrollments e on e.id = sr.enrollment_id
        join leads l on l.id = e.lead_id
        join sequences s on s.id = e.sequence_id
        where sr.id = ${input.stepRunId}
          and sr.status = 'scheduled'
          and sr.generation = ${input.generation}
          and sr.run_at <= now() + interval '2 seconds'
          and ${stepAllowed}
        for update of sr for share of e, l
      )
      returning *
    )
    select row_to_json(c) as run, row_to_json(e) as enrollment, row_to_json(l) as lead,
      w.timezone as workspace_timezone,
      (w.settings #>> '{scoring,qualifyThreshold}')::int as qualify_threshold
    from claimed c
    join enrollments e on e.id = c.enrollment_id
    join leads l on l.id = e.lead_id
    join workspaces w on w.id = e.workspace_id`);
  const row = rows[0];
  if (!row) return null;
  return {
    run: fromJsonRow(stepRuns, row.run),
    enrollment: fromJsonRow(enrollments, row.enrollment),
    lead: fromJsonRow(leads, row.lead),
    workspaceTimezone: row.workspace_timezone,
    qualifyThreshold: row.qualify_threshold,
  };
}
