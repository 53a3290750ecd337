import { eq } from 'drizzle-orm';
import type { DbOrTx } from '../../db/client';
import { events, leads } from '../../db/schema/index';

export type EventInput = {
  workspaceId: string;
  type: string;
  leadId?: string | null;
  enrollmentId?: string | null;
  stepRunId?: string | null;
  data?: Record<string, unknown>;
  at?: Date;
};

/** Event types that count as lead activity for the `staleDays` filter and clean-up. */
const activityTypes = new Set([
  'message.sent',
  'lead.replied',
  'email.opened',
  'email.clicked',
  'linkedin.invite_accepted',
]);

/**
 * Records an event on the activity timeline, inside the caller's transaction, so the event exists
 * exactly when the change it describes does. Outbound webhooks and scoring hang off this one function.
 */
export async function recordEvent(db: DbOrTx, input: EventInput): Promise<number> {
  const at = input.at ?? new Date();
  const [row] = await db
    .insert(events)
    .values({
      workspaceId: input.workspaceId,
      type: input.type,
      leadId: input.leadId ?? null,
      enrollmentId: input.enrollmentId ?? null,
      stepRunId: input.stepRunId ?? null,
      data: input.data ?? {},
      at,
    })
    .returning({ id: events.id });
  if (input.leadId && activityTypes.has(input.type)) {
    await db.update(leads).set({ lastActivityAt: at }).where(eq(leads.id, input.leadId));
  }
  if (!row) throw new Error('event insert returned nothing');
  return row.id;
}
