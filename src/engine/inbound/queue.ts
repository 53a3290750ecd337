import { sql } from 'drizzle-orm';
import type { Deps } from '../../context';
import { prepared } from '../../db/prepared';
import { connectionLost, inTransaction, pgCode } from '../../db/transaction';
import { emailFromJson, emailFromRaw, type InboundEmail } from './email';
import { classifyEmail, ingestEmailIn } from './ingest';
import type { QueuedKind } from './enqueue';
import { MAX_APPLY_ATTEMPTS } from './fence';
import { InboundEmailBody } from './schemas';

type Queued = {
  id: number;
  workspace_id: string;
  kind: QueuedKind;
  body: Buffer;
  received_at: Date;
  newest: number | string;
};

async function parse(row: Queued): Promise<InboundEmail> {
  const receivedAt = new Date(row.received_at);
  if (row.kind === 'email_raw') return emailFromRaw(row.body, receivedAt);
  return emailFromJson(InboundEmailBody.parse(JSON.parse(row.body.toString('utf8'))), receivedAt);
}

/** Queued messages one transaction applies: fewer commits (and WAL flushes) per reply in a burst. */
export const APPLY_BATCH = 25;

/**
 * Applies the oldest queued inbound emails (up to `batch`), each exactly as the synchronous route
 * would have (match, store, effects), and deletes them in the same transaction: a worker that dies
 * half-way leaves them queued, and applied ones are gone. Concurrent callers take different rows
 * (SKIP LOCKED). Each message runs under a savepoint: one whose apply throws is rolled back alone,
 * gets `attempts` + 1 and its error, and after MAX_APPLY_ATTEMPTS stays aside for an operator.
 * Returns how many rows were taken (0: nothing left) and the newest id in the queue then.
 */
export async function applyQueuedBatch(
  deps: Pick<Deps, 'db' | 'log'>,
  batch = APPLY_BATCH,
): Promise<{ taken: number; newest: number }> {
  const failed: { id: number; error: string }[] = [];
  const taken = await inTransaction(deps, async (tx) => {
    failed.length = 0;
    const { rows } = await tx.execute<Queued>(
      prepared(sql`
      select id, workspace_id, kind, body, received_at, (select max(id) from inbound_queue) as newest
      from inbound_queue
      where attempts < ${MAX_APPLY_ATTEMPTS}
      order by id limit ${batch} for update skip locked`),
    );
    const applied: number[] = [];
    for (const row of rows) {
      await tx.execute(sql`savepoint apply_one`);
      try {
        const email = await parse(row);
        await ingestEmailIn(tx, { workspaceId: row.workspace_id, email, cls: classifyEmail(email) });
        await tx.execute(sql`release savepoint apply_one`);
        applied.push(row.id);
      } catch (err) {
        // Postgres aborting the transaction (a deadlock victim) or losing the session: the whole
        // batch is run again, or left for the next pass; not the message's fault.
        const code = pgCode(err);
        if (code?.startsWith('40') || connectionLost(err)) throw err;
        // Keep the row (and its lock) and record why; what the failed apply wrote is rolled back.
        await tx.execute(sql`rollback to savepoint apply_one`);
        const error = err instanceof Error ? err.message.slice(0, 500) : String(err);
        failed.push({ id: row.id, error });
        await tx.execute(
          sql`update inbound_queue set attempts = attempts + 1, last_error = ${error} where id = ${row.id}`,
        );
      }
    }
    if (applied.length > 0)
      await tx.execute(
        prepared(sql`delete from inbound_queue where id = any(${sql.param(applied)}::bigint[])`),
      );
    return { taken: rows.length, newest: Number(rows[0]?.newest ?? 0) };
  });
  for (const failure of failed) deps.log.warn(failure, 'queued inbound email could not be applied');
  return taken;
}

/** Time resting per unit of time applying while acknowledgements keep arriving (see below). */
const REST_PER_BATCH = 3;

/**
 * Applies queued inbound mail until none is left or `max` were taken; how many were taken. With
 * `restWhileArriving`, while new mail keeps being acknowledged (the queue's newest id grew since the
 * previous batch) it rests three times as long as each batch took before taking the next: the
 * acknowledgements share Postgres (and on a small machine the CPU) with the appliers, and a burst is
 * then acknowledged first and applied at full speed once it ends. A quarter of the time, not none:
 * mail that keeps arriving for long is still applied, and the hand-offs it holds back go on.
 */
export async function drainInboundQueue(
  deps: Pick<Deps, 'db' | 'log'>,
  max = 500,
  { restWhileArriving = false } = {},
): Promise<number> {
  let taken = 0;
  let newestSeen: number | null = null;
  while (taken < max) {
    const started = performance.now();
    const batch = await applyQueuedBatch(deps);
    if (batch.taken === 0) break;
    taken += batch.taken;
    if (restWhileArriving && newestSeen !== null && batch.newest > newestSeen)
      await new Promise((r) => setTimeout(r, REST_PER_BATCH * (performance.now() - started)));
    newestSeen = batch.newest;
  }
  return taken;
}
