import { and, eq, isNull } from 'drizzle-orm';
import type { Deps } from '../../context';
import type { DbOrTx } from '../../db/client';
import { keyset } from '../../db/keyset';
import { leads, messages } from '../../db/schema/index';
import { decodeCursor, toPage } from '../../db/keyset';
import { emailKey } from '../../lib/identity';
import { lastOutbound } from '../../engine/inbound/match';
import { applyHumanReply } from '../../engine/inbound/effects';
import { stripQuoted } from '../../core/classify-reply';
import { type HumanIntent, replyIntent } from '../../core/reply-intent';
import type { InboundMessage, InboundQuery, MarkReplyBody } from './replies.schemas';
import { inTransaction } from '../../db/transaction';

export type MarkedReply = {
  leadId: string;
  messageId: string;
  stoppedEnrollmentIds: string[];
  stage: string;
  class: HumanIntent;
};

/**
 * Records a reply an integration reports (`POST /v1/replies`) with the effects of a human reply.
 * Returns null when no live lead has that id or email.
 */
export async function markReply(
  deps: Pick<Deps, 'db' | 'log'>,
  workspaceId: string,
  input: MarkReplyBody,
): Promise<MarkedReply | null> {
  return inTransaction(deps, async (tx) => {
    const [lead] = await tx
      .select({ id: leads.id, email: leads.email })
      .from(leads)
      .where(
        and(
          eq(leads.workspaceId, workspaceId),
          isNull(leads.erasedAt),
          input.leadId ? eq(leads.id, input.leadId) : undefined,
          input.email ? eq(leads.emailKey, emailKey(input.email)) : undefined,
        ),
      );
    if (!lead) return null;
    const attribution = await lastOutbound(tx, workspaceId, lead.id);
    const at = new Date();
    const [row] = await tx
      .insert(messages)
      .values({
        workspaceId,
        leadId: lead.id,
        enrollmentId: attribution.enrollmentId,
        stepRunId: attribution.stepRunId,
        direction: 'inbound',
        channel: input.channel,
        fromAddress: lead.email,
        bodyText: input.text ?? null,
        status: 'matched',
        classification: 'human',
        createdAt: at,
      })
      .returning({ id: messages.id });
    if (!row) throw new Error('inbound message insert returned nothing');
    const intent = input.class ?? (input.text ? replyIntent(stripQuoted(input.text)) : 'other');
    const effects = await applyHumanReply(
      tx,
      {
        workspaceId,
        leadId: lead.id,
        ...attribution,
        channel: input.channel,
        inboundMessageId: row.id,
        at,
      },
      intent,
    );
    const [after] = await tx.select({ stage: leads.stage }).from(leads).where(eq(leads.id, lead.id));
    return {
      leadId: lead.id,
      messageId: row.id,
      stoppedEnrollmentIds: effects.kind === 'replied' ? effects.stopped : [],
      stage: after?.stage ?? 'lead',
      class: intent,
    };
  });
}

/** Inbound messages, newest first; `status=unmatched` is the queue of mail nobody could be found for. */
export async function listInbound(
  db: DbOrTx,
  workspaceId: string,
  query: InboundQuery,
): Promise<{ data: InboundMessage[]; nextCursor: string | null }> {
  const page = keyset(messages.createdAt, messages.id, decodeCursor(query.cursor));
  const rows = await db
    .select()
    .from(messages)
    .where(
      and(
        eq(messages.workspaceId, workspaceId),
        eq(messages.direction, 'inbound'),
        query.status ? eq(messages.status, query.status) : undefined,
        query.channel ? eq(messages.channel, query.channel) : undefined,
        page.where,
      ),
    )
    .orderBy(...page.orderBy)
    .limit(query.limit + 1);
  return toPage(rows, query.limit, (m) => ({
    id: m.id,
    channel: m.channel,
    status: m.status,
    classification: m.classification,
    leadId: m.leadId,
    from: m.fromAddress,
    to: m.toAddress,
    subject: m.subject,
    text: m.bodyText,
    messageId: m.messageId,
    inReplyTo: m.inReplyTo,
    receivedAt: m.createdAt.toISOString(),
  }));
}
