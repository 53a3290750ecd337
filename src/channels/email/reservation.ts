import { and, desc, eq, inArray, or, sql } from 'drizzle-orm';
import type { Db, DbOrTx } from '../../db/client';
import { mailboxes, messages } from '../../db/schema/index';
import { handOffStarted } from '../../engine/liveness';
import { leastRecentlyUsedFirst, type MailboxRow } from './mailbox-choice';
import { prepared } from '../../db/prepared';

type MessageValues = typeof messages.$inferInsert;
/** The message row minus what the reservation fills in (mailbox, status, time). */
export type MessageDraft = Omit<MessageValues, 'id' | 'workspaceId' | 'mailboxId' | 'status' | 'createdAt'>;
/** The parts of the draft that depend on the sending mailbox. */
export type SenderFields = { messageId: string; fromAddress: string; headers: Record<string, string> };
export type SharedDraft = Omit<MessageDraft, keyof SenderFields>;

/** The calendar day a mailbox counts its sends in. */
export type Day = { start: Date; end: Date };

/** The outbound message an earlier attempt of this run wrote, if any. */
export type PriorMessage = {
  id: string;
  status: string;
  messageId: string | null;
  subject: string | null;
  mailboxId: string | null;
  /** The run's generation when the row was written (null on rows written before it was kept). */
  generation: number | null;
};

/**
 * A mailbox as read before taking a slot. `recount` is today's `sending`/`sent` messages counted in
 * `messages`, present when the row's counter is for another day (or was recounted); otherwise the
 * row's own `daySlots` is today's count.
 */
export type MailboxState = { mailbox: MailboxRow; recount: number | null };

/** A mailbox that had room when read, with what its slot may be taken under. */
export type Offer = MailboxState & { limit: number; sender: SenderFields };

export type Reserved = { mailbox: MailboxRow; messageRowId: string; draft: MessageDraft };

const priorJson = (leadId: string, stepRunId: string) => sql<PriorMessage | null>`(
  select json_build_object('id', p.id, 'status', p.status, 'messageId', p.message_id,
    'subject', p.subject, 'mailboxId', p.mailbox_id, 'generation', p.step_run_generation)
  from messages p
  where p.lead_id = ${leadId}::uuid and p.step_run_id = ${stepRunId}::uuid and p.direction = 'outbound'
  order by p.created_at desc
  limit 1)`;

const countedToday = (mailboxId: unknown, day: Day) => sql`(
  select count(*)::int from messages c
  where c.mailbox_id = ${mailboxId} and c.created_at >= ${day.start}::timestamptz
    and c.created_at < ${day.end}::timestamptz and c.direction = 'outbound'
    and c.status in ('sending', 'sent'))`;

/** Today's count of a mailbox whose counter is for another day, else null (the counter is today's). */
const recountIfStale = (day: Day) => sql<number | null>`case
  when ${mailboxes.dayStart} is distinct from ${day.start}::timestamptz
    or ${mailboxes.dayEnd} is distinct from ${day.end}::timestamptz
  then ${countedToday(mailboxes.id, day)} end`;

/**
 * The workspace's active and paused mailboxes (paused ones so a thread pinned to one waits for it),
 * each with today's count when its counter is for another day. Locks nothing.
 */
export async function readMailboxes(
  db: DbOrTx,
  input: { workspaceId: string; day: Day },
): Promise<MailboxState[]> {
  return db
    .select({ mailbox: mailboxes, recount: recountIfStale(input.day) })
    .from(mailboxes)
    .where(
      and(eq(mailboxes.workspaceId, input.workspaceId), inArray(mailboxes.status, ['active', 'paused'])),
    );
}

/**
 * One read before the slot: the workspace's active mailboxes (least recently used first) and the
 * pinned ones, each with today's count when its counter is for another day, and the run's earlier
 * message. Locks nothing; `takeSlot` re-checks everything it relied on.
 */
export async function readSendState(
  db: DbOrTx,
  input: { workspaceId: string; leadId: string; stepRunId: string; pinned: string[]; day: Day },
): Promise<{ rows: MailboxState[]; prior: PriorMessage | null }> {
  const rows = await db
    .select({
      mailbox: mailboxes,
      recount: recountIfStale(input.day),
      prior: priorJson(input.leadId, input.stepRunId),
    })
    .from(mailboxes)
    .where(
      and(
        eq(mailboxes.workspaceId, input.workspaceId),
        input.pinned.length > 0
          ? or(eq(mailboxes.status, 'active'), inArray(mailboxes.id, input.pinned))
          : eq(mailboxes.status, 'active'),
      ),
    );
  if (rows.length > 0)
    return {
      rows: rows.map(({ mailbox, recount }) => ({ mailbox, recount })).sort(leastRecentlyUsedFirst),
      prior: rows[0]?.prior ?? null,
    };
  // No mailbox at all: the run's earlier message still decides whether it was sent.
  const [prior] = await db
    .select({
      id: messages.id,
      status: messages.status,
      messageId: messages.messageId,
      subject: messages.subject,
      mailboxId: messages.mailboxId,
      generation: messages.stepRunGeneration,
    })
    .from(messages)
    .where(
      and(
        eq(messages.leadId, input.leadId),
        eq(messages.stepRunId, input.stepRunId),
        eq(messages.direction, 'outbound'),
      ),
    )
    .orderBy(desc(messages.createdAt))
    .limit(1);
  return { rows: [], prior: prior ?? null };
}

