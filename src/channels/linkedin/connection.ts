import { connectedEventTypes } from '../../core/step-types';
import { leadHasEvent } from '../../engine/internal-steps';
import type { DbOrTx } from '../../db/client';
import { recordEvent } from '../../timeline/events';

/** The `linkedinConnected` branch condition: true once the lead's history shows the connection. */
export const isConnected = (db: DbOrTx, workspaceId: string, leadId: string): Promise<boolean> =>
  leadHasEvent(db, { id: leadId, workspaceId }, connectedEventTypes);

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
