import { and, eq, sql } from 'drizzle-orm';
import type { Deps } from '../../../context';
import { type MailboxRow, mailboxes } from '../../../db/schema/index';

/** How long a reader holds an inbox without renewing; a crashed reader's inboxes are taken over after it. */
export const INBOX_LEASE_SECONDS = 60;

type LeaseDeps = Pick<Deps, 'db'>;

/** A mailbox whose inbox is read: an IMAP host, or OAuth2 (whose provider has a known IMAP host). */
const hasInbox = sql`(${mailboxes.imapHost} is not null)`;

/**
 * Takes up to `limit` inboxes that no live reader holds and that are not waiting out a backoff, for
 * `owner`. `skip locked` lets several processes take different inboxes at once.
 */
export async function acquireInboxes(deps: LeaseDeps, owner: string, limit: number): Promise<MailboxRow[]> {
  if (limit <= 0) return [];
  const { rows } = await deps.db.execute<{ id: string }>(sql`
    update mailboxes set inbox_lease_owner = ${owner},
      inbox_lease_until = now() + make_interval(secs => ${INBOX_LEASE_SECONDS})
    where id in (
      select id from mailboxes
      where status <> 'deleted' and ${hasInbox}
        and (inbox_lease_until is null or inbox_lease_until < now())
        and (inbox_retry_at is null or inbox_retry_at <= now())
      order by inbox_lease_until nulls first
      limit ${limit}
      for update skip locked)
    returning id`);
  if (rows.length === 0) return [];
  return deps.db
    .select()
    .from(mailboxes)
    .where(
      sql`${mailboxes.id} in (${sql.join(
        rows.map((r) => sql`${r.id}`),
        sql`, `,
      )})`,
    );
}

/**
 * Extends the lease; returns the mailbox as it is now, or null when the lease was lost (another
 * reader took it after it expired, or the mailbox was deleted or lost its inbox settings).
 */
export async function renewInbox(
  deps: LeaseDeps,
  owner: string,
  mailboxId: string,
): Promise<MailboxRow | null> {
  const [row] = await deps.db
    .update(mailboxes)
    .set({ inboxLeaseUntil: sql`now() + make_interval(secs => ${INBOX_LEASE_SECONDS})` })
    .where(
      and(
        eq(mailboxes.id, mailboxId),
        eq(mailboxes.inboxLeaseOwner, owner),
        sql`${mailboxes.status} <> 'deleted'`,
        hasInbox,
      ),
    )
    .returning();
  return row ?? null;
}

/** Gives the inbox back (a clean stop, or a failure whose backoff is recorded on the mailbox). */
export async function releaseInbox(deps: LeaseDeps, owner: string, mailboxId: string): Promise<void> {
  await deps.db
    .update(mailboxes)
    .set({ inboxLeaseOwner: null, inboxLeaseUntil: null })
    .where(and(eq(mailboxes.id, mailboxId), eq(mailboxes.inboxLeaseOwner, owner)));
}
