import { and, eq, sql } from 'drizzle-orm';
import type { Deps } from '../../context';
import type { DbOrTx, Tx } from '../../db/client';
import { events, messages } from '../../db/schema/index';
import { classifyReply, htmlToText, type ReplyClass } from '../../core/classify-reply';
import { normalizeLinkedInUrl } from '../../lib/identity';
import { recordEvent } from '../../timeline/events';
import { applyReplyEffects } from './effects';
import { inTransaction } from '../../db/transaction';
import type { InboundEmail } from './email';
import { type InboundMatch, matchEmail, matchLinkedIn } from './match';
import { claimReceipt, type WebhookReceipt } from './receipts';
import type { InboundResult } from './schemas';

type InboundDeps = Pick<Deps, 'db' | 'log'>;

const duplicate: InboundResult = { status: 'duplicate', classification: null, leadId: null, messageId: null };

/**
 * Ingests an inbound email: classify, match, store (matched or `unmatched`, never dropped) and apply
 * the effects, all in one transaction with the webhook receipt, so a replayed webhook id or a
 * re-posted Message-ID changes nothing the second time.
 */
export async function ingestEmail(
  deps: InboundDeps,
  input: { workspaceId: string; email: InboundEmail; receipt?: WebhookReceipt },
): Promise<InboundResult> {
  const { workspaceId, email } = input;
  const cls = classifyEmail(email);
  return inTransaction(deps, async (tx) => {
    if (input.receipt && !(await claimReceipt(tx, workspaceId, input.receipt))) return duplicate;
    return ingestEmailIn(tx, { workspaceId, email, cls });
  });
}

/** What an inbound email is (pure: no I/O), as `ingestEmailIn` takes it. */
export function classifyEmail(email: InboundEmail): ReplyClass {
  return classifyReply(
    {
      subject: email.subject,
      text: email.text ?? (email.html ? htmlToText(email.html) : null),
      headers: email.headers,
      attachedHeaders: email.attachedHeaders,
      reportType: email.reportType,
      reportText: email.reportText,
    },
    email.receivedAt,
  );
}

/**
 * `ingestEmail` in the caller's transaction, for a reader that claims its messages in the same
 * transaction (the inbox reader moves its folder cursor there). `mailboxId`: the mailbox whose inbox
 * it was read from.
 */
export async function ingestEmailIn(
  tx: Tx,
  input: { workspaceId: string; email: InboundEmail; cls: ReplyClass; mailboxId?: string },
): Promise<InboundResult> {
  const { workspaceId, email, cls } = input;
  if (email.messageId && (await seenBefore(tx, workspaceId, email.messageId))) return duplicate;
  const match = await matchEmail(tx, workspaceId, email, cls);
  const [row] = await tx
    .insert(messages)
    .values({
      workspaceId,
      leadId: match?.leadId ?? null,
      enrollmentId: match?.enrollmentId ?? null,
      stepRunId: match?.stepRunId ?? null,
      direction: 'inbound',
      channel: 'email',
      mailboxId: input.mailboxId ?? null,
      messageId: email.messageId,
      inReplyTo: email.inReplyTo,
      references: email.references.join(' ') || null,
      fromAddress: email.fromAddress ?? email.from,
      toAddress: email.to,
      subject: email.subject,
      bodyText: email.text,
      bodyHtml: email.html,
      status: match ? 'matched' : 'unmatched',
      classification: cls.kind,
      headers: email.headers,
      createdAt: email.receivedAt,
    })
    .returning({ id: messages.id });
  if (!row) throw new Error('inbound message insert returned nothing');
  return finish(tx, {
    workspaceId,
    channel: 'email',
    match,
    cls,
    messageRowId: row.id,
    at: email.receivedAt,
  });
}

export type LinkedInEvent = {
  workspaceId: string;
  type: 'reply' | 'invite_accepted';
  linkedinUrl: string;
  text?: string | null;
  at?: Date;
};

/**
 * A LinkedIn reply or accepted invitation, from the inbound webhook or the LinkedIn worker. Matches
 * on the normalised profile URL. A reply has the effects of an email reply (it can ask to
 * unsubscribe, never be a bounce or an out-of-office); an acceptance records
 * `linkedin.invite_accepted` once per lead.
 */
