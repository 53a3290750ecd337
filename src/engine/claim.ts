import { eq, sql } from 'drizzle-orm';
import type { Db } from '../db/client';
import { stepRuns } from '../db/schema/index';
import type { StepRunRow } from './channel';

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
      and e.status = 'active'
      and s.status = 'active'
      and l.status = 'active'
      and l.erased_at is null
      and not exists (
        select 1 from suppressions sp
        where sp.workspace_id = l.workspace_id
          and ((sp.kind = 'email' and sp.value = l.email_key)
            or (sp.kind = 'domain' and (sp.value = l.company_domain or l.company_domain like '%.' || sp.value))
            or (sp.kind = 'linkedin' and sp.value = l.linkedin_url))
      )
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

export const stepRunById = (db: Db, id: string) => db.select().from(stepRuns).where(eq(stepRuns.id, id));
