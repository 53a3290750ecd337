import { createHash } from 'node:crypto';
import { and, eq, sql } from 'drizzle-orm';
import type { FetchMessageObject, ImapFlow } from 'imapflow';
import type { Deps } from '../../../context';
import type { Tx } from '../../../db/client';
import { inboxCursors, type MailboxRow } from '../../../db/schema/index';
import { inTransaction } from '../../../db/transaction';
import type { ReplyClass } from '../../../core/classify-reply';
import { emailFromRaw, type InboundEmail, isOwnMessage } from '../../../engine/inbound/email';
import {
  classifyEmail,
  ingestEmailIn,
  lockMessageIds,
  storeUnmatchedEmails,
} from '../../../engine/inbound/ingest';
import { emailKey } from '../../../lib/identity';
import { PEEK_QUERY, type Peeked, toPeeked } from './peek';

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
  /** Messages read from the server (at least their headers). */
  fetched: number;
  /**
   * Of those, read in full: the ones that may answer us, come from a lead or be a report. The
   * others matched nobody and were stored from their headers.
   */
  bodiesRead: number;
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
 * A message of a batch and what becomes of it: `read` in full, because it may answer us, come from
 * a lead or be a report; then ingested with its effects one by one (`match`: its thread or address
 * is known) or stored with the batch (`store`: it matches nobody, read or not); or skipped as the
 * mailbox's `own` or as `old` (dated before the mailbox was added).
 */
type Item = {
  uid: number;
  internalDate: Date | null;
  outcome: 'read' | 'match' | 'store' | 'own' | 'old';
  email: InboundEmail;
  cls?: ReplyClass;
};

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
    bodiesRead: 0,
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
    // The UID ranges to read, a batch each.
    let ranges: string[];
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
      ranges = batchesOf(uids);
    } else {
      if (box.uidNext !== undefined && box.uidNext <= cursor.lastUid + 1) return result;
      // A few new messages (the usual news of IDLE) are one batch, with no SEARCH to list them.
      ranges =
        box.uidNext !== undefined && box.uidNext - cursor.lastUid - 1 <= BATCH_SIZE
          ? [`${cursor.lastUid + 1}:*`]
          : batchesOf((await client.search({ uid: `${cursor.lastUid + 1}:*` }, { uid: true })) || []);
    }
    const floor = cursor?.uidValidity === uidValidity ? cursor.lastUid : 0;
    // Ingestion of one batch overlaps the reading of the next, and at most one batch waits: memory
    // stays at two batches however large the backlog. Batches commit in UID order.
    let ingesting: Promise<void> = Promise.resolve();
    for (const range of ranges) {
      const read = await readBatch(deps, client, mailbox, range, floor, result);
      await ingesting;
      ingesting = ingestBatch(deps, mailbox, folder, uidValidity, read, result);
      ingesting.catch(() => {}); // awaited by the next batch or below; never an unhandled rejection
    }
    await ingesting;
    return result;
  } finally {
    lock.release();
  }
}

/**
 * Reads a batch in two steps: the envelope and a few header fields of every message, then the body
 * of only those that can concern us. A message needs its body when it answers one of our
 * Message-IDs, comes from a lead, may be a bounce or complaint (whose lead is named in the body),
 * has no Message-ID (its stable id is the hash of its whole header block) or a From header too odd
 * to search. Anything else matches nobody whatever its body says, and is stored from its headers.
 */
