import { eq } from 'drizzle-orm';
import type { Deps } from '../../context';
import type { DbOrTx } from '../../db/client';
import { leads } from '../../db/schema/index';
import { unsubscribeLead } from '../../engine/suppressions';
import {
  openUnsubscribeToken,
  type UnsubscribeTarget,
  verifyUnsubscribeToken,
} from '../../channels/email/unsubscribe-tokens';

type UnsubscribeDeps = Pick<Deps, 'db' | 'secrets'>;

/** The lead and workspace a token is valid for, or null (malformed, forged, or the lead is gone). */
export async function resolveUnsubscribeToken(
  deps: UnsubscribeDeps,
  token: string,
  db: DbOrTx = deps.db,
): Promise<UnsubscribeTarget | null> {
  const opened = openUnsubscribeToken(deps.secrets, token);
  if (!opened) return null;
  const [lead] = await db
    .select({ workspaceId: leads.workspaceId })
    .from(leads)
    .where(eq(leads.id, opened.leadId));
  if (!lead || !verifyUnsubscribeToken(deps.secrets, opened, lead.workspaceId)) return null;
  return { workspaceId: lead.workspaceId, leadId: opened.leadId };
}

/**
 * Unsubscribes the token's lead in one transaction (status, suppression, enrollments, event).
 * Returns false for a token that is not valid; repeating a valid one is harmless.
 */
export async function unsubscribeByToken(
  deps: UnsubscribeDeps,
  token: string,
  source: string,
): Promise<boolean> {
  return deps.db.transaction(async (tx) => {
    const target = await resolveUnsubscribeToken(deps, token, tx);
    if (!target) return false;
    await unsubscribeLead(tx, { ...target, source });
    return true;
  });
}
