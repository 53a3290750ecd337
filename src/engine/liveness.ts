import { sql } from 'drizzle-orm';
import type { Deps } from '../context';
import type { DbOrTx } from '../db/client';
import { retryingAborts } from '../db/transaction';
import { prepared } from '../db/prepared';
import { inboundPending } from './inbound/fence';

/**
 * The rows `e` (enrollment), `l` (lead) and `s` (sequence) still allow a step: everything active,
 * the lead not erased and not suppressed by email, domain (or a parent domain) or LinkedIn URL.
 * One definition for the claim and the hand-off re-check, so they can never disagree.
 */
export const stepAllowed = sql`
  e.status = 'active'
  and s.status = 'active'
  and l.status = 'active'
  and l.erased_at is null
  and not exists (
    select 1 from suppressions sp
    where sp.workspace_id = l.workspace_id
      and ((sp.kind = 'email' and sp.value = l.email_key)
        or (sp.kind = 'domain' and (sp.value = l.company_domain or l.company_domain like '%.' || sp.value))
        or (sp.kind = 'linkedin' and sp.value = l.linkedin_url))
  )`;

/**
 * What the hand-off check decided. Not allowed with `retryAt`: nothing stopped the cadence, but the
 * workspace has acknowledged inbound mail not applied yet, which may stop it; try again then.
 */
export type HandOff<T> = { allowed: true; value: T } | { allowed: false; retryAt?: Date };

/** How long a hand-off waits for acknowledged inbound mail to be applied before it looks again. */
export const INBOUND_PENDING_RETRY_MS = 2_000;

/**
 * Decides the hand-off (the SMTP exchange, the LinkedIn click) in one statement, its own short
 * transaction: it takes the enrollment and lead rows `FOR SHARE`, checks nothing stopped the
 * cadence since the claim, commits, and only then calls `send`, holding no connection and no lock
 * while a remote server takes its time. A reply, unsubscribe or bounce updates those rows, so it commits either
 * before the check (and nothing is sent) or after it; in the second case the message was already on
 * its way: the run is `claimed` with `handoff = 'started'`, and the stop lists it as in flight
 * (`cancelScheduledRuns`). Nothing else of the cadence runs after the stop: the advance that follows
 * the send finds the enrollment ended. While the workspace has acknowledged inbound mail not yet
 * applied (`inboundPending`), no hand-off starts: the answer says when to look again.
 */
export async function handOffWhileAllowed<T>(
  deps: Pick<Deps, 'db' | 'log'>,
  enrollmentId: string,
  send: () => Promise<T>,
): Promise<HandOff<T>> {
  // One statement outside any transaction is a transaction of its own: it takes the row locks,
  // checks and commits in one round trip (a BEGIN, the check and a COMMIT were three). A deadlock
  // can only abort it before anything was sent: retrying is safe.
  const check = await retryingAborts(deps, async () => {
    const { rows } = await deps.db.execute<{ pending: boolean }>(
      prepared(sql`
      select ${inboundPending(sql`l.workspace_id`)} as pending from enrollments e
      join leads l on l.id = e.lead_id
      join sequences s on s.id = e.sequence_id
      where e.id = ${enrollmentId} and ${stepAllowed}
      for share of e, l`),
    );
    return rows[0];
  });
  if (!check) return { allowed: false };
  if (check.pending) return { allowed: false, retryAt: new Date(Date.now() + INBOUND_PENDING_RETRY_MS) };
  return { allowed: true, value: await send() };
}

/**
 * Records that the claim `(id, generation)` may now act on the outside world (`handoff =
 * 'started'`), in a statement that changes nothing once the claim is no longer current: the
 * reconciler has run it again since, or it has an outcome. From here a worker that dies leaves the
 * run ambiguous; before it, the run is run again (`expireLeases`).
 */
export const handOffStarted = (run: { id: string; generation: number }) => sql`
  update step_runs set handoff = 'started'
  where id = ${run.id}::uuid and status = 'claimed' and generation = ${run.generation}::int
  returning id`;

/** `handOffStarted` on its own; false when the claim is no longer current (do nothing then). */
export async function markHandOffStarted(
  db: DbOrTx,
  run: { id: string; generation: number },
): Promise<boolean> {
  const { rows } = await db.execute(prepared(handOffStarted(run)));
  return rows.length > 0;
}
