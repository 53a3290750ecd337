import { eq } from 'drizzle-orm';
import type { Tx } from '../db/client';
import { leads, suppressions } from '../db/schema/index';
import { stopLeadEnrollments } from '../modules/enrollments/stop-rules';
import { recordEvent } from '../modules/events/events.service';

/** A hard bounce: the lead is marked bounced, its address suppressed, and every enrollment stops. */
export async function applyLeadStop(
  tx: Tx,
  input: { workspaceId: string; leadId: string; stop: 'bounced'; reason: string },
): Promise<void> {
  const [lead] = await tx
    .update(leads)
    .set({ status: 'bounced', updatedAt: new Date() })
    .where(eq(leads.id, input.leadId))
    .returning({ emailKey: leads.emailKey });
  if (lead?.emailKey) {
    await tx
      .insert(suppressions)
      .values({ workspaceId: input.workspaceId, kind: 'email', value: lead.emailKey, reason: 'bounced' })
      .onConflictDoNothing();
  }
  await stopLeadEnrollments(tx, {
    workspaceId: input.workspaceId,
    leadIds: [input.leadId],
    status: 'bounced',
    reason: input.reason,
  });
  await recordEvent(tx, {
    workspaceId: input.workspaceId,
    type: 'lead.bounced',
    leadId: input.leadId,
    data: { reason: input.reason },
  });
}
