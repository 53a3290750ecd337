import { sql } from 'drizzle-orm';
import { ImapFlow } from 'imapflow';
import type { Dovecot } from '../test/helpers/dovecot';
import { api, type BenchEngine } from './engine';
import type { BenchWorkspace } from './seed';
import { waitUntil } from './wait';

export const INBOX_PASS = 'bench-inbox-pass';

/** A mailbox of the workspace whose inbox is a Dovecot account of the same name. */
export type InboxMailbox = { id: string; user: string };

/**
 * `count` mailboxes sending into the SMTP sink at `smtpPort` (limits that do not bind), each with a
 * Dovecot account of its address; the inboxes are not connected yet (`connectInboxes`).
 */
export async function inboxMailboxes(
  engine: BenchEngine,
  ws: BenchWorkspace,
  dovecot: Dovecot,
  opts: { count: number; smtpPort: number },
): Promise<InboxMailbox[]> {
  const boxes: InboxMailbox[] = [];
  for (let i = 0; i < opts.count; i++) {
    const user = `alex${i}@sender${i}.test`;
    dovecot.addUser(user, INBOX_PASS);
    const { id } = await api<{ id: string }>(engine.app, 'POST', '/v1/mailboxes', {
      key: ws.apiKey,
      payload: {
        name: `Sender ${i}`,
        fromEmail: user,
        fromName: 'Alex',
        smtp: { host: '127.0.0.1', port: opts.smtpPort, tls: 'none' },
        dailyLimit: 100_000,
        minIntervalSeconds: 0,
      },
    });
    boxes.push({ id, user });
  }
  return boxes;
}

/** Connects each mailbox's inbox through the API, as a user would; returns when that was done. */
export async function connectInboxes(
  engine: BenchEngine,
  ws: BenchWorkspace,
  dovecot: Dovecot,
  boxes: InboxMailbox[],
): Promise<Date> {
  const at = new Date();
  for (const box of boxes)
    await api(engine.app, 'PATCH', `/v1/mailboxes/${box.id}`, {
      key: ws.apiKey,
      payload: {
        imap: {
          host: dovecot.host,
          port: dovecot.port,
          secure: false,
          tls: 'none',
          user: box.user,
          pass: INBOX_PASS,
        },
      },
    });
  return at;
}

/** Waits until every inbox of the workspace has synced since `since`; fails on any inbox error. */
export async function waitSynced(
  engine: BenchEngine,
  workspaceId: string,
  expected: number,
  since: Date,
  timeoutMs: number,
): Promise<void> {
  await waitUntil(
    async () => {
      const { rows } = await engine.deps.db.execute<{
        synced: number;
        failed: number;
        error: string | null;
      }>(sql`
        select count(*) filter (where inbox_last_sync_at >= ${since})::int as synced,
          count(*) filter (where inbox_status in ('error', 'auth_failed'))::int as failed,
          max(inbox_last_error) as error
        from mailboxes where workspace_id = ${workspaceId} and imap_host is not null`);
      const row = rows[0];
      if (row && row.failed > 0) throw new Error(`${row.failed} inbox(es) failed: ${row.error}`);
      return (row?.synced ?? 0) >= expected;
    },
    { timeoutMs, intervalMs: 200, what: `${expected} inboxes to sync` },
  );
}

/** An IMAP session of one Dovecot account, for APPEND and for the bare fetch. */
export async function imapSession(dovecot: Dovecot, user: string): Promise<ImapFlow> {
  const client = new ImapFlow({
    host: dovecot.host,
    port: dovecot.port,
    secure: false,
    auth: { user, pass: INBOX_PASS },
    logger: false,
    disableAutoIdle: true,
  });
  client.on('error', () => {});
  await client.connect().catch((err: unknown) => {
    throw imapFailure(`log in as ${user}`, err);
  });
  return client;
}

/** Appends `raws` to one account's INBOX over `connections` sessions at once (set-up, not measured). */
export async function appendAll(dovecot: Dovecot, user: string, raws: string[], connections = 4) {
  let next = 0;
  await Promise.all(
    Array.from({ length: connections }, async () => {
      const client = await imapSession(dovecot, user);
      try {
        for (let i = next++; i < raws.length; i = next++) {
          const raw = raws[i];
          if (raw !== undefined)
            await client.append('INBOX', raw).catch((err: unknown) => {
              throw imapFailure(`APPEND ${i} to ${user}`, err);
            });
        }
      } finally {
        await client.logout().catch(() => {});
      }
    }),
  );
}

/** An IMAP failure with the server's own words, and what the bench was doing. */
export function imapFailure(what: string, err: unknown): Error {
  const e = err instanceof Error ? (err as Error & { responseText?: string }) : null;
  return new Error(`${what}: ${e?.responseText ?? e?.message ?? String(err)}`, { cause: err });
}
