import { and, desc, eq, inArray, isNull, ne } from 'drizzle-orm';
import { DateTime } from 'luxon';
import type { Tx } from '../../db/client';
import { enrollments, leads, workspaces } from '../../db/schema/index';
import type { CalendarDate, ReplyClass } from '../../engine/classify-reply';
import { pauseEnrollments } from '../enrollments/pause';
import { stopLeadEnrollments } from '../enrollments/stop-rules';
import { recordEvent } from '../events/events.service';
import { changeStage } from '../pipeline/pipeline.service';
import { loadVersion } from '../sequences/versions';
import { bounceLead, unsubscribeLead } from '../suppressions/suppressions.service';

/** The lead an inbound message came from and what it answers. */
export type ReplyTarget = {
  workspaceId: string;
  leadId: string;
  enrollmentId: string | null;
  stepRunId: string | null;
  channel: 'email' | 'linkedin';
  /** Our id of the stored inbound message. */
  inboundMessageId: string;
  at: Date;
};

export type ReplyEffects =
  | { kind: 'replied'; stopped: string[]; stage: string | null }
  | { kind: 'paused'; paused: string[]; until: Date }
  | { kind: 'bounced' | 'unsubscribed'; stopped: string[] }
  | { kind: 'none' };

/** An out-of-office with no readable return date pauses this long. */
export const DEFAULT_PAUSE_DAYS = 7;
/** Enrollments resume at this local hour of the return day, not at midnight. */
const RESUME_HOUR = 9;
/** Stages a reply moves on to `contacted` when the sequence names no `onReply` stage. */
const EARLY_STAGES = new Set(['lead', 'qualified']);
/** Free-mail domains are no company: "stop the company" must not stop every Gmail lead. */
const FREE_MAIL = new Set(
  'gmail.com googlemail.com yahoo.com yahoo.fr yahoo.co.uk hotmail.com hotmail.fr outlook.com live.com msn.com icloud.com me.com aol.com proton.me protonmail.com gmx.de gmx.net web.de t-online.de orange.fr free.fr laposte.net wanadoo.fr sfr.fr yandex.ru mail.ru'.split(
    ' ',
  ),
);

/** Applies what an inbound message means, in the caller's transaction (the one that stored it). */
export async function applyReplyEffects(tx: Tx, target: ReplyTarget, cls: ReplyClass): Promise<ReplyEffects> {
  switch (cls.kind) {
    case 'human':
      return applyHumanReply(tx, target);
    case 'auto_reply':
      return applyOutOfOffice(tx, target, cls.returnDate);
    case 'bounce': {
      if (!cls.permanent) return { kind: 'none' };
      const result = await bounceLead(tx, {
        workspaceId: target.workspaceId,
        leadId: target.leadId,
        reason: `dsn${cls.recipient ? `: ${cls.recipient}` : ''}`,
      });
      return { kind: 'bounced', stopped: result.ok ? result.enrollmentIds : [] };
    }
    case 'unsubscribe': {
      const result = await unsubscribeLead(tx, {
        workspaceId: target.workspaceId,
        leadId: target.leadId,
        source: 'reply',
      });
      return { kind: 'unsubscribed', stopped: result.ok ? result.enrollmentIds : [] };
    }
  }
}

/**
 * A human reply: `lead.replied` (scoring and webhooks hang off it), every live enrollment of the
 * lead ends `replied`, colleagues on the same company domain stop when the sequence asks, and the
 * stage moves by the sequence's `onReply` rule, else from `lead`/`qualified` to `contacted`.
 */
