import { eq, sql } from 'drizzle-orm';
import { DateTime } from 'luxon';
import type { Tx } from '../../db/client';
import { leads, workspaces } from '../../db/schema/index';
import type { CalendarDate, ReplyClass } from '../../core/classify-reply';
import type { HumanIntent } from '../../core/reply-intent';
import type { ReplyIntent } from '../../core/sequences';
import { changeStage } from '../../timeline/stages';
import { pauseEnrollments } from '../pause';
import { type StopInput, stopEnrollments, stopForReply, stoppedEvents } from '../stop-rules';
import { recordEvent, recordEvents } from '../../timeline/events';
import { moveStage, type StageMoveInput, stageChangedEvents } from '../../timeline/stage-moves';
import { loadVersion } from '../versions';
import { bounceLead, unsubscribeLead } from '../suppressions';

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
  | { kind: 'bounced' | 'unsubscribed' | 'complained'; stopped: string[] }
  | { kind: 'none' };

/** An out-of-office with no readable return date pauses this long. */
export const DEFAULT_PAUSE_DAYS = 7;
/** Enrollments resume at this local hour of the return day, not at midnight. */
const RESUME_HOUR = 9;
/** Where a human reply moves a lead whose sequence names no `onReply` rule (forward only). */
const DEFAULT_REPLY_STAGE = 'contacted';
/** Free-mail domains are no company: "stop the company" must not stop every Gmail lead. */
export const FREE_MAIL: ReadonlySet<string> = new Set(
  'gmail.com googlemail.com yahoo.com yahoo.fr yahoo.co.uk hotmail.com hotmail.fr outlook.com live.com msn.com icloud.com me.com aol.com proton.me protonmail.com gmx.de gmx.net web.de t-online.de orange.fr free.fr laposte.net wanadoo.fr sfr.fr yandex.ru mail.ru'.split(
    ' ',
  ),
);

/** Applies what an inbound message means, in the caller's transaction (the one that stored it). */
export async function applyReplyEffects(tx: Tx, target: ReplyTarget, cls: ReplyClass): Promise<ReplyEffects> {
  switch (cls.kind) {
    case 'human':
      return applyHumanReply(tx, target, cls.intent ?? 'other');
    case 'auto_reply': {
      const paused = await applyOutOfOffice(tx, target, cls.returnDate);
      await moveByClass(tx, target, 'out_of_office');
      return paused;
    }
    case 'bounce': {
      if (!cls.permanent) return recordSoftBounce(tx, target, cls.recipient);
      const result = await bounceLead(tx, {
        workspaceId: target.workspaceId,
        leadId: target.leadId,
        enrollmentId: target.enrollmentId,
        stepRunId: target.stepRunId,
        reason: `dsn${cls.recipient ? `: ${cls.recipient}` : ''}`,
      });
      return { kind: 'bounced', stopped: result.ok ? result.enrollmentIds : [] };
    }
    case 'unsubscribe': {
      const result = await unsubscribeLead(tx, {
        workspaceId: target.workspaceId,
        leadId: target.leadId,
        enrollmentId: target.enrollmentId,
        stepRunId: target.stepRunId,
        source: 'reply',
      });
      await moveByClass(tx, target, 'unsubscribe');
      return { kind: 'unsubscribed', stopped: result.ok ? result.enrollmentIds : [] };
    }
    case 'receipt':
      // Kept with the lead's messages; an opened message is no answer.
      return { kind: 'none' };
    case 'complaint': {
      // Marked as spam: the lead asked, loudly, to hear no more. Suppressed like an unsubscribe.
      const result = await unsubscribeLead(tx, {
        workspaceId: target.workspaceId,
        leadId: target.leadId,
        enrollmentId: target.enrollmentId,
        stepRunId: target.stepRunId,
        source: 'complaint',
        reason: 'complaint',
      });
      return { kind: 'complained', stopped: result.ok ? result.enrollmentIds : [] };
    }
  }
}

/**
 * A delayed delivery (a soft bounce) changes no cadence, the server is still trying: it is recorded
 * on the lead's timeline as `email.soft_bounced`, so an address that keeps delaying can be seen.
 */
async function recordSoftBounce(
  tx: Tx,
  target: ReplyTarget,
  recipient: string | null,
): Promise<ReplyEffects> {
  await recordEvent(tx, {
    workspaceId: target.workspaceId,
    type: 'email.soft_bounced',
    leadId: target.leadId,
    enrollmentId: target.enrollmentId,
    stepRunId: target.stepRunId,
    data: { recipient, messageId: target.inboundMessageId },
    at: target.at,
  });
  return { kind: 'none' };
}

