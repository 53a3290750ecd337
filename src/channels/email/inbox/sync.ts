import { createHash } from 'node:crypto';
import { and, eq, inArray, sql } from 'drizzle-orm';
import type { FetchMessageObject, ImapFlow } from 'imapflow';
import type { Deps } from '../../../context';
import { inboxCursors, type MailboxRow, messages } from '../../../db/schema/index';
import { inTransaction } from '../../../db/transaction';
import { emailFromRaw, type InboundEmail, isOwnMessage } from '../../../engine/inbound/email';
import { classifyEmail, ingestEmailIn } from '../../../engine/inbound/ingest';

/**
 * The bytes of a message read: its headers, its text and the start of any attachment. A bigger
 * message (a 20 MB attachment) is read this far, stored with `x-engine-truncated`, and classified
 * on what was read: what a reply says comes first.
 */
export const MAX_FETCH_BYTES = 2 * 1024 * 1024;
/** Messages ingested per transaction: one cursor move and one commit for each batch. */
const BATCH_SIZE = 100;
/** A resync by date starts this long before the newest message ingested (SINCE is by day, in the server's zone). */
const RESYNC_MARGIN_MS = 2 * 86_400_000;

type SyncDeps = Pick<Deps, 'db' | 'log'>;

export type FolderSync = {
  folder: string;
  /** Messages read from the server. */
  fetched: number;
  /** Stored as inbound (matched or not), with their effects. */
  ingested: number;
  /** The mailbox's own messages, or copies of ours: skipped. */
  own: number;
  /** Dated before the mailbox was added (an archive moved back into the inbox): no answer to us, skipped. */
  old: number;
  /** Already stored (by Message-ID, or by another reader that claimed the UID first). */
  duplicates: number;
  /** Could not be stored even in the minimal form; logged. */
  failed: number;
  /** The folder's UIDVALIDITY changed and it was read again by date. */
  resynced: boolean;
  /** UIDNEXT when the folder was examined for this read: mail at or above it arrived later. */
  uidNext: number | null;
};

type Cursor = typeof inboxCursors.$inferSelect;
type Fetched = { uid: number; raw: Buffer; size: number; internalDate: Date | null };

/**
 * Reads the new messages of one folder and ingests each exactly once. The folder is opened
 * read-only (EXAMINE) and bodies are fetched with BODY.PEEK: the user's mailbox is never changed,
 * not even its \Seen flags. Messages are claimed by moving the folder's cursor past their UID in the
 * transaction that stores them, so a crash, a dropped connection or a second reader never acts on a
 * UID twice, and a connection lost mid-fetch resumes after the last batch committed.
 */
