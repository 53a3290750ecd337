import { and, desc, eq, inArray, isNotNull, isNull } from 'drizzle-orm';
import type { DbOrTx } from '../../db/client';
import { leads, messages } from '../../db/schema/index';
import type { ReplyClass } from '../../core/classify-reply';
import type { InboundEmail } from './email';

/** Who an inbound message is from, and which of our messages (step run, enrollment) it answers. */
export type InboundMatch = {
  leadId: string;
  enrollmentId: string | null;
  stepRunId: string | null;
  via: 'thread' | 'address' | 'linkedin';
};

/**
 * Matches an inbound email: first its thread (In-Reply-To, then References, then the Message-ID a
 * bounce or complaint report quotes) against our outbound Message-IDs, then its address against the
 * leads. A report is matched on its recipient, never on its sender (the mailer daemon, the feedback loop).
 */
export async function matchEmail(
  db: DbOrTx,
  workspaceId: string,
  email: InboundEmail,
  cls: ReplyClass,
): Promise<InboundMatch | null> {
  const report = cls.kind === 'bounce' || cls.kind === 'complaint' ? cls : null;
  const reported = report?.originalMessageId ?? null;
  const threadIds = [email.inReplyTo, ...[...email.references].reverse(), reported].filter(
    (id): id is string => id !== null,
  );
  const byThread = await matchThread(db, workspaceId, threadIds);
  if (byThread) return byThread;
  const address = report ? report.recipient : email.fromAddress;
  if (!address) return null;
  const [lead] = await db
    .select({ id: leads.id })
    .from(leads)
    .where(and(eq(leads.workspaceId, workspaceId), eq(leads.emailKey, address), isNull(leads.erasedAt)));
  if (!lead) return null;
  return { ...(await lastOutbound(db, workspaceId, lead.id)), leadId: lead.id, via: 'address' };
}

/** Our outbound messages with one of these Message-IDs, from leads not erased. */
function outboundByMessageId(db: DbOrTx, workspaceId: string, ids: string[]) {
  return db
    .select({
      messageId: messages.messageId,
      leadId: messages.leadId,
      enrollmentId: messages.enrollmentId,
      stepRunId: messages.stepRunId,
    })
    .from(messages)
    .innerJoin(leads, eq(leads.id, messages.leadId))
    .where(
      and(
        eq(messages.workspaceId, workspaceId),
        eq(messages.direction, 'outbound'),
        inArray(messages.messageId, ids),
        isNull(leads.erasedAt),
      ),
    );
}

/** The outbound message named first in `ids` (they are in order of preference). */
async function matchThread(db: DbOrTx, workspaceId: string, ids: string[]): Promise<InboundMatch | null> {
  if (ids.length === 0) return null;
  const rows = await outboundByMessageId(db, workspaceId, ids);
  for (const id of ids) {
    const row = rows.find((r) => r.messageId === id);
    if (row?.leadId)
      return { leadId: row.leadId, enrollmentId: row.enrollmentId, stepRunId: row.stepRunId, via: 'thread' };
  }
  return null;
}

/** Attribution for a reply matched by address only: the last step we sent the lead. */
export async function lastOutbound(
  db: DbOrTx,
  workspaceId: string,
  leadId: string,
): Promise<{ enrollmentId: string | null; stepRunId: string | null }> {
  const [row] = await db
    .select({ enrollmentId: messages.enrollmentId, stepRunId: messages.stepRunId })
    .from(messages)
    .where(
      and(
        eq(messages.workspaceId, workspaceId),
        eq(messages.leadId, leadId),
        eq(messages.direction, 'outbound'),
        isNotNull(messages.enrollmentId),
      ),
    )
    .orderBy(desc(messages.createdAt))
    .limit(1);
  return { enrollmentId: row?.enrollmentId ?? null, stepRunId: row?.stepRunId ?? null };
}

/** A LinkedIn event matches on the normalised profile URL. */
export async function matchLinkedIn(
  db: DbOrTx,
  workspaceId: string,
  profileUrl: string,
): Promise<InboundMatch | null> {
  const [lead] = await db
    .select({ id: leads.id })
    .from(leads)
    .where(
      and(eq(leads.workspaceId, workspaceId), eq(leads.linkedinUrl, profileUrl), isNull(leads.erasedAt)),
    );
  if (!lead) return null;
  return { ...(await lastOutbound(db, workspaceId, lead.id)), leadId: lead.id, via: 'linkedin' };
}
