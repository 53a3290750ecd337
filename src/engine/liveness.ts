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

/** What the hand-off check found for an enrollment that still allows a step (absent: it does not). */
export type HandOffCheck = { pending: boolean };

/**
 * The hand-off check for a batch of enrollments, in one statement (its own short transaction): it
 * takes each enrollment and lead row `FOR SHARE`, checks that nothing stopped the cadence since the
 * claim, and commits. A deadlock can only abort it before anything was sent: retrying is safe.
 */
export async function checkHandOffs(
  deps: Pick<Deps, 'db' | 'log'>,
  enrollmentIds: string[],
): Promise<Map<string, HandOffCheck>> {
  const rows = await retryingAborts(deps, async () => {
    const result = await deps.db.execute<{ id: string; pending: boolean }>(
      prepared(sql`
      select e.id, ${inboundPending(sql`l.workspace_id`)} as pending from enrollments e
      join leads l on l.id = e.lead_id
      join sequences s on s.id = e.sequence_id
      where e.id = any(${sql.param(enrollmentIds)}::uuid[]) and ${stepAllowed}
      order by e.id
      for share of e, l`),
    );
    return result.rows;
  });
  return new Map(rows.map((r) => [r.id, { pending: r.pending }]));
}

/** The check for one enrollment: `checkHandOffs` on its own, or the engine's batched one. */
export type CheckHandOff = (enrollmentId: string) => Promise<HandOffCheck | null>;

/**
 * Decides the hand-off (the SMTP exchange, the LinkedIn click): `check` takes the enrollment and
 * lead rows `FOR SHARE` in a statement that commits before `send` is called, so no connection and
 * no lock is held while a remote server takes its time. A reply, unsubscribe or bounce updates
 * those rows, so it commits either before the check (and nothing is sent) or after it; in the
 * second case the message was already on its way: the run is `claimed` with `handoff = 'started'`,
 * and the stop lists it as in flight (`cancelScheduledRuns`). Nothing else of the cadence runs
 * after the stop: the advance that follows the send finds the enrollment ended. While the workspace
 * has acknowledged inbound mail not yet applied (`inboundPending`), no hand-off starts: the answer
 * says when to look again.
 */
export async function handOffWhileAllowed<T>(
  deps: Pick<Deps, 'db' | 'log'>,
  enrollmentId: string,
  send: () => Promise<T>,
  check: CheckHandOff = async (id) => (await checkHandOffs(deps, [id])).get(id) ?? null,
): Promise<HandOff<T>> {
  const found = await check(enrollmentId);
  if (!found) return { allowed: false };
  if (found.pending) return { allowed: false, retryAt: new Date(Date.now() + INBOUND_PENDING_RETRY_MS) };
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