export async function syncFolder(
  deps: SyncDeps,
  client: ImapFlow,
  mailbox: MailboxRow,
  folder: string,
): Promise<FolderSync> {
  const result: FolderSync = {
    folder,
    fetched: 0,
    ingested: 0,
    own: 0,
    old: 0,
    duplicates: 0,
    failed: 0,
    resynced: false,
    uidNext: null,
  };
  const wasOpen = client.mailbox && client.mailbox.path === folder;
  const lock = await client.getMailboxLock(folder, { readOnly: true });
  try {
    // A folder that stayed selected (INBOX, between IDLEs) is examined again: its UIDNEXT as of the
    // last EXAMINE says nothing of what arrived since.
    if (wasOpen) await client.mailboxOpen(folder, { readOnly: true });
    const box = client.mailbox;
    if (!box) throw new Error(`folder ${folder} did not open`);
    const uidValidity = Number(box.uidValidity);
    result.uidNext = box.uidNext ?? null;
    const cursor = await loadCursor(deps, mailbox.id, folder);
    let range: string;
    if (!cursor || cursor.uidValidity !== uidValidity) {
      // First read of the folder, or the server renumbered it: read by date from where we were (or
      // from the mailbox's creation), and let the Message-ID dedupe drop what was already stored.
      const since = cursor?.lastMessageAt
        ? new Date(Math.max(cursor.lastMessageAt.getTime() - RESYNC_MARGIN_MS, floorOf(mailbox).getTime()))
        : floorOf(mailbox);
      const uids = (await client.search({ since }, { uid: true })) || [];
      // The cursor starts just below the window: what lies under it is older than the window and is
      // never fetched, even when this read is cut short (else the next one would read from UID 1).
      const below = uids.length > 0 ? uids.reduce((a, b) => Math.min(a, b)) - 1 : (box.uidNext ?? 1) - 1;
      await resetCursor(deps, mailbox.id, folder, uidValidity, below, cursor?.lastMessageAt ?? null);
      result.resynced = cursor !== null;
      if (cursor)
        deps.log.warn(
          { mailboxId: mailbox.id, folder, uidValidity },
          'UIDVALIDITY changed: reading the folder again by date',
        );
      if (uids.length === 0) return result;
      range = uidRanges(uids);
    } else {
      if (box.uidNext !== undefined && box.uidNext <= cursor.lastUid + 1) return result;
      range = `${cursor.lastUid + 1}:*`;
    }
    const floor = cursor?.uidValidity === uidValidity ? cursor.lastUid : 0;
    let batch: Fetched[] = [];
    // Ingestion of one batch overlaps the fetch of the next, and at most one batch waits: memory
    // stays at two batches however large the backlog. Batches commit in UID order.
    let ingesting: Promise<void> = Promise.resolve();
    const flush = async (items: Fetched[]) => {
      await ingesting;
      ingesting = ingestBatch(deps, mailbox, folder, uidValidity, items, result);
      ingesting.catch(() => {}); // awaited by the next flush or below; never an unhandled rejection
    };
    for await (const message of client.fetch(
      range,
      { uid: true, size: true, internalDate: true, source: { maxLength: MAX_FETCH_BYTES } },
      { uid: true },
    )) {
      const fetched = toFetched(message);
      // `N:*` answers the last message even when it is below N.
      if (!fetched || fetched.uid <= floor) continue;
      result.fetched++;
      batch.push(fetched);
      if (batch.length >= BATCH_SIZE) {
        await flush(batch);
        batch = [];
      }
    }
    if (batch.length > 0) await flush(batch);
    await ingesting;
    return result;
  } finally {
    lock.release();
  }
}

/** The oldest mail read: two days before the mailbox was added (SEARCH SINCE is by day, in the server's zone). */
const floorOf = (mailbox: MailboxRow) => new Date(mailbox.createdAt.getTime() - RESYNC_MARGIN_MS);

function toFetched(message: FetchMessageObject): Fetched | null {
  if (!message.uid || !message.source) return null;
  const internal = message.internalDate ? new Date(message.internalDate) : null;
  return {
    uid: message.uid,
    raw: message.source,
    size: message.size ?? message.source.length,
    internalDate: internal && !Number.isNaN(internal.getTime()) ? internal : null,
  };
}

/** `1:5,7,9:12` for [1,2,3,4,5,7,9,10,11,12]: a SEARCH result as a short FETCH range. */
export function uidRanges(uids: number[]): string {
  const sorted = [...new Set(uids)].sort((a, b) => a - b);
  const parts: string[] = [];
  let start = sorted[0] ?? 0;
  let end = start;
  for (const uid of sorted.slice(1)) {
    if (uid === end + 1) {
      end = uid;
      continue;
    }
    parts.push(start === end ? `${start}` : `${start}:${end}`);
    start = end = uid;
  }
  parts.push(start === end ? `${start}` : `${start}:${end}`);
  return parts.join(',');
}

async function loadCursor(deps: SyncDeps, mailboxId: string, folder: string): Promise<Cursor | null> {
  const [row] = await deps.db
    .select()
    .from(inboxCursors)
    .where(and(eq(inboxCursors.mailboxId, mailboxId), eq(inboxCursors.folder, folder)));
  return row ?? null;
}

/** Starts the folder's cursor over under a new UIDVALIDITY (no-op when another reader already did). */
async function resetCursor(
  deps: SyncDeps,
  mailboxId: string,
  folder: string,
  uidValidity: number,
  lastUid: number,
  lastMessageAt: Date | null,
) {
  await deps.db
    .insert(inboxCursors)
    .values({ mailboxId, folder, uidValidity, lastUid, lastMessageAt })
    .onConflictDoUpdate({
      target: [inboxCursors.mailboxId, inboxCursors.folder],
      set: { uidValidity, lastUid, updatedAt: new Date() },
      setWhere: sql`${inboxCursors.uidValidity} <> ${uidValidity}`,
    });
}

