import { randomBytes } from 'node:crypto';
import { and, eq, inArray, sql } from 'drizzle-orm';
import { expect } from 'vitest';
import { events, inboxCursors, mailboxes, messages } from '../../../src/db/schema/index';
import type { Dovecot } from '../../helpers/dovecot';
import { createTestWorkspace, type TestWorkspace, waitFor } from '../../helpers/engine';
import { addMailbox } from '../../helpers/mailboxes';
import type { InboxRow } from './summary';
import { type FaultWorld, sleep } from './world';

export const INBOX_PASS = 'inbox-password-1';

/** A workspace whose mailbox sends through the world's SMTP proxy, with a Dovecot account of its own. */
export type InboxMailbox = { ws: TestWorkspace; mailboxId: string; user: string; pass: string };

/** One message a scenario puts in an inbox, and the lead it comes from. */
export type InboxMail = { leadId: string; messageId: string; raw: string };

/**
 * A new workspace and mailbox whose address is also a fresh Dovecot account. The inbox is not read
 * until `connectInbox`: a scenario may put a backlog in place first.
 */
export async function addInboxMailbox(
  world: FaultWorld,
  dovecot: Dovecot,
  name: string,
): Promise<InboxMailbox> {
  const ws = await createTestWorkspace(world.engine.app, `Inbox ${name}`);
  const user = `${name}-${randomBytes(3).toString('hex')}@sender.test`;
  await dovecot.addUser(user, INBOX_PASS);
  const { host, port } = world.proxy;
  const mailbox = await addMailbox(
    world.engine,
    ws,
    { ...world.sink, host, port },
    {
      fromEmail: user,
      dailyLimit: 100_000,
    },
  );
  return { ws, mailboxId: mailbox.id, user, pass: INBOX_PASS };
}

/** Connects the mailbox's inbox through the API, as a user does: the worker processes start reading it. */
export async function connectInbox(world: FaultWorld, dovecot: Dovecot, inbox: InboxMailbox): Promise<void> {
  const res = await world.engine.app.inject({
    method: 'PATCH',
    url: `/v1/mailboxes/${inbox.mailboxId}`,
    headers: inbox.ws.auth,
    payload: {
      imap: {
        host: dovecot.host,
        port: dovecot.port,
        secure: false,
        tls: 'none',
        user: inbox.user,
        pass: inbox.pass,
      },
    },
  });
  expect(res.statusCode, res.body).toBe(200);
}

/** Where the reader is in the mailbox's INBOX (null before its first read). */
export async function inboxCursor(
  world: FaultWorld,
  inbox: InboxMailbox,
): Promise<{ uidValidity: number; lastUid: number } | null> {
  const [row] = await world.engine.deps.db
    .select({ uidValidity: inboxCursors.uidValidity, lastUid: inboxCursors.lastUid })
    .from(inboxCursors)
    .where(and(eq(inboxCursors.mailboxId, inbox.mailboxId), eq(inboxCursors.folder, 'INBOX')));
  return row ?? null;
}

/** A plain human message from `from`; answering `inReplyTo` when given, else matched by its sender. */
export function rawMessage(
  from: string,
  to: string,
  messageId: string,
  opts: { inReplyTo?: string; date?: Date } = {},
): string {
  const { inReplyTo } = opts;
  return [
    `From: <${from}>`,
    `To: <${to}>`,
    'Subject: Re: Hello',
    `Message-ID: ${messageId}`,
    ...(inReplyTo ? [`In-Reply-To: ${inReplyTo}`, `References: ${inReplyTo}`] : []),
    `Date: ${(opts.date ?? new Date()).toUTCString()}`,
    'Content-Type: text/plain; charset=utf-8',
    '',
    'Sounds good, call me on Tuesday.',
    '',
  ].join('\r\n');
}

/** Appends over `connections` IMAP sessions at once, as several senders' mail arrives. */
export async function appendAll(
  dovecot: Dovecot,
  inbox: InboxMailbox,
  mail: InboxMail[],
  connections = 1,
): Promise<void> {
  const share = Math.ceil(mail.length / connections);
  await Promise.all(
    Array.from({ length: connections }, (_, i) =>
      dovecot.appendMany(
        inbox.user,
        inbox.pass,
        mail.slice(i * share, (i + 1) * share).map((m) => m.raw),
      ),
    ),
  );
}

/** How many of `mail` have an inbound row in the mailbox. */
export async function storedCount(
  world: FaultWorld,
  inbox: InboxMailbox,
  mail: InboxMail[],
): Promise<number> {
  if (mail.length === 0) return 0;
  const [row] = await world.engine.deps.db
    .select({ n: sql<number>`count(distinct ${messages.messageId})::int` })
    .from(messages)
    .where(
      and(
        eq(messages.mailboxId, inbox.mailboxId),
        eq(messages.direction, 'inbound'),
        inArray(
          messages.messageId,
          mail.map((m) => m.messageId),
        ),
      ),
    );
  return row?.n ?? 0;
}