/** Today's `sending`/`sent` messages of these mailboxes, counted in `messages`. */
export async function recountDay(db: DbOrTx, mailboxIds: string[], day: Day): Promise<Map<string, number>> {
  if (mailboxIds.length === 0) return new Map();
  const { rows } = await db.execute<{ mailbox_id: string; n: number }>(sql`
    select m.id as mailbox_id, ${countedToday(sql`m.id`, day)} as n
    from mailboxes m where m.id = any(${sql.param(mailboxIds)}::uuid[])`);
  return new Map(rows.map((r) => [r.mailbox_id, Number(r.n)]));
}

/**
 * Takes one send slot from the first offer whose mailbox still allows it, and writes the message
 * as `sending` before any byte goes to SMTP, in one statement. The statement re-checks under the
 * mailbox's row lock what the offer was computed from: still active, the same limits and spacing,
 * the day's count below the limit (or, when the offer carries a recount, the counter unchanged),
 * no slot taken since on a spaced mailbox, and a reused row still released. A concurrent slot on
 * the same mailbox waits for the lock and is then checked against the new count, so no limit can
 * be exceeded however many workers send at once. With `skipLocked`, a mailbox another worker is
 * taking a slot from right now is passed over for the next offer instead of waited for.
 * The same statement records on the run that its hand-off started (`handOffStarted`), and takes
 * nothing when the claim is no longer current: a worker that dies before this statement leaves a
 * run that is simply run again; one that dies after it, a run that may have been sent.
 * Returns null when no offer holds any more (read again and decide again).
 */