/** Parsed, with a Message-ID: a message without one gets a stable id from its header block. */
async function parse(item: Fetched): Promise<InboundEmail> {
  let email: InboundEmail;
  try {
    email = await emailFromRaw(item.raw);
  } catch {
    // mailparser gives up on very little; what remains is kept as text rather than lost.
    const text = item.raw
      .subarray(0, 64 * 1024)
      .toString('utf8')
      .replaceAll('\u0000', '');
    email = {
      from: '',
      fromAddress: null,
      to: null,
      subject: null,
      text,
      html: null,
      messageId: null,
      inReplyTo: null,
      references: [],
      headers: {},
      attachedHeaders: null,
      receivedAt: new Date(),
    };
  }
  if (item.size > item.raw.length) {
    email.headers['x-engine-truncated'] = `read ${item.raw.length} of ${item.size} bytes`;
  }
  if (item.internalDate && item.internalDate <= new Date()) email.receivedAt = item.internalDate;
  if (!email.messageId) email.messageId = syntheticMessageId(item.raw);
  return email;
}

/** The header block's hash: the same message read again (after a UIDVALIDITY change) gets the same id. */
function syntheticMessageId(raw: Buffer): string {
  const end = raw.indexOf('\r\n\r\n');
  const head = raw.subarray(0, end === -1 ? Math.min(raw.length, 64 * 1024) : end);
  return `<${createHash('sha256').update(head).digest('hex')}@no-message-id.invalid>`;
}

async function ingestBatch(
  deps: SyncDeps,
  mailbox: MailboxRow,
  folder: string,
  uidValidity: number,
  items: Fetched[],
  result: FolderSync,
): Promise<void> {
  const parsed = await Promise.all(items.map(async (item) => ({ item, email: await parse(item) })));
  const ids = parsed.flatMap(({ email }) => (email.messageId ? [email.messageId] : []));
  const ours = new Set(
    ids.length === 0
      ? []
      : (
          await deps.db
            .select({ messageId: messages.messageId })
            .from(messages)
            .where(
              and(
                eq(messages.workspaceId, mailbox.workspaceId),
                eq(messages.direction, 'outbound'),
                inArray(messages.messageId, ids),
              ),
            )
        ).map((r) => r.messageId),
  );
  const counts = await inTransaction(deps, async (tx) => {
    const tally = { ingested: 0, own: 0, old: 0, duplicates: 0, failed: 0 };
    const [cursor] = await tx
      .select()
      .from(inboxCursors)
      .where(and(eq(inboxCursors.mailboxId, mailbox.id), eq(inboxCursors.folder, folder)))
      .for('update');
    // Another reader reset the cursor under a newer UIDVALIDITY: this batch is its to read.
    if (!cursor || cursor.uidValidity !== uidValidity) return null;
    const fresh = parsed.filter(({ item }) => item.uid > cursor.lastUid);
    tally.duplicates += parsed.length - fresh.length;
    let lastMessageAt = cursor.lastMessageAt;
    for (const { item, email } of fresh) {
      if (item.internalDate && (!lastMessageAt || item.internalDate > lastMessageAt))
        lastMessageAt = item.internalDate;
      if (isOwnMessage(email, mailbox.fromEmail) || ours.has(email.messageId)) {
        tally.own++;
        continue;
      }
      // Whatever path brought it (a resync cut short, old mail moved back into the inbox), mail
      // from before the mailbox was added cannot answer anything the engine sent.
      if (item.internalDate && item.internalDate < floorOf(mailbox)) {
        tally.old++;
        continue;
      }
      try {
        const outcome = await tx.transaction((sp) =>
          ingestEmailIn(sp, {
            workspaceId: mailbox.workspaceId,
            email,
            cls: classifyEmail(email),
            mailboxId: mailbox.id,
          }),
        );
        if (outcome.status === 'duplicate') tally.duplicates++;
        else tally.ingested++;
      } catch (err) {
        // One message Postgres refuses (rolled back to its savepoint) must not stall the folder.
        tally.failed++;
        deps.log.error(
          { err, mailboxId: mailbox.id, folder, uid: item.uid },
          'inbound message could not be stored',
        );
      }
    }
    const lastUid = Math.max(cursor.lastUid, ...fresh.map(({ item }) => item.uid));
    await tx
      .update(inboxCursors)
      .set({ lastUid, lastMessageAt, updatedAt: new Date() })
      .where(and(eq(inboxCursors.mailboxId, mailbox.id), eq(inboxCursors.folder, folder)));
    return tally;
  });
  if (!counts) return;
  result.ingested += counts.ingested;
  result.own += counts.own;
  result.old += counts.old;
  result.duplicates += counts.duplicates;
  result.failed += counts.failed;
}