export async function ingestLinkedInEvent(
  deps: InboundDeps,
  input: LinkedInEvent,
  opts: { receipt?: WebhookReceipt } = {},
): Promise<InboundResult> {
  const { workspaceId } = input;
  const at = input.at && input.at <= new Date() ? input.at : new Date();
  const profileUrl = normalizeLinkedInUrl(input.linkedinUrl) ?? input.linkedinUrl.trim();
  const classified = input.type === 'reply' ? classifyReply({ text: input.text ?? '' }, at) : null;
  const cls: ReplyClass | null =
    classified && classified.kind !== 'unsubscribe' ? { kind: 'human' } : classified;
  return inTransaction(deps, async (tx) => {
    if (opts.receipt && !(await claimReceipt(tx, workspaceId, opts.receipt))) return duplicate;
    const match = await matchLinkedIn(tx, workspaceId, profileUrl);
    if (input.type === 'invite_accepted' && match) {
      await recordAcceptance(tx, workspaceId, match, profileUrl, at);
      return { status: 'matched', classification: 'invite_accepted', leadId: match.leadId, messageId: null };
    }
    // A reply, or an acceptance from nobody we know: kept in messages so it is listed, not lost.
    const [row] = await tx
      .insert(messages)
      .values({
        workspaceId,
        leadId: match?.leadId ?? null,
        enrollmentId: match?.enrollmentId ?? null,
        stepRunId: match?.stepRunId ?? null,
        direction: 'inbound',
        channel: 'linkedin',
        fromAddress: profileUrl,
        bodyText: input.text ?? null,
        status: match ? 'matched' : 'unmatched',
        classification: cls?.kind ?? 'invite_accepted',
        createdAt: at,
      })
      .returning({ id: messages.id });
    if (!row) throw new Error('inbound message insert returned nothing');
    if (!cls)
      return { status: 'unmatched', classification: 'invite_accepted', leadId: null, messageId: row.id };
    return finish(tx, { workspaceId, channel: 'linkedin', match, cls, messageRowId: row.id, at });
  });
}

async function finish(
  tx: Tx,
  input: {
    workspaceId: string;
    channel: 'email' | 'linkedin';
    match: InboundMatch | null;
    cls: ReplyClass;
    messageRowId: string;
    at: Date;
  },
): Promise<InboundResult> {
  const { match, cls } = input;
  if (match) {
    await applyReplyEffects(
      tx,
      {
        workspaceId: input.workspaceId,
        leadId: match.leadId,
        enrollmentId: match.enrollmentId,
        stepRunId: match.stepRunId,
        channel: input.channel,
        inboundMessageId: input.messageRowId,
        at: input.at,
      },
      cls,
    );
  }
  return {
    status: match ? 'matched' : 'unmatched',
    classification: cls.kind,
    leadId: match?.leadId ?? null,
    messageId: input.messageRowId,
  };
}

async function recordAcceptance(
  tx: Tx,
  workspaceId: string,
  match: InboundMatch,
  profileUrl: string,
  at: Date,
) {
  // Check-then-insert is only once-per-lead if concurrent acceptances (webhook retries under new
  // ids, the sync loop) take turns: without this lock each saw no event yet and all inserted one.
  await tx.execute(
    sql`select pg_advisory_xact_lock(hashtextextended(${`invite_accepted:${match.leadId}`}, 0))`,
  );
  const [already] = await tx
    .select({ id: events.id })
    .from(events)
    .where(and(eq(events.leadId, match.leadId), eq(events.type, 'linkedin.invite_accepted')))
    .limit(1);
  if (already) return;
  await recordEvent(tx, {
    workspaceId,
    type: 'linkedin.invite_accepted',
    leadId: match.leadId,
    enrollmentId: match.enrollmentId,
    data: { linkedinUrl: profileUrl },
    at,
  });
}

/**
 * Whether this Message-ID was already ingested (a provider re-posting one email under a new webhook
 * id). The advisory lock makes two concurrent posts of one message take turns.
 */
async function seenBefore(tx: Tx, workspaceId: string, messageId: string): Promise<boolean> {
  await tx.execute(
    sql`select pg_advisory_xact_lock(hashtextextended(${`inbound:${workspaceId}:${messageId}`}, 0))`,
  );
  const [row] = await inboundByMessageId(tx, workspaceId, messageId);
  return row !== undefined;
}

/** An inbound message already stored under this Message-ID. */
export function inboundByMessageId(db: DbOrTx, workspaceId: string, messageId: string) {
  return db
    .select({ id: messages.id })
    .from(messages)
    .where(
      and(
        eq(messages.workspaceId, workspaceId),
        eq(messages.direction, 'inbound'),
        eq(messages.messageId, messageId),
      ),
    )
    .limit(1);
}
