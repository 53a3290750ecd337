import { sql } from 'drizzle-orm';
import type { Db } from '../db/client';
import { stepRuns } from '../db/schema/index';
import type { StepRunRow } from './channel';
import { stepAllowed } from './liveness';

/**
 * Atomically claims a run: it must still be `scheduled` at this generation and due, its enrollment
 * and sequence `active`, its lead active and not suppressed. The enrollment and lead rows are read
 * `FOR SHARE`, so a reply or unsubscribe that commits first always wins: its update makes this
 * statement re-check the rows and find nothing. Returns null when the job has nothing to do.
 */
export async function claimStepRun(
  db: Db,
  input: { stepRunId: string; generation: number; leaseSeconds: number },
): Promise<StepRunRow | null> {
  const claimable = sql`(
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
  )`;
  const [run] = await db
    .update(stepRuns)
    .set({
      status: 'claimed',
      claimedAt: sql`now()`,
      leaseUntil: sql`now() + make_interval(secs => ${input.leaseSeconds})`,
      attempts: sql`${stepRuns.attempts} + 1`,
      updatedAt: sql`now()`,
    })
    .where(sql`${stepRuns.id} = ${claimable}`)
    .returning();
  return run ?? null;
}