async function readBatch(
  deps: SyncDeps,
  client: ImapFlow,
  mailbox: MailboxRow,
  range: string,
  floor: number,
  result: FolderSync,
): Promise<Item[]> {
  const peeked: Peeked[] = [];
  for await (const message of client.fetch(range, PEEK_QUERY, { uid: true })) {
    const peek = toPeeked(message);
    // `N:*` answers the last message even when it is below N: the floor drops it.
    if (peek && peek.uid > floor) peeked.push(peek);
  }
  result.fetched += peeked.length;
  const known = await knownTo(
    deps,
    mailbox.workspaceId,
    peeked.flatMap((p) => p.threadIds),
    peeked.flatMap((p) => p.senders ?? []),
  );
  const self = emailKey(mailbox.fromEmail);
  const items = peeked.map((peek): Item => {
    const item = { uid: peek.uid, internalDate: peek.internalDate, email: peek.email };
    const { senders, email } = peek;
    const single = senders?.length === 1 && senders[0] === email.fromAddress;
    if ((single && email.fromAddress === self) || (email.messageId && known.ours.has(email.messageId)))
      return { ...item, outcome: 'own' };
    // Whatever path brought it (a resync cut short, old mail moved back into the inbox), mail
    // from before the mailbox was added cannot answer anything the engine sent.
    if (peek.internalDate && peek.internalDate < floorOf(mailbox)) return { ...item, outcome: 'old' };
    const concerned =
      !email.messageId ||
      senders === null ||
      senders.some((address) => known.leads.has(address)) ||
      peek.threadIds.some((id) => known.ours.has(id)) ||
      peek.mayBeReport;
    return { ...item, outcome: concerned ? 'read' : 'store' };
  });
  const toRead = items.filter((item) => item.outcome === 'read');
  if (toRead.length === 0) return items;
  const bodies = new Map<number, Fetched>();
  const source = { uid: true, size: true, internalDate: true, source: { maxLength: MAX_FETCH_BYTES } };
  for await (const message of client.fetch(uidRanges(toRead.map((i) => i.uid)), source, { uid: true })) {
    const fetched = toFetched(message);
    if (fetched) bodies.set(fetched.uid, fetched);
  }
  for (const item of toRead) {
    const fetched = bodies.get(item.uid);
    // Gone between the two fetches (expunged), or a server that answered only part: read again
    // from the cursor in the next session rather than step over a message that may be a reply.
    if (!fetched) throw new Error(`message UID ${item.uid} could not be read in full`);
    item.email = await parse(fetched);
    if (isOwnMessage(item.email, mailbox.fromEmail) || known.ours.has(item.email.messageId ?? '')) {
      item.outcome = 'own';
    }
  }
  result.bodiesRead += toRead.length;
  await sortRead(deps, mailbox, toRead, known);
  return items;
}

/**
 * Which messages read in full can match a lead, as `matchEmail` would match them: one of their
 * thread Message-IDs (or the one a report quotes) is ours, or their address (a report's recipient)
 * is a lead's. Those are ingested one by one with their effects; the others are stored with the
 * batch. A lead added in between is no different from one added just after the message was stored.
 */
async function sortRead(
  deps: SyncDeps,
  mailbox: MailboxRow,
  items: Item[],
  known: { ours: Set<string>; leads: Set<string> },
): Promise<void> {
  const candidates = items
    .filter((item) => item.outcome === 'read')
    .map((item) => {
      const cls = classifyEmail(item.email);
      const report = cls.kind === 'bounce' || cls.kind === 'complaint' ? cls : null;
      const { inReplyTo, references } = item.email;
      const ids = [inReplyTo, ...references, report?.originalMessageId ?? null];
      const address = report ? report.recipient : item.email.fromAddress;
      return {
        item,
        cls,
        ids: ids.filter((id): id is string => id !== null),
        addresses: address ? [address] : [],
      };
    });
  // The headers' Message-IDs and senders were looked up already: only what the bodies added (the
  // Message-ID and recipient a report names) is asked for. A reply from a lead asks for nothing.
  const ids = candidates.flatMap((c) => c.ids).filter((id) => !known.ours.has(id));
  const addresses = candidates.flatMap((c) => c.addresses).filter((a) => !known.leads.has(a));
  if (ids.length > 0 || addresses.length > 0) {
    const more = await knownTo(deps, mailbox.workspaceId, ids, addresses);
    for (const id of more.ours) known.ours.add(id);
    for (const address of more.leads) known.leads.add(address);
  }
  for (const { item, cls, ids, addresses } of candidates) {
    const mayMatch = ids.some((id) => known.ours.has(id)) || addresses.some((a) => known.leads.has(a));
    item.cls = cls;
    item.outcome = mayMatch ? 'match' : 'store';
  }
}

