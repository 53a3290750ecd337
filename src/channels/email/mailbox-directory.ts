import type { Db } from '../../db/client';
import { leastRecentlyUsedFirst } from './mailbox-choice';
import { type Day, type MailboxState, readMailboxes } from './reservation';

/** How long a read of a workspace's mailboxes serves the sends of this process. */
const FRESH_MS = 1_000;
/** Workspaces remembered at most before the directory starts over. */
const MAX_WORKSPACES = 1_000;

export type MailboxDirectory = {
  /**
   * The workspace's active and paused mailboxes for `day`, least recently used first, as read at
   * most `FRESH_MS` ago: one read serves every send of this process meanwhile. Nothing here is
   * trusted: `takeSlot` re-checks under the row lock everything a send decided from it.
   */
  mailboxes(workspaceId: string, day: Day): Promise<MailboxState[]>;
  /** This process took a slot: the row as the take left it, so the next send picks another one. */
  took(workspaceId: string, mailboxId: string, at: { now: Date; day: Day }): void;
  /** A take was refused on what was read: the next send reads again. */
  forget(workspaceId: string): void;
};

type Entry = { readAt: number; dayStart: number; rows: Promise<MailboxState[]> };

/**
 * The mailboxes each send chooses from. Every send used to read all of its workspace's mailboxes
 * (50 rows mapped by drizzle, about 8% of the worker's CPU in the slow-SMTP bench) to choose one;
 * now a second's worth of sends share one read, and the process moves each mailbox it takes a slot
 * from to the back of its own round-robin order.
 */
export function createMailboxDirectory(db: Db): MailboxDirectory {
  const entries = new Map<string, Entry>();
  return {
    async mailboxes(workspaceId, day) {
      const known = entries.get(workspaceId);
      const now = Date.now();
      if (known && now - known.readAt < FRESH_MS && known.dayStart === day.start.getTime())
        return inTurn(await known.rows);
      if (entries.size >= MAX_WORKSPACES) entries.clear();
      const rows = readMailboxes(db, { workspaceId, day });
      const entry = { readAt: now, dayStart: day.start.getTime(), rows };
      entries.set(workspaceId, entry);
      // A failed read is not remembered: the next send reads again.
      rows.catch(() => entries.get(workspaceId) === entry && entries.delete(workspaceId));
      return inTurn(await rows);
    },
    took(workspaceId, mailboxId, { now, day }) {
      const known = entries.get(workspaceId);
      if (!known || known.dayStart !== day.start.getTime()) return;
      void known.rows.then((rows) => {
        const i = rows.findIndex((r) => r.mailbox.id === mailboxId);
        const row = rows[i];
        if (!row) return;
        const daySlots = (row.recount ?? row.mailbox.daySlots) + 1;
        const mailbox = { ...row.mailbox, lastSlotAt: now, dayStart: day.start, dayEnd: day.end, daySlots };
        rows[i] = { mailbox, recount: null };
      }, ignore);
    },
    forget(workspaceId) {
      entries.delete(workspaceId);
    },
  };
}

/**
 * The rows least recently used first. The first one goes to the back of the process's order at
 * once, not when its slot is taken: sends that start together would otherwise all offer the same
 * mailboxes first, and all but one would find them locked and take again.
 */
function inTurn(rows: MailboxState[]): MailboxState[] {
  const order = [...rows].sort(leastRecentlyUsedFirst);
  const head = order[0];
  const i = head ? rows.indexOf(head) : -1;
  if (head && i >= 0) rows[i] = { ...head, mailbox: { ...head.mailbox, lastSlotAt: new Date() } };
  return order;
}
const ignore = () => {};
