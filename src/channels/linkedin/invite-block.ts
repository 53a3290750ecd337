import { and, eq, gt, sql } from 'drizzle-orm';
import type { DbOrTx } from '../../db/client';
import { events } from '../../db/schema/index';
import { recordEvent } from '../../timeline/events';
import { oldestInWindow } from './limits';

const WEEK_MS = 7 * 24 * 3600 * 1000;
/** With no invitation of ours in the window, LinkedIn's counter is opaque: look again in a day. */
const UNKNOWN_RESET_MS = 24 * 3600 * 1000;

export const INVITE_LIMIT_EVENT = 'linkedin.invite_limit_reached';

/**
 * Remembers that LinkedIn showed its weekly-limit notice, until the rolling week frees a slot, so
 * later invitations on the account wait without opening another profile just to see the notice again.
 */
export async function blockInvites(
  db: DbOrTx,
  input: { workspaceId: string; accountId: string; now: Date },
): Promise<Date> {
  const oldest = await oldestInWindow(db, input.accountId, 'invite', input.now);
  const until = oldest
    ? new Date(Math.max(oldest.getTime() + WEEK_MS, input.now.getTime() + 60_000))
    : new Date(input.now.getTime() + UNKNOWN_RESET_MS);
  await recordEvent(db, {
    workspaceId: input.workspaceId,
    type: INVITE_LIMIT_EVENT,
    data: { accountId: input.accountId, until: until.toISOString() },
    at: input.now,
  });
  return until;
}

/** Until when invitations on the account wait for LinkedIn's weekly limit, or null. */
export async function invitesBlockedUntil(
  db: DbOrTx,
  input: { workspaceId: string; accountId: string; now: Date },
): Promise<Date | null> {
  const [row] = await db
    .select({ until: sql<string | null>`max(${events.data}->>'until')` })
    .from(events)
    .where(
      and(
        eq(events.workspaceId, input.workspaceId),
        eq(events.type, INVITE_LIMIT_EVENT),
        sql`${events.data}->>'accountId' = ${input.accountId}`,
        gt(events.at, new Date(input.now.getTime() - WEEK_MS)),
      ),
    );
  if (!row?.until) return null;
  const until = new Date(row.until);
  return until.getTime() > input.now.getTime() ? until : null;
}
