import { type SQL, sql } from 'drizzle-orm';

/** A queued inbound email that failed this many times is left aside (kept, counted) and fences nothing. */
export const MAX_APPLY_ATTEMPTS = 3;

/**
 * The hand-off check's fence: the workspace has inbound mail that was acknowledged (posted with
 * `Prefer: respond-async`) and not applied yet. Any of it may stop the step, so no hand-off starts
 * in that workspace until the queue is applied: a reply acknowledged before a hand-off prevents it.
 */
export const inboundPending = (workspaceId: SQL) => sql`exists (
  select 1 from inbound_queue q where q.workspace_id = ${workspaceId} and q.attempts < ${MAX_APPLY_ATTEMPTS})`;
