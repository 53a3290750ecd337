import { sql } from 'drizzle-orm';
import type { ImapFlow } from 'imapflow';
import type { Deps } from '../../../context';
import type { MailboxRow } from '../../../db/schema/index';
import { resolveAmbiguousRun } from '../../../engine/resolve';

type SettleDeps = Pick<Deps, 'db' | 'queues' | 'config' | 'log'>;

/** The folder the server files sent mail in (RFC 6154 `\Sent`), when it has one. */
export async function sentFolderOf(client: ImapFlow): Promise<string | null> {
  const folders = await client.list();
  return folders.find((f) => f.specialUse === '\\Sent')?.path ?? null;
}

/**
 * Settles ambiguous sends of this mailbox from the mailbox itself. A run is ambiguous when the
 * engine lost track during the SMTP hand-off; its message carries a Message-ID derived from the run,
 * and Gmail and Microsoft 365 file what was submitted over SMTP in the Sent folder (some servers
 * copy it to the inbox). Found there, the run is settled `sent` and the cadence moves on. Not found,
 * it is looked for again at the next sync until `SENT_LOOKUP_GRACE_SECONDS` after it became
 * ambiguous, and then left to an operator: the engine never resends by guessing.
 */
export async function settleAmbiguousSends(
  deps: SettleDeps,
  client: ImapFlow,
  mailbox: MailboxRow,
): Promise<string[]> {
  const { rows } = await deps.db.execute<{ id: string; message_id: string }>(sql`
    select sr.id, m.message_id from step_runs sr
    join messages m on m.step_run_id = sr.id and m.direction = 'outbound' and m.message_id is not null
    where sr.workspace_id = ${mailbox.workspaceId} and sr.status = 'ambiguous' and m.mailbox_id = ${mailbox.id}
      and sr.updated_at > now() - make_interval(secs => ${deps.config.SENT_LOOKUP_GRACE_SECONDS})
    limit 200`);
  if (rows.length === 0) return [];
  const sent = await sentFolderOf(client);
  const folders = [...new Set([sent, 'INBOX'].filter((f): f is string => f !== null))];
  const found = new Set<string>();
  for (const folder of folders) {
    const lock = await client.getMailboxLock(folder, { readOnly: true });
    try {
      for (const row of rows) {
        if (found.has(row.id)) continue;
        const uids = await client.search({ header: { 'message-id': row.message_id } }, { uid: true });
        if (uids && uids.length > 0) found.add(row.id);
      }
    } finally {
      lock.release();
    }
  }
  const settled: string[] = [];
  for (const id of found) {
    const result = await resolveAmbiguousRun(deps, mailbox.workspaceId, id, 'sent', 'sent_folder');
    if (result.ok) settled.push(id);
  }
  if (settled.length > 0)
    deps.log.info(
      { mailboxId: mailbox.id, stepRunIds: settled },
      'ambiguous sends found in the mailbox: settled as sent',
    );
  return settled;
}
