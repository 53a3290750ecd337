/**
 * The sends of this process from their slot take to their end, per mailbox. Round-robin spreads
 * slots evenly, but not the sends in flight: SMTP answers take more or less time, so some mailboxes
 * build a queue for their sessions while others have sessions idle (in the slow-SMTP bench the
 * queue a send met ran from 4 to 10; the sends waited 0.4 s at the median and 0.9 s at p90 while
 * sessions were free elsewhere). Mailboxes with a free session are offered first, in round-robin
 * order; then the shortest queues. With no mailbox's sessions all busy, round-robin's order stands,
 * so a quiet workspace (and the simulation, which orders by round-robin alone) sees no change.
 * A send counts on its first offer while its take runs, so sends deciding at the same moment see
 * one another instead of all joining the same short queue.
 */
export function createInFlight(sessionsPerMailbox: number) {
  const counts = new Map<string, number>();
  return {
    add(mailboxId: string) {
      counts.set(mailboxId, (counts.get(mailboxId) ?? 0) + 1);
    },
    remove(mailboxId: string) {
      const n = (counts.get(mailboxId) ?? 1) - 1;
      if (n > 0) counts.set(mailboxId, n);
      else counts.delete(mailboxId);
    },
    freeFirst<T extends { mailbox: { id: string } }>(rows: T[]): T[] {
      if (counts.size === 0 || rows.length < 2) return rows;
      const free: T[] = [];
      const busy: T[] = [];
      for (const row of rows)
        ((counts.get(row.mailbox.id) ?? 0) < sessionsPerMailbox ? free : busy).push(row);
      if (busy.length === 0) return rows;
      busy.sort((a, b) => (counts.get(a.mailbox.id) ?? 0) - (counts.get(b.mailbox.id) ?? 0));
      return free.concat(busy);
    },
  };
}
