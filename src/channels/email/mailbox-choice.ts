import type { mailboxes } from '../../db/schema/index';

export type MailboxRow = typeof mailboxes.$inferSelect;

export type MailboxChoice<T extends { mailbox: Pick<MailboxRow, 'id' | 'status'> }> =
  | { kind: 'candidates'; mailboxes: T[] }
  | { kind: 'none' }
  | { kind: 'paused'; mailboxId: string };

/**
 * Which mailboxes may send this email, best first, from the workspace's active mailboxes (least
 * recently used first) plus the pinned ones. The enrollment's mailbox (the thread's sender) wins,
 * then the step's `mailboxId`; a paused one makes the step wait for it, a deleted one hands the
 * thread on. Otherwise every active mailbox, in the order given: round-robin that also skips past a
 * mailbox whose capacity is used up.
 */
export function chooseMailboxes<T extends { mailbox: Pick<MailboxRow, 'id' | 'status'> }>(
  rows: readonly T[],
  pinned: { enrollmentMailboxId: string | null; stepMailboxId: string | undefined },
): MailboxChoice<T> {
  for (const id of [pinned.enrollmentMailboxId, pinned.stepMailboxId]) {
    if (!id) continue;
    const row = rows.find((r) => r.mailbox.id === id);
    if (row?.mailbox.status === 'active') return { kind: 'candidates', mailboxes: [row] };
    if (row?.mailbox.status === 'paused') return { kind: 'paused', mailboxId: id };
  }
  const active = rows.filter((r) => r.mailbox.status === 'active');
  return active.length > 0 ? { kind: 'candidates', mailboxes: active } : { kind: 'none' };
}

/**
 * The round-robin order mailboxes are offered in: the one that took a slot least recently first
 * (never used first), ties by id. The worker and the simulation both order by this.
 */
export function leastRecentlyUsedFirst(
  a: { mailbox: Pick<MailboxRow, 'id' | 'lastSlotAt'> },
  b: { mailbox: Pick<MailboxRow, 'id' | 'lastSlotAt'> },
): number {
  const at = a.mailbox.lastSlotAt?.getTime() ?? Number.NEGATIVE_INFINITY;
  const bt = b.mailbox.lastSlotAt?.getTime() ?? Number.NEGATIVE_INFINITY;
  if (at !== bt) return at < bt ? -1 : 1;
  return a.mailbox.id < b.mailbox.id ? -1 : a.mailbox.id > b.mailbox.id ? 1 : 0;
}