/**
 * A human reply: `lead.replied` (scoring and webhooks hang off it), every live enrollment of the
 * lead ends `replied`, colleagues on the same company domain stop when the sequence asks, and the
 * stage moves by the sequence's `onReply` rule for the reply's intent (`byClass`, else `stage`), else
 * to `contacted`; always forward only, so a reply never moves a lead back nor out of won or lost.
 * `lead.replied` carries the intent as `class`.
 *
 * Enrollments are stopped (and so locked) before the lead, and all the reply's events are recorded
 * in one `recordEvents` call at the end. Scoring therefore sees the lead after its reply stage move:
 * the reply's points cannot also promote it to `qualified` on the way to the reply's stage.
 */
export async function applyHumanReply(
  tx: Tx,
  target: ReplyTarget,
  intent: HumanIntent = 'other',
): Promise<ReplyEffects> {
  const { stopped, context } = await stopForReply(tx, target);
  const stopEvents = stoppedEvents(
    { workspaceId: target.workspaceId, status: 'replied', reason: 'replied' },
    stopped,
  );
  const settings = await Promise.all(stopped.map((e) => loadVersion(tx, e.sequenceId, e.version)));
  if (settings.some((d) => d?.settings.stopCompanyOnReply)) {
    const colleagues = await stopCompany(tx, target);
    stopped.push(...colleagues.stopped);
    stopEvents.push(...colleagues.events);
  }
  const onReply = context
    ? (await loadVersion(tx, context.sequenceId, context.version))?.settings.onReply
    : undefined;
  const ruled = onReply?.byClass?.[intent] ?? onReply?.stage;
  const move: StageMoveInput = {
    workspaceId: target.workspaceId,
    leadIds: [target.leadId],
    toStage: ruled ?? DEFAULT_REPLY_STAGE,
    forwardOnly: true,
    reason: 'replied',
    source: 'reply',
    at: target.at,
  };
  // No stop for a closed stage here (`stopForClosedStage`): the reply has just ended every live
  // enrollment of the lead.
  const moved = await moveStage(tx, move);
  const lead = moved.leads[0];
  await recordEvents(tx, [
    {
      workspaceId: target.workspaceId,
      type: 'lead.replied',
      leadId: target.leadId,
      enrollmentId: context?.id ?? null,
      stepRunId: target.stepRunId,
      data: {
        channel: target.channel,
        messageId: target.inboundMessageId,
        sequenceId: context?.sequenceId ?? null,
        class: intent,
      },
      at: target.at,
    },
    ...stopEvents,
    ...stageChangedEvents(move, moved),
  ]);
  // The stage the reply put the lead in: moved there, or already there by the sequence's own rule.
  const stage = lead?.moved || (ruled && lead?.stage === move.toStage) ? move.toStage : null;
  return { kind: 'replied', stopped: stopped.map((e) => e.id), stage };
}

/** Stops the enrollments of the lead's colleagues (same company domain, not a free-mail one). */
async function stopCompany(tx: Tx, target: ReplyTarget) {
  const colleagues = await tx.execute<{ id: string }>(sql`
    select c.id from leads l
    join leads c on c.workspace_id = l.workspace_id and c.company_domain = l.company_domain
    where l.id = ${target.leadId} and c.id <> l.id and c.erased_at is null
      and l.company_domain <> all(${sql.param([...FREE_MAIL])}::text[])`);
  const input: StopInput = {
    workspaceId: target.workspaceId,
    leadIds: colleagues.rows.map((c) => c.id),
    status: 'stopped',
    reason: 'company_replied',
  };
  const stopped = await stopEnrollments(tx, input);
  return { stopped, events: stoppedEvents(input, stopped) };
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

/**
 * The stage move an out-of-office or an unsubscribe makes when the sequence it answers asks for one
 * (`onReply.byClass`), forward only. The sequence is the one the message answers, else the lead's
 * most recent enrollment.
 */
async function moveByClass(tx: Tx, target: ReplyTarget, intent: ReplyIntent): Promise<void> {
  const matched = target.enrollmentId ? sql`and id = ${target.enrollmentId}` : sql``;
  const { rows } = await tx.execute<{ sequence_id: string; version: number }>(sql`
    select sequence_id, version from enrollments
    where workspace_id = ${target.workspaceId} and lead_id = ${target.leadId} ${matched}
    order by created_at desc limit 1`);
  const context = rows[0];
  if (!context) return;
  const toStage = (await loadVersion(tx, context.sequence_id, context.version))?.settings.onReply?.byClass?.[
    intent
  ];
  if (!toStage) return;
  await changeStage(tx, {
    workspaceId: target.workspaceId,
    leadId: target.leadId,
    toStage,
    reason: intent,
    source: 'reply',
    forwardOnly: true,
    at: target.at,
  });
}