export async function takeSlot(
  db: Db,
  input: {
    workspaceId: string;
    /** The claim this send belongs to: no slot is taken once it is no longer current. */
    run: { id: string; generation: number };
    now: Date;
    day: Day;
    /** A retry reuses the row (and Message-ID) of the failed attempt, so a run has one message. */
    priorMessageRowId: string | null;
    /**
     * The run's earlier messages were not read (`priorMessageRowId` is then null): take a slot only
     * if the run has no outbound message at all, and otherwise nothing (read, and decide again).
     */
    priorUnread?: boolean;
    draft: SharedDraft;
    offers: Offer[];
    skipLocked: boolean;
  },
): Promise<Reserved | null> {
  const { now, day, draft, priorMessageRowId: prior } = input;
  const offers = input.offers.map((o, ord) => ({
    ord,
    id: o.mailbox.id,
    lim: o.limit,
    recount: o.recount,
    seen_day_start: o.mailbox.dayStart?.toISOString() ?? null,
    seen_day_end: o.mailbox.dayEnd?.toISOString() ?? null,
    seen_slots: o.mailbox.daySlots,
    daily_limit: o.mailbox.dailyLimit,
    min_interval_seconds: o.mailbox.minIntervalSeconds,
    warmup: o.mailbox.warmup,
    seen_last_slot: o.mailbox.lastSlotAt?.toISOString() ?? null,
    seen_updated_at: o.mailbox.updatedAt.toISOString(),
    message_id: o.sender.messageId,
    from_address: o.sender.fromAddress,
    headers: o.sender.headers,
  }));
  const lock = input.skipLocked ? sql`for update of m skip locked` : sql`for update of m`;
  const { rows } = await db.execute<{ mailbox_id: string; message_row_id: string | null }>(
    prepared(sql`
    with fence as (${handOffStarted(input.run)}),
    c as (
      select * from json_to_recordset(${JSON.stringify(offers)}::json) as c(
        ord int, id uuid, lim int, recount int, seen_day_start timestamptz, seen_day_end timestamptz,
        seen_slots int, daily_limit int, min_interval_seconds int, warmup jsonb,
        seen_last_slot timestamptz, seen_updated_at timestamptz, message_id text, from_address text,
        headers jsonb)
    ),
    pick as (
      select m.id, c.recount, c.message_id, c.from_address, c.headers
      from mailboxes m join c on c.id = m.id
      where exists (select 1 from fence)
        and m.workspace_id = ${input.workspaceId}::uuid and m.status = 'active'
        and m.daily_limit = c.daily_limit and m.min_interval_seconds = c.min_interval_seconds
        and m.warmup is not distinct from c.warmup
        -- Edited since it was read (its SMTP settings, say): read it again before sending with it.
        and date_trunc('milliseconds', m.updated_at) = c.seen_updated_at
        and (m.min_interval_seconds <= 0
          or date_trunc('milliseconds', m.last_slot_at) is not distinct from c.seen_last_slot)
        and case when c.recount is null
          then m.day_start = ${day.start}::timestamptz and m.day_end = ${day.end}::timestamptz
            and m.day_slots < c.lim
          else m.day_start is not distinct from c.seen_day_start
            and m.day_end is not distinct from c.seen_day_end and m.day_slots = c.seen_slots
        end
        and (${prior}::uuid is null or exists (
          select 1 from messages r where r.id = ${prior}::uuid and r.status in ('failed', 'canceled')))
        and (not ${input.priorUnread ?? false}::boolean or not exists (
          select 1 from messages p where p.lead_id = ${draft.leadId ?? null}::uuid
            and p.step_run_id = ${draft.stepRunId ?? null}::uuid and p.direction = 'outbound'))
      order by c.ord
      limit 1
      ${lock}
    ),
    slot as (
      update mailboxes m
      set last_slot_at = ${now}::timestamptz, day_start = ${day.start}::timestamptz,
        day_end = ${day.end}::timestamptz, day_slots = coalesce(pick.recount, m.day_slots) + 1
      from pick where m.id = pick.id
      returning m.id, pick.message_id, pick.from_address, pick.headers
    ),
    reused as (
      update messages r
      set mailbox_id = slot.id, status = 'sending', created_at = ${now}::timestamptz,
        message_id = slot.message_id, from_address = slot.from_address, headers = slot.headers,
        lead_id = ${draft.leadId ?? null}::uuid, enrollment_id = ${draft.enrollmentId ?? null}::uuid,
        step_run_id = ${draft.stepRunId ?? null}::uuid,
        step_run_generation = ${draft.stepRunGeneration ?? null}::int, direction = ${draft.direction}::text,
        channel = ${draft.channel}::text, in_reply_to = ${draft.inReplyTo ?? null}::text,
        "references" = ${draft.references ?? null}::text, to_address = ${draft.toAddress ?? null}::text,
        subject = ${draft.subject ?? null}::text, body_text = ${draft.bodyText ?? null}::text,
        body_html = ${draft.bodyHtml ?? null}::text
      from slot where r.id = ${prior}::uuid
      returning r.id
    ),
    inserted as (
      insert into messages (workspace_id, mailbox_id, status, created_at, message_id, from_address,
        headers, lead_id, enrollment_id, step_run_id, step_run_generation, direction, channel, in_reply_to, "references",
        to_address, subject, body_text, body_html)
      select ${input.workspaceId}::uuid, slot.id, 'sending', ${now}::timestamptz, slot.message_id,
        slot.from_address, slot.headers, ${draft.leadId ?? null}::uuid,
        ${draft.enrollmentId ?? null}::uuid, ${draft.stepRunId ?? null}::uuid,
        ${draft.stepRunGeneration ?? null}::int, ${draft.direction}::text,
        ${draft.channel}::text, ${draft.inReplyTo ?? null}::text, ${draft.references ?? null}::text,
        ${draft.toAddress ?? null}::text, ${draft.subject ?? null}::text,
        ${draft.bodyText ?? null}::text, ${draft.bodyHtml ?? null}::text
      from slot where ${prior}::uuid is null
      returning id
    )
    select slot.id as mailbox_id,
      coalesce((select id from reused), (select id from inserted)) as message_row_id
    from slot`),
  );
  const [row] = rows;
  if (!row) return null;
  const offer = input.offers.find((o) => o.mailbox.id === row.mailbox_id);
  if (!offer || !row.message_row_id) throw new Error('message row was not written');
  return {
    mailbox: offer.mailbox,
    messageRowId: row.message_row_id,
    draft: { ...draft, ...offer.sender },
  };
}

/**
 * Ends a `sending` row that never reached SMTP or was refused (`failed`, `canceled`) and gives its
 * slot back to the day it was counted in, in one statement. A row no longer `sending` is left alone.
 */
export async function releaseMessage(db: DbOrTx, id: string, status: 'failed' | 'canceled'): Promise<void> {
  await db.execute(
    prepared(sql`
    with released as (
      update messages set status = ${status}::text
      where id = ${id}::uuid and status = 'sending'
      returning mailbox_id, created_at
    )
    update mailboxes m set day_slots = greatest(m.day_slots - 1, 0)
    from released r
    where m.id = r.mailbox_id and r.created_at >= m.day_start and r.created_at < m.day_end`),
  );
}
