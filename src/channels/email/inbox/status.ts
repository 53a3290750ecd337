import { and, eq, isNotNull, sql } from 'drizzle-orm';
import type { Deps } from '../../../context';
import { type InboxStatus, type MailboxRow, mailboxes } from '../../../db/schema/index';
import { recordEvent } from '../../../timeline/events';

type StatusDeps = Pick<Deps, 'db'>;

/** Backoff after the n-th consecutive failure: 2 s, 4 s, 8 s… capped at 5 minutes. */
export const inboxBackoffMs = (failures: number) =>
  Math.min(2_000 * 2 ** Math.max(0, failures - 1), 5 * 60_000);

/** A sync went through: the inbox is `connected` (a live session listening) or `idle` (read, then closed). */
export async function markInboxSynced(
  deps: StatusDeps,
  mailboxId: string,
  status: Extract<InboxStatus, 'connected' | 'idle'>,
) {
  await deps.db
    .update(mailboxes)
    .set({
      inboxStatus: status,
      inboxLastSyncAt: new Date(),
      inboxLastError: null,
      inboxFailures: 0,
      inboxRetryAt: null,
    })
    .where(eq(mailboxes.id, mailboxId));
}

/**
 * A session failed: the mailbox shows the server's words, waits out a backoff before any reader
 * tries again, and the timeline gets `mailbox.inbox_error` when the status or the error changes
 * (not at every retry of the same failure).
 */
export async function markInboxFailed(
  deps: StatusDeps,
  mailbox: MailboxRow,
  failure: { status: Extract<InboxStatus, 'auth_failed' | 'error'>; error: string },
): Promise<void> {
  await deps.db.transaction(async (tx) => {
    const [before] = await tx
      .select({
        status: mailboxes.inboxStatus,
        error: mailboxes.inboxLastError,
        failures: mailboxes.inboxFailures,
      })
      .from(mailboxes)
      .where(and(eq(mailboxes.id, mailbox.id), isNotNull(mailboxes.imapHost)))
      .for('update');
    if (!before) return;
    const failures = before.failures + 1;
    await tx
      .update(mailboxes)
      .set({
        inboxStatus: failure.status,
        inboxLastError: failure.error,
        inboxFailures: failures,
        inboxErrorsTotal: sql`${mailboxes.inboxErrorsTotal} + 1`,
        inboxRetryAt: sql`now() + make_interval(secs => ${inboxBackoffMs(failures) / 1000})`,
      })
      .where(and(eq(mailboxes.id, mailbox.id)));
    if (before.status === failure.status && before.error === failure.error) return;
    await recordEvent(tx, {
      workspaceId: mailbox.workspaceId,
      type: 'mailbox.inbox_error',
      data: {
        mailboxId: mailbox.id,
        status: failure.status,
        error: failure.error,
        failures,
        retryAt: new Date(Date.now() + inboxBackoffMs(failures)).toISOString(),
      },
    });
  });
}
