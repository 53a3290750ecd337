import { and, eq, inArray } from 'drizzle-orm';
import type { DbOrTx } from '../../db/client';
import { events } from '../../db/schema/index';
import { recordEvent } from '../../modules/events/events.service';

/**
 * Events that prove the account and the lead are connected: an accepted invitation, or a profile
 * seen as a 1st-degree connection (already connected before any invitation).
 */
export const connectedEventTypes = ['linkedin.invite_accepted', 'linkedin.connected'] as const;

/** The `linkedinConnected` branch condition: true once either event exists for the lead. */
export async function isConnected(db: DbOrTx, workspaceId: string, leadId: string): Promise<boolean> {
  const [row] = await db
    .select({ id: events.id })
    .from(events)
    .where(
      and(
        eq(events.workspaceId, workspaceId),
        eq(events.leadId, leadId),
        inArray(events.type, [...connectedEventTypes]),
      ),
    )
    .limit(1);
  return row !== undefined;
}

/** Records `linkedin.connected` when a page shows the lead as a connection and nothing says so yet. */
export async function noteConnected(
  db: DbOrTx,
  input: { workspaceId: string; leadId: string; accountId: string; enrollmentId?: string },
): Promise<void> {
  if (await isConnected(db, input.workspaceId, input.leadId)) return;
  await recordEvent(db, {
    workspaceId: input.workspaceId,
    type: 'linkedin.connected',
    leadId: input.leadId,
    enrollmentId: input.enrollmentId ?? null,
    data: { accountId: input.accountId },
  });
}