/** Waits until every message of `mail` is stored; false at the deadline (the row then shows what was missed). */
export async function allStored(
  world: FaultWorld,
  inbox: InboxMailbox,
  mail: InboxMail[],
  timeoutMs = 90_000,
): Promise<boolean> {
  return waitFor(async () => (await storedCount(world, inbox, mail)) === mail.length, {
    timeoutMs,
    intervalMs: 200,
    what: `${mail.length} messages stored`,
  }).catch(() => false);
}

/**
 * Waits for `count` more complete syncs of the mailbox (each folder read, ambiguous sends looked up,
 * status written), so that whatever a reader would still do with what is already in the mailbox is done.
 */
export async function moreSyncs(world: FaultWorld, inbox: InboxMailbox, count: number, timeoutMs = 120_000) {
  const lastSync = async () => {
    const [row] = await world.engine.deps.db
      .select({ at: mailboxes.inboxLastSyncAt })
      .from(mailboxes)
      .where(eq(mailboxes.id, inbox.mailboxId));
    return row?.at?.getTime() ?? 0;
  };
  let seen = await lastSync();
  for (let i = 0; i < count; i++) {
    seen = await waitFor(
      async () => {
        const at = await lastSync();
        return at > seen ? at : false;
      },
      { timeoutMs, intervalMs: 200, what: 'another sync of the inbox' },
    );
  }
}

/**
 * What became of `mail`: each message should have exactly one inbound row in the mailbox and its
 * lead exactly one `lead.replied` event. `problems` names every message or row that is otherwise.
 */
export async function accountInbox(
  world: FaultWorld,
  inbox: InboxMailbox,
  mail: InboxMail[],
  scenario: string,
  readers: number,
): Promise<{ row: InboxRow; problems: string[] }> {
  const db = world.engine.deps.db;
  const stored = await db
    .select({ messageId: messages.messageId, leadId: messages.leadId })
    .from(messages)
    .where(and(eq(messages.mailboxId, inbox.mailboxId), eq(messages.direction, 'inbound')));
  const replied = await db
    .select({ leadId: events.leadId })
    .from(events)
    .where(and(eq(events.workspaceId, inbox.ws.id), eq(events.type, 'lead.replied')));
  const rowsOf = countBy(stored.map((s) => s.messageId ?? ''));
  const repliesOf = countBy(replied.map((r) => r.leadId ?? ''));
  const row: InboxRow = {
    scenario,
    expected: mail.length,
    actedOn: 0,
    missed: 0,
    duplicates: 0,
    unexpected: 0,
    readers,
  };
  const problems: string[] = [];
  for (const m of mail) {
    const rows = rowsOf.get(m.messageId) ?? 0;
    const replies = repliesOf.get(m.leadId) ?? 0;
    if (rows === 0) row.missed++;
    row.duplicates += Math.max(0, rows - 1) + Math.max(0, replies - 1);
    if (rows === 1 && replies === 1) row.actedOn++;
    else problems.push(`${m.messageId}: ${rows} inbound rows, ${replies} lead.replied for its lead`);
  }
  const expected = new Set(mail.map((m) => m.messageId));
  for (const s of stored) {
    if (expected.has(s.messageId ?? '')) continue;
    row.unexpected++;
    problems.push(`unexpected inbound message ${s.messageId}`);
  }
  return { row, problems };
}

function countBy(keys: string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const k of keys) counts.set(k, (counts.get(k) ?? 0) + 1);
  return counts;
}

/** The process id in a reader's lease owner (`host:pid:random`). */
export const pidOfOwner = (owner: string) => Number(owner.split(':')[1] ?? -1);

export type LeaseSampler = {
  /** The holder now (null when none). */
  current(): string | null;
  /** Every holder seen, in order, a repeat only after another holder. */
  holders(): string[];
  stop(): Promise<void>;
};

/**
 * Samples the inbox's lease owner every `everyMs`. One column holds one owner, so this shows who
 * read the inbox and the hand-overs between them; that no two read it at once is shown by the
 * messages (each stored and acted on once).
 */
export function sampleLease(world: FaultWorld, inbox: InboxMailbox, everyMs = 100): LeaseSampler {
  const seen: string[] = [];
  let now: string | null = null;
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const [row] = await world.engine.deps.db
        .select({ owner: mailboxes.inboxLeaseOwner, until: mailboxes.inboxLeaseUntil })
        .from(mailboxes)
        .where(eq(mailboxes.id, inbox.mailboxId))
        .catch(() => []);
      now = row?.owner && row.until && row.until.getTime() > Date.now() ? row.owner : null;
      if (now && seen.at(-1) !== now) seen.push(now);
      await sleep(everyMs);
    }
  })();
  return {
    current: () => now,
    holders: () => [...seen],
    async stop() {
      stopped = true;
      await loop;
    },
  };
}

/** Expires the inbox's lease now, as if its holder had stalled past it (a long pause, a partition). */
export async function expireLease(world: FaultWorld, inbox: InboxMailbox): Promise<void> {
  await world.engine.deps.db
    .update(mailboxes)
    .set({ inboxLeaseUntil: sql`now() - interval '1 second'` })
    .where(eq(mailboxes.id, inbox.mailboxId));
}
