import { sql } from 'drizzle-orm';
import type { Deps } from '../../context';
import type { Db } from '../../db/client';
import { prepared } from '../../db/prepared';
import { connectionLost, inTransaction, pgCode } from '../../db/transaction';
import { emailFromJson, emailFromRaw, type InboundEmail } from './email';
import { classifyEmail, ingestEmailIn } from './ingest';
import { StaleWebhookSecret, type WebhookReceipt } from './receipts';
import { MAX_APPLY_ATTEMPTS } from './fence';
import { InboundEmailBody } from './schemas';

export type QueuedKind = 'email_json' | 'email_raw';

/**
 * Acknowledges an inbound email posted with `Prefer: respond-async`: one statement claims its
 * webhook receipt (only while the workspace still has the secret its signature was checked with)
 * and stores the body. `duplicate` when the webhook id was seen before.
 */
export async function enqueueInbound(
  db: Db,
  input: { workspaceId: string; kind: QueuedKind; body: Buffer; receipt?: WebhookReceipt },
): Promise<'accepted' | 'duplicate'> {
  const { workspaceId, kind, body, receipt } = input;
  if (!receipt) {
    await db.execute(
      sql`insert into inbound_queue (workspace_id, kind, body) values (${workspaceId}, ${kind}, ${body})`,
    );
    return 'accepted';
  }
  const { rows } = await db.execute<{ current: boolean; queued: boolean }>(
    prepared(sql`
    with workspace as (
      select webhook_secret_enc = ${receipt.sealedSecret} as current from workspaces where id = ${workspaceId}
    ), claimed as (
      insert into inbound_receipts (workspace_id, webhook_id)
      select ${workspaceId}, ${receipt.webhookId} where (select current from workspace)
      on conflict do nothing
      returning 1
    ), queued as (
      insert into inbound_queue (workspace_id, kind, body)
      select ${workspaceId}, ${kind}, ${body} where exists (select 1 from claimed)
      returning 1
    )
    select coalesce((select current from workspace), false) as current,
      exists (select 1 from queued) as queued`),
  );
  const row = rows[0];
  if (!row?.current) throw new StaleWebhookSecret();
  return row.queued ? 'accepted' : 'duplicate';
}

type Queued = { id: number; workspace_id: string; kind: QueuedKind; body: Buffer; received_at: Date };

async function parse(row: Queued): Promise<InboundEmail> {
  const receivedAt = new Date(row.received_at);
  if (row.kind === 'email_raw') return emailFromRaw(row.body, receivedAt);
  return emailFromJson(InboundEmailBody.parse(JSON.parse(row.body.toString('utf8'))), receivedAt);
}

/**
 * Applies the oldest queued inbound email, exactly as the synchronous route would have (match,
 * store, effects), and deletes it in the same transaction: a worker that dies half-way leaves it
 * queued, and one applied is gone. Concurrent callers take different rows (SKIP LOCKED). A row
 * whose apply throws gets `attempts` + 1 and its error; after MAX_APPLY_ATTEMPTS it stays, aside,
 * for an operator. False when nothing was left to apply.
 */
export async function applyOneQueued(deps: Pick<Deps, 'db' | 'log'>): Promise<boolean> {
  let failed: { id: number; error: string } | null = null;
  const took = await inTransaction(deps, async (tx) => {
    failed = null;
    const { rows } = await tx.execute<Queued>(
      prepared(sql`
      select id, workspace_id, kind, body, received_at from inbound_queue
      where attempts < ${MAX_APPLY_ATTEMPTS}
      order by id limit 1 for update skip locked`),
    );
    const row = rows[0];
    if (!row) return false;
    await tx.execute(sql`savepoint apply_one`);
    try {
      const email = await parse(row);
      await ingestEmailIn(tx, { workspaceId: row.workspace_id, email, cls: classifyEmail(email) });
      await tx.execute(sql`release savepoint apply_one`);
    } catch (err) {
      // Postgres aborting the transaction (a deadlock victim) or losing the session: the whole
      // transaction is run again, or left for the next pass; not the message's fault.
      const code = pgCode(err);
      if (code?.startsWith('40') || connectionLost(err)) throw err;
      // Keep the row (and its lock) and record why; what the failed apply wrote is rolled back.
      await tx.execute(sql`rollback to savepoint apply_one`);
      failed = { id: row.id, error: err instanceof Error ? err.message.slice(0, 500) : String(err) };
      await tx.execute(
        sql`update inbound_queue set attempts = attempts + 1, last_error = ${failed.error} where id = ${row.id}`,
      );
      return true;
    }
    await tx.execute(prepared(sql`delete from inbound_queue where id = ${row.id}`));
    return true;
  });
  // Set inside the transaction's callback, which the compiler's narrowing does not follow.
  const failure = failed as { id: number; error: string } | null;
  if (failure) deps.log.warn(failure, 'queued inbound email could not be applied');
  return took;
}

/** Applies queued inbound mail until none is left or `max` were taken; how many were taken. */
export async function drainInboundQueue(deps: Pick<Deps, 'db' | 'log'>, max = 500): Promise<number> {
  let taken = 0;
  while (taken < max && (await applyOneQueued(deps))) taken += 1;
  return taken;
}
