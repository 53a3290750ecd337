import { sql } from 'drizzle-orm';
import type { Db } from '../../db/client';
import { groupCommit } from '../../db/group-commit';
import { prepared } from '../../db/prepared';
import { StaleWebhookSecret, type WebhookReceipt } from './receipts';

export type QueuedKind = 'email_json' | 'email_raw';

type Acknowledgement = {
  workspaceId: string;
  kind: QueuedKind;
  body: Buffer;
  receipt: WebhookReceipt;
};
type Acknowledged = 'accepted' | 'duplicate';

/**
 * Acknowledgement statements one process has in flight at most; while they run, the next batch
 * keeps taking requests, so a burst makes fewer, larger statements (fewer round trips and commits).
 */
const ACK_STATEMENTS_IN_FLIGHT = 2;

/**
 * A body past this size is acknowledged in a statement of its own: bodies travel hex-encoded in one
 * array parameter, and 50 of the largest allowed (1 MiB) would make one string of 100 MB.
 */
const LARGE_BODY_BYTES = 64 * 1024;

const perDb = new WeakMap<Db, (item: Acknowledgement) => Promise<Acknowledged>>();

/**
 * Acknowledges an inbound email posted with `Prefer: respond-async`: claims its webhook receipt
 * (only while the workspace still has the secret its signature was checked with, else throws
 * `StaleWebhookSecret`) and stores the body, in one statement that the acknowledgements of
 * concurrent requests share (group commit). Resolves only once that statement has committed.
 * `duplicate` when the webhook id was seen before.
 */
export async function enqueueInbound(
  db: Db,
  input: { workspaceId: string; kind: QueuedKind; body: Buffer; receipt?: WebhookReceipt },
): Promise<Acknowledged> {
  const { workspaceId, kind, body, receipt } = input;
  if (!receipt) {
    await db.execute(
      sql`insert into inbound_queue (workspace_id, kind, body) values (${workspaceId}, ${kind}, ${body})`,
    );
    return 'accepted';
  }
  if (body.length > LARGE_BODY_BYTES) {
    const [outcome = new StaleWebhookSecret()] = await acknowledgeAll(db, [
      { workspaceId, kind, body, receipt },
    ]);
    if (outcome instanceof Error) throw outcome;
    return outcome;
  }
  let acknowledge = perDb.get(db);
  if (!acknowledge) {
    // One webhook id twice in a batch would be queued twice: such a pair runs one at a time.
    acknowledge = groupCommit((items: Acknowledgement[]) => acknowledgeAll(db, items), {
      key: (a) => `${a.workspaceId} ${a.receipt.webhookId}`,
      maxInFlight: ACK_STATEMENTS_IN_FLIGHT,
    });
    perDb.set(db, acknowledge);
  }
  return acknowledge({ workspaceId, kind, body, receipt });
}

/**
 * One statement for many acknowledgements: each is stored if its workspace still has the secret its
 * signature was checked with and its receipt is new. Receipts are inserted in key order, so two
 * batches that share a webhook id (a sender's retry) wait on each other instead of deadlocking.
 */
async function acknowledgeAll(db: Db, items: Acknowledgement[]): Promise<(Acknowledged | Error)[]> {
  const column = <T>(pick: (a: Acknowledgement) => T) => sql.param(items.map(pick));
  const { rows } = await db.execute<{ i: number; current: boolean; claimed: boolean }>(
    prepared(sql`
    with input as (
      select * from unnest(
        ${column((a) => a.workspaceId)}::uuid[], ${column((a) => a.receipt.webhookId)}::text[],
        ${column((a) => a.receipt.sealedSecret)}::text[], ${column((a) => a.kind)}::text[],
        ${column((a) => a.body)}::bytea[]
      ) with ordinality as t(workspace_id, webhook_id, sealed, kind, body, i)
    ), current as (
      select input.* from input join workspaces w on w.id = input.workspace_id
      where w.webhook_secret_enc = input.sealed
    ), claimed as (
      insert into inbound_receipts (workspace_id, webhook_id)
      select workspace_id, webhook_id from current order by workspace_id, webhook_id
      on conflict do nothing
      returning workspace_id, webhook_id
    ), queued as (
      insert into inbound_queue (workspace_id, kind, body)
      select c.workspace_id, c.kind, c.body from current c
      join claimed r on r.workspace_id = c.workspace_id and r.webhook_id = c.webhook_id
      order by c.i
    )
    select input.i::int as i, c.i is not null as current, r.webhook_id is not null as claimed
    from input
    left join current c on c.i = input.i
    left join claimed r on r.workspace_id = input.workspace_id and r.webhook_id = input.webhook_id
    order by input.i`),
  );
  return items.map((_, index) => {
    const row = rows[index];
    if (!row?.current) return new StaleWebhookSecret();
    return row.claimed ? 'accepted' : 'duplicate';
  });
}
