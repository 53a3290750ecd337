import { and, asc, eq, sql } from 'drizzle-orm';
import type { DbOrTx } from '../../db/client';
import { mailboxes } from '../../db/schema/index';

export type MailboxRow = typeof mailboxes.$inferSelect;

export type MailboxChoice =
  | { kind: 'candidates'; mailboxes: MailboxRow[] }
  | { kind: 'none' }
  | { kind: 'paused'; mailboxId: string };

/**
 * Which mailboxes may send this email, best first. The enrollment's mailbox (the thread's sender)
 * wins, then the step's `mailboxId`; a paused one makes the step wait for it, a deleted one hands the
 * thread on. Otherwise every active mailbox, least recently used first: round-robin that also skips
 * past a mailbox whose capacity is used up.
 */
export async function chooseMailboxes(
  db: DbOrTx,
  input: { workspaceId: string; enrollmentMailboxId: string | null; stepMailboxId: string | undefined },
): Promise<MailboxChoice> {
  for (const id of [input.enrollmentMailboxId, input.stepMailboxId]) {
    if (!id) continue;
    const [row] = await db
      .select()
      .from(mailboxes)
      .where(and(eq(mailboxes.id, id), eq(mailboxes.workspaceId, input.workspaceId)));
    if (row?.status === 'active') return { kind: 'candidates', mailboxes: [row] };
    if (row?.status === 'paused') return { kind: 'paused', mailboxId: id };
  }
  const rows = await db
    .select()
    .from(mailboxes)
    .where(and(eq(mailboxes.workspaceId, input.workspaceId), eq(mailboxes.status, 'active')))
    .orderBy(sql`${mailboxes.lastSlotAt} asc nulls first`, asc(mailboxes.id));
  return rows.length > 0 ? { kind: 'candidates', mailboxes: rows } : { kind: 'none' };
}