export async function applyHumanReply(tx: Tx, target: ReplyTarget): Promise<ReplyEffects> {
  const [lead] = await tx
    .select({ stage: leads.stage, companyDomain: leads.companyDomain })
    .from(leads)
    .where(eq(leads.id, target.leadId));
  if (!lead) return { kind: 'none' };
  const live = await tx
    .select({ id: enrollments.id, sequenceId: enrollments.sequenceId, version: enrollments.version })
    .from(enrollments)
    .where(and(eq(enrollments.leadId, target.leadId), inArray(enrollments.status, ['active', 'paused'])));
  const context = await replyContext(tx, target);
  await recordEvent(tx, {
    workspaceId: target.workspaceId,
    type: 'lead.replied',
    leadId: target.leadId,
    enrollmentId: context?.id ?? null,
    stepRunId: target.stepRunId,
    data: {
      channel: target.channel,
      messageId: target.inboundMessageId,
      sequenceId: context?.sequenceId ?? null,
    },
    at: target.at,
  });
  const { enrollmentIds } = await stopLeadEnrollments(tx, {
    workspaceId: target.workspaceId,
    leadIds: [target.leadId],
    status: 'replied',
    reason: 'replied',
  });
  const settings = await Promise.all(live.map((e) => loadVersion(tx, e.sequenceId, e.version)));
  if (settings.some((d) => d?.settings.stopCompanyOnReply)) {
    enrollmentIds.push(...(await stopCompany(tx, target, lead.companyDomain)));
  }
  const onReply = context
    ? (await loadVersion(tx, context.sequenceId, context.version))?.settings.onReply
    : undefined;
  const toStage = onReply?.stage ?? (EARLY_STAGES.has(lead.stage) ? 'contacted' : null);
  let stage: string | null = null;
  if (toStage) {
    const change = await changeStage(tx, {
      workspaceId: target.workspaceId,
      leadId: target.leadId,
      toStage,
      reason: 'replied',
      source: 'reply',
      at: target.at,
    });
    if (change.ok) stage = change.to;
  }
  return { kind: 'replied', stopped: enrollmentIds, stage };
}

/** The enrollment a reply answers: the matched one, else the lead's most recent. */
async function replyContext(tx: Tx, target: ReplyTarget) {
  const [row] = await tx
    .select({ id: enrollments.id, sequenceId: enrollments.sequenceId, version: enrollments.version })
    .from(enrollments)
    .where(
      target.enrollmentId
        ? and(eq(enrollments.id, target.enrollmentId), eq(enrollments.leadId, target.leadId))
        : eq(enrollments.leadId, target.leadId),
    )
    .orderBy(desc(enrollments.createdAt))
    .limit(1);
  return row ?? null;
}

async function stopCompany(tx: Tx, target: ReplyTarget, domain: string | null): Promise<string[]> {
  if (!domain || FREE_MAIL.has(domain)) return [];
  const colleagues = await tx
    .select({ id: leads.id })
    .from(leads)
    .where(
      and(
        eq(leads.workspaceId, target.workspaceId),
        eq(leads.companyDomain, domain),
        ne(leads.id, target.leadId),
        isNull(leads.erasedAt),
      ),
    );
  const { enrollmentIds } = await stopLeadEnrollments(tx, {
    workspaceId: target.workspaceId,
    leadIds: colleagues.map((c) => c.id),
    status: 'stopped',
    reason: 'company_replied',
  });
  return enrollmentIds;
}

/** An auto-reply pauses the lead's active enrollments until its return date, else for a week. */
async function applyOutOfOffice(
  tx: Tx,
  target: ReplyTarget,
  returnDate: CalendarDate | null,
): Promise<ReplyEffects> {
  const until = returnDate
    ? resumeTime(returnDate, await timezoneOf(tx, target))
    : new Date(target.at.getTime() + DEFAULT_PAUSE_DAYS * 86_400_000);
  const paused = await pauseEnrollments(tx, {
    workspaceId: target.workspaceId,
    leadIds: [target.leadId],
    until,
    reason: 'out_of_office',
  });
  await recordEvent(tx, {
    workspaceId: target.workspaceId,
    type: 'lead.out_of_office',
    leadId: target.leadId,
    data: {
      messageId: target.inboundMessageId,
      until: until.toISOString(),
      returnDateRead: returnDate !== null,
    },
    at: target.at,
  });
  return { kind: 'paused', paused, until };
}

/** The lead's time zone, else the workspace's: a return date is a day where the lead lives. */
async function timezoneOf(tx: Tx, target: ReplyTarget): Promise<string> {
  const [row] = await tx
    .select({ lead: leads.timezone, workspace: workspaces.timezone })
    .from(leads)
    .innerJoin(workspaces, eq(workspaces.id, leads.workspaceId))
    .where(eq(leads.id, target.leadId));
  return row?.lead ?? row?.workspace ?? 'UTC';
}

export function resumeTime(date: CalendarDate, zone: string): Date {
  const local = DateTime.fromObject({ ...date, hour: RESUME_HOUR }, { zone });
  return (
    local.isValid ? local : DateTime.fromObject({ ...date, hour: RESUME_HOUR }, { zone: 'UTC' })
  ).toJSDate();
}