/** Which of these Message-IDs are our outbound mail, and which of these addresses are leads. */
async function knownTo(
  deps: SyncDeps,
  workspaceId: string,
  messageIds: string[],
  addressKeys: string[],
): Promise<{ ours: Set<string>; leads: Set<string> }> {
  const ids = [...new Set(messageIds)];
  const addresses = [...new Set(addressKeys)];
  const { rows } = await deps.db.execute<{ kind: 'ours' | 'lead'; value: string }>(sql`
    select 'ours' as kind, message_id as value from messages
      where workspace_id = ${workspaceId} and direction = 'outbound'
        and message_id = any(${sql.param(ids)}::text[])
    union all
    select 'lead', email_key from leads
      where workspace_id = ${workspaceId} and email_key = any(${sql.param(addresses)}::text[])
        and erased_at is null`);
  const ours = new Set<string>();
  const leads = new Set<string>();
  for (const row of rows) (row.kind === 'ours' ? ours : leads).add(row.value);
  return { ours, leads };
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

/** A SEARCH result as FETCH ranges of at most BATCH_SIZE messages each, in UID order. */
function batchesOf(uids: number[]): string[] {
  const sorted = [...new Set(uids)].sort((a, b) => a - b);
  const ranges: string[] = [];
  for (let at = 0; at < sorted.length; at += BATCH_SIZE)
    ranges.push(uidRanges(sorted.slice(at, at + BATCH_SIZE)));
  return ranges;
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
  items: Item[],
  result: FolderSync,
): Promise<void> {
  const counts = await inTransaction(deps, async (tx) => {
    const tally = { ingested: 0, own: 0, old: 0, duplicates: 0, failed: 0 };
    const [cursor] = await tx
      .select()
      .from(inboxCursors)
      .where(and(eq(inboxCursors.mailboxId, mailbox.id), eq(inboxCursors.folder, folder)))
      .for('update');
    // Another reader reset the cursor under a newer UIDVALIDITY: this batch is its to read.
    if (!cursor || cursor.uidValidity !== uidValidity) return null;
    const fresh = items.filter((item) => item.uid > cursor.lastUid);
    tally.duplicates += items.length - fresh.length;
    let lastMessageAt = cursor.lastMessageAt;
    for (const { internalDate } of fresh)
      if (internalDate && (!lastMessageAt || internalDate > lastMessageAt)) lastMessageAt = internalDate;
    tally.own = fresh.filter((item) => item.outcome === 'own').length;
    tally.old = fresh.filter((item) => item.outcome === 'old').length;
    const stored = fresh.filter((item) => item.outcome === 'match' || item.outcome === 'store');
    const log = (err: unknown, uid: number) =>
      deps.log.error({ err, mailboxId: mailbox.id, folder, uid }, 'inbound message could not be stored');
    // Alone, a message with effects takes its own lock in `ingestEmailIn` (the usual news of IDLE).
    if (stored.some((item) => item.outcome === 'store'))
      await lockMessageIds(
        tx,
        mailbox.workspaceId,
        stored.flatMap(({ email }) => (email.messageId ? [email.messageId] : [])),
      );
    const batch = await storeUnmatched(
      tx,
      mailbox,
      stored.filter((item) => item.outcome === 'store'),
      log,
    );
    tally.ingested += batch.stored;
    tally.duplicates += batch.duplicates;
    tally.failed += batch.failed;
    for (const { uid, email, cls } of stored.filter((item) => item.outcome === 'match')) {
      try {
        const outcome = await tx.transaction((sp) =>
          ingestEmailIn(sp, {
            workspaceId: mailbox.workspaceId,
            email,
            cls: cls ?? classifyEmail(email),
            mailboxId: mailbox.id,
          }),
        );
        if (outcome.status === 'duplicate') tally.duplicates++;
        else tally.ingested++;
      } catch (err) {
        // One message Postgres refuses (rolled back to its savepoint) must not stall the folder.
        tally.failed++;
        log(err, uid);
      }
    }
    const lastUid = Math.max(cursor.lastUid, ...fresh.map(({ uid }) => uid));
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

/**
 * Messages that match nobody, read in full or not: one statement for the batch. When Postgres
 * refuses it, each is stored on its own, so one bad message cannot stall the folder.
 */
async function storeUnmatched(
  tx: Tx,
  mailbox: MailboxRow,
  items: Item[],
  log: (err: unknown, uid: number) => void,
): Promise<{ stored: number; duplicates: number; failed: number }> {
  if (items.length === 0) return { stored: 0, duplicates: 0, failed: 0 };
  const store = (list: Item[]) =>
    tx.transaction((sp) =>
      storeUnmatchedEmails(sp, {
        workspaceId: mailbox.workspaceId,
        mailboxId: mailbox.id,
        emails: list.map(({ email, cls }) => ({ email, cls: cls ?? classifyEmail(email) })),
      }),
    );
  try {
    const stored = await store(items);
    return { stored, duplicates: items.length - stored, failed: 0 };
  } catch {
    const tally = { stored: 0, duplicates: 0, failed: 0 };
    for (const item of items) {
      try {
        const stored = await store([item]);
        tally.stored += stored;
        tally.duplicates += 1 - stored;
      } catch (err) {
        tally.failed++;
        log(err, item.uid);
      }
    }
    return tally;
  }
}
