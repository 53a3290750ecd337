import { sql } from 'drizzle-orm';
import type { Deps } from '../../context';
import type { DbOrTx } from '../../db/client';
import { prepared } from '../../db/prepared';

/** A verified webhook: its id, and the sealed workspace secret its signature was checked with. */
export type WebhookReceipt = { webhookId: string; sealedSecret: string };

/**
 * The secret a signature was checked with is no longer the workspace's (another process changed
 * it): the webhook is refused as unsigned, and nothing of it was applied.
 */
export class StaleWebhookSecret extends Error {
  constructor() {
    super('the webhook secret changed since the signature was checked');
  }
}

/**
 * Records a webhook id as processed, in the transaction that applies its effect, if the workspace
 * still has the secret the signature was checked with (else throws `StaleWebhookSecret`). False
 * means it was processed before: a concurrent duplicate waits on the row lock here and then sees
 * the conflict.
 */
export async function claimReceipt(
  db: DbOrTx,
  workspaceId: string,
  receipt: WebhookReceipt,
): Promise<boolean> {
  const { rows } = await db.execute<{ current: boolean; claimed: boolean }>(
    prepared(sql`
    with workspace as (
      select webhook_secret_enc = ${receipt.sealedSecret} as current from workspaces where id = ${workspaceId}
    ), claimed as (
      insert into inbound_receipts (workspace_id, webhook_id)
      select ${workspaceId}, ${receipt.webhookId} where (select current from workspace)
      on conflict do nothing
      returning 1
    )
    select coalesce((select current from workspace), false) as current,
      exists (select 1 from claimed) as claimed`),
  );
  const row = rows[0];
  if (!row?.current) throw new StaleWebhookSecret();
  return row.claimed;
}

/** Receipts older than the signature tolerance guard nothing: a replay that old fails its timestamp. */
export async function pruneInboundReceipts(deps: Pick<Deps, 'db'>, olderThan: Date): Promise<void> {
  await deps.db.execute(sql`delete from inbound_receipts where received_at < ${olderThan}`);
}
