import { and, desc, eq, gte, inArray, lt, sql } from 'drizzle-orm';
import type { Db, DbOrTx } from '../../db/client';
import { mailboxes, messages } from '../../db/schema/index';
import { capacityDecision, dayBounds, effectiveDailyLimit, nextSlotAt } from './capacity';
import type { MailboxRow } from './mailbox-choice';

type MessageValues = typeof messages.$inferInsert;
/** The message row minus what the reservation fills in (mailbox, status, time). */
export type MessageDraft = Omit<MessageValues, 'id' | 'workspaceId' | 'mailboxId' | 'status' | 'createdAt'>;

export type Reservation =
  | { kind: 'reserved'; mailbox: MailboxRow; messageRowId: string; draft: MessageDraft }
  | { kind: 'deferred'; at: Date }
  | { kind: 'unavailable' };

/** The outbound message an earlier attempt of this run wrote, if any (found through the lead index). */
export async function priorMessage(db: DbOrTx, leadId: string, stepRunId: string) {
  const [row] = await db
    .select({
      id: messages.id,
      status: messages.status,
      messageId: messages.messageId,
      subject: messages.subject,
      mailboxId: messages.mailboxId,
    })
    .from(messages)
    .where(
      and(eq(messages.leadId, leadId), eq(messages.stepRunId, stepRunId), eq(messages.direction, 'outbound')),
    )
    .orderBy(desc(messages.createdAt))
    .limit(1);
  return row ?? null;
}

/**
 * Takes one send slot of a mailbox, or says when the next one opens. Under the mailbox's row lock it
 * counts today's messages (`sending` or `sent`) against the day's limit, checks the spacing since the
 * last slot, and writes the message as `sending` before any byte goes to SMTP. Every sequence and
 * every worker goes through this lock, so no limit can be exceeded however many send at once.
 */
export async function reserveSlot(
  db: Db,
  input: {
    workspaceId: string;
    mailboxId: string;
    timeZone: string;
    now: Date;
    priorMessageRowId: string | null;
    draft: (mailbox: MailboxRow) => MessageDraft;
  },
): Promise<Reservation> {
  const { now, timeZone } = input;
  return db.transaction(async (tx) => {
    const [mailbox] = await tx
      .select()
      .from(mailboxes)
      .where(
        and(
          eq(mailboxes.id, input.mailboxId),
          eq(mailboxes.workspaceId, input.workspaceId),
          eq(mailboxes.status, 'active'),
        ),
      )
      .for('update');
    if (!mailbox) return { kind: 'unavailable' } as const;
    const day = dayBounds(now, timeZone);
    const [counted] = await tx
      .select({ n: sql<number>`count(*)::int` })
      .from(messages)
      .where(
        and(
          eq(messages.mailboxId, mailbox.id),
          gte(messages.createdAt, day.start),
          lt(messages.createdAt, day.end),
          eq(messages.direction, 'outbound'),
          inArray(messages.status, ['sending', 'sent']),
        ),
      );
    const decision = capacityDecision({
      now,
      sentToday: counted?.n ?? 0,
      limit: effectiveDailyLimit(mailbox, now, timeZone),
      nextSlot: nextSlotAt(mailbox.lastSlotAt, mailbox.minIntervalSeconds, mailbox.id),
      dayEnd: day.end,
    });
    if (!decision.ok) return { kind: 'deferred', at: decision.at } as const;
    await tx.update(mailboxes).set({ lastSlotAt: now }).where(eq(mailboxes.id, mailbox.id));
    const draft = input.draft(mailbox);
    const values = {
      ...draft,
      workspaceId: input.workspaceId,
      mailboxId: mailbox.id,
      status: 'sending',
      createdAt: now,
    };
    // A retry reuses the row (and Message-ID) of the failed attempt, so a run has one message.
    const [row] = input.priorMessageRowId
      ? await tx
          .update(messages)
          .set(values)
          .where(eq(messages.id, input.priorMessageRowId))
          .returning({ id: messages.id })
      : await tx.insert(messages).values(values).returning({ id: messages.id });
    if (!row) throw new Error('message row was not written');
    return { kind: 'reserved', mailbox, messageRowId: row.id, draft } as const;
  });
}
