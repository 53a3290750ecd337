import { sql } from 'drizzle-orm';
import type { Deps } from '../../context';
import type { DbOrTx } from '../../db/client';
import { inboundReceipts } from '../../db/schema/index';

/**
 * Records a webhook id as processed, in the transaction that applies its effect. False means it was
 * processed before: a concurrent duplicate waits on the row lock here and then sees the conflict.
 */
export async function claimReceipt(db: DbOrTx, workspaceId: string, webhookId: string): Promise<boolean> {
  const rows = await db
    .insert(inboundReceipts)
    .values({ workspaceId, webhookId })
    .onConflictDoNothing()
    .returning({ id: inboundReceipts.webhookId });
  return rows.length > 0;
}

/** Receipts older than the signature tolerance guard nothing: a replay that old fails its timestamp. */
export async function pruneInboundReceipts(deps: Pick<Deps, 'db'>, olderThan: Date): Promise<void> {
  await deps.db.execute(sql`delete from inbound_receipts where received_at < ${olderThan}`);
}
