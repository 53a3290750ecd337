import { and, eq, sql } from 'drizzle-orm';
import type { Deps } from '../../context';
import type { DbOrTx, Tx } from '../../db/client';
import { prepared } from '../../db/prepared';
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
  if (email.messageId) await lockMessageIds(tx, workspaceId, [email.messageId]);
  const match = await matchEmail(tx, workspaceId, email, cls);
  // Stored once per Message-ID: the unique index is the dedupe (no lookup to misplan on stale
  // statistics), and the lock above makes a concurrent post of the same message wait, then find it.
  const [row] = await tx
    .insert(messages)
    .values(inboundRow(workspaceId, input.mailboxId ?? null, email, cls, match))
    .onConflictDoNothing(onInboundMessageId)
    .returning({ id: messages.id });
  if (!row) return duplicate;
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
    classified && classified.kind !== 'unsubscribe'
      ? { kind: 'human', intent: classified.kind === 'human' ? classified.intent : 'other' }
      : classified;
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

/** The conflict target of the unique index on inbound Message-IDs (`messages_inbound_message_id_uq`). */
const onInboundMessageId = {
  target: [messages.workspaceId, messages.messageId],
  where: sql`${messages.direction} = 'inbound' and ${messages.messageId} is not null`,
};

function inboundRow(
  workspaceId: string,
  mailboxId: string | null,
  email: InboundEmail,
  cls: ReplyClass,
  match: InboundMatch | null,
): typeof messages.$inferInsert {
  return {
    workspaceId,
    leadId: match?.leadId ?? null,
    enrollmentId: match?.enrollmentId ?? null,
    stepRunId: match?.stepRunId ?? null,
    direction: 'inbound',
    channel: 'email',
    mailboxId,
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
  };
}

/**
 * Takes the per-Message-ID locks under which inbound mail is stored, in one statement and in one
 * order (sorted), so two batches sharing messages (one email to two of the workspace's mailboxes)
 * cannot wait on each other in a cycle. Held to the end of the transaction; taking one again is free.
 */
export async function lockMessageIds(tx: Tx, workspaceId: string, messageIds: string[]): Promise<void> {
  const keys = [...new Set(messageIds)].sort().map((id) => `inbound:${workspaceId}:${id}`);
  if (keys.length === 0) return;
  await tx.execute(
    sql`select count(pg_advisory_xact_lock(hashtextextended(key, 0))) from unnest(${sql.param(keys)}::text[]) as key`,
  );
}

/**
 * Stores inbound emails that match nobody (the inbox reader found they neither answer us nor come
 * from a lead, nor can be a report), with no effects, in one statement: a Message-ID already stored
 * is skipped by the unique index. The caller holds their Message-ID locks (`lockMessageIds`).
 * Returns how many were stored; the rest were duplicates.
 */
export async function storeUnmatchedEmails(
  tx: Tx,
  input: { workspaceId: string; mailboxId: string; emails: { email: InboundEmail; cls: ReplyClass }[] },
): Promise<number> {
  if (input.emails.length === 0) return 0;
  // One JSON parameter, not drizzle's twenty per row: building and sending 2,000 parameters per
  // batch was most of this statement's cost in the bench profile.
  const rows = input.emails.map(({ email, cls }) => ({
    message_id: email.messageId,
    in_reply_to: email.inReplyTo,
    refs: email.references.join(' ') || null,
    from_address: email.fromAddress ?? email.from,
    to_address: email.to,
    subject: email.subject,
    body_text: email.text,
    body_html: email.html,
    classification: cls.kind,
    headers: email.headers,
    created_at: email.receivedAt.toISOString(),
  }));
  const { rows: stored } = await tx.execute<{ id: string }>(
    prepared(sql`
    insert into messages (workspace_id, direction, channel, mailbox_id, message_id, in_reply_to,
      "references", from_address, to_address, subject, body_text, body_html, status, classification,
      headers, created_at)
    select ${input.workspaceId}::uuid, 'inbound', 'email', ${input.mailboxId}::uuid, r.message_id,
      r.in_reply_to, r.refs, r.from_address, r.to_address, r.subject, r.body_text, r.body_html,
      'unmatched', r.classification, r.headers, r.created_at
    from json_to_recordset(${JSON.stringify(rows)}::json) as r(message_id text, in_reply_to text,
      refs text, from_address text, to_address text, subject text, body_text text, body_html text,
      classification text, headers jsonb, created_at timestamptz)
    on conflict (workspace_id, message_id) where direction = 'inbound' and message_id is not null
    do nothing
    returning id`),
  );
  return stored.length;
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
