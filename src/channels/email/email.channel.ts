import { eq } from 'drizzle-orm';
import type { Deps } from '../../context';
import { messages, workspaces } from '../../db/schema/index';
import type { Channel, ChannelResult, StepContext } from '../../engine/channel';
import { emailDomain } from '../../lib/identity';
import type { EmailStep } from '../../modules/sequences/steps.schemas';
import { applyTracking } from '../../modules/tracking/tracking.service';
import { unsubscribeMailto, unsubscribeUrl } from '../../modules/unsubscribe/unsubscribe.tokens';
import { type ComposedEmail, composeEmail, headerSafe } from './compose';
import { chooseMailboxes, type MailboxRow } from './mailbox-choice';
import { type MessageDraft, priorMessage, type Reservation, reserveSlot } from './reservation';
import type { HandOff } from '../../engine/liveness';
import { AmbiguousSendError, classifySmtpError, MAX_SEND_ATTEMPTS, retryDelayMs } from './smtp-errors';
import { createTransportPool, type SmtpTimeouts, smtpTimeouts } from './transports';

export type EmailChannel = Channel & {
  /** Closes every pooled SMTP connection (on shutdown). */
  close(): Promise<void>;
};

export type EmailChannelOptions = { maxAttempts?: number; timeouts?: SmtpTimeouts };

type Prepared = { reservation: Extract<Reservation, { kind: 'reserved' }>; composed: ComposedEmail };

const NO_MAILBOX_DELAY_MS = 5 * 60_000;
const PREPARE_RETRY_MS = 30_000;
const PAUSED_MAILBOX_DELAY_MS = 15 * 60_000;
const later = (ms: number) => new Date(Date.now() + ms);
/** Waiting for a mailbox or its capacity is not a failed attempt: it never uses up the retries. */
const deferral = (reason: string, at: Date): ChannelResult => ({
  kind: 'retry_later',
  reason,
  at,
  countsAsAttempt: false,
});

/**
 * The email channel: picks the mailbox, takes a capacity slot, renders, records the message, hands
 * it to SMTP and reports the outcome. It never writes the run itself: the engine does, from the result.
 */
export function createEmailChannel(deps: Deps, options: EmailChannelOptions = {}): EmailChannel {
  const transports = createTransportPool(
    deps.secrets,
    options.timeouts ?? smtpTimeouts(deps.config.SMTP_TIMEOUT_SECONDS),
  );
  const maxAttempts = options.maxAttempts ?? MAX_SEND_ATTEMPTS;

  async function send(ctx: StepContext): Promise<ChannelResult> {
    let prepared: Prepared | ChannelResult;
    try {
      prepared = await prepare(ctx);
    } catch (err) {
      // A database error before the hand-off (a dropped connection): nothing went to SMTP, so a
      // retry is safe. Thrown, it would leave the run ambiguous and the lead's cadence stuck.
      deps.log.warn({ err, runId: ctx.run.id }, 'email not prepared; retrying');
      const reason = `prepare_failed: ${err instanceof Error ? err.message.split('\n')[0] : 'unknown'}`;
      if (ctx.run.attempts >= maxAttempts)
        return { kind: 'failed', reason: `gave up after ${ctx.run.attempts} attempts: ${reason}` };
      return { kind: 'retry_later', reason, at: later(PREPARE_RETRY_MS), countsAsAttempt: true };
    }
    if (!('reservation' in prepared)) return prepared;
    return deliver(ctx, prepared.reservation, prepared.composed);
  }

  /** Everything before SMTP: checks, rendering, the capacity slot and the `sending` message row. */
  async function prepare(ctx: StepContext): Promise<Prepared | ChannelResult> {
    const { step, lead, run } = ctx;
    if (step.type !== 'email') return { kind: 'failed', reason: `unsupported_step:${step.type}` };
    const to = lead.email?.trim();
    if (!to || /[\r\n]/.test(to)) return { kind: 'failed', reason: 'no_email' };
    const prior = await priorMessage(deps.db, lead.id, run.id);
    // At most once: a run whose message left already is reported as sent, never sent again.
    if (prior?.status === 'sent' && prior.messageId)
      return sentResult(ctx, prior.messageId, prior.subject ?? '', prior.mailboxId, null);
    if (prior?.status === 'sending')
      return { kind: 'failed', reason: 'ambiguous: an earlier attempt may have been delivered' };
    const thread =
      ctx.enrollment.threadMessageId && step.thread === 'reply' ? ctx.enrollment.threadMessageId : null;
    let composed: ComposedEmail;
    try {
      composed = composeEmail({
        step,
        lead,
        seed: run.id,
        threadSubject: thread ? ctx.enrollment.threadSubject : null,
      });
    } catch (err) {
      return {
        kind: 'failed',
        reason: `template_error: ${err instanceof Error ? err.message.split('\n')[0] : 'render failed'}`,
      };
    }
    const reservation = await reserve(ctx, step, { to, thread, composed, priorRowId: prior?.id ?? null });
    if (reservation.kind !== 'reserved') return reservation.result;
    return { reservation, composed };
  }

  async function reserve(
    ctx: StepContext,
    step: EmailStep,
    input: { to: string; thread: string | null; composed: ComposedEmail; priorRowId: string | null },
  ): Promise<Extract<Reservation, { kind: 'reserved' }> | { kind: 'wait'; result: ChannelResult }> {
    const choice = await chooseMailboxes(deps.db, {
      workspaceId: ctx.lead.workspaceId,
      enrollmentMailboxId: ctx.enrollment.mailboxId,
      stepMailboxId: step.mailboxId,
    });
    if (choice.kind === 'none')
      return {
        kind: 'wait',
        result: deferral('no_mailbox', later(NO_MAILBOX_DELAY_MS)),
      };
    if (choice.kind === 'paused')
      return {
        kind: 'wait',
        result: deferral('mailbox_paused', later(PAUSED_MAILBOX_DELAY_MS)),
      };
    const timeZone = await workspaceTimeZone(ctx.lead.workspaceId);
    let earliest: Date | null = null;
    for (const mailbox of choice.mailboxes) {
      const r = await reserveSlot(deps.db, {
        workspaceId: ctx.lead.workspaceId,
        mailboxId: mailbox.id,
        timeZone,
        now: new Date(),
        priorMessageRowId: input.priorRowId,
        draft: (locked) => messageDraft(ctx, locked, input),
      });
      if (r.kind === 'reserved') return r;
      if (r.kind === 'deferred' && (!earliest || r.at < earliest)) earliest = r.at;
    }
    const result: ChannelResult = earliest
      ? deferral('capacity', earliest)
      : deferral('no_mailbox', later(NO_MAILBOX_DELAY_MS));
    return { kind: 'wait', result };
  }

  function messageDraft(
    ctx: StepContext,
    mailbox: MailboxRow,
    input: { to: string; thread: string | null; composed: ComposedEmail },
  ): MessageDraft {
    const { composed } = input;
    return {
      leadId: ctx.lead.id,
      enrollmentId: ctx.enrollment.id,
      stepRunId: ctx.run.id,
      direction: 'outbound',
      channel: 'email',
      // Our own id, known before the hand-off: replies and DSNs find the lead through it.
      messageId: `<${ctx.run.id}@${emailDomain(mailbox.fromEmail) || 'localhost'}>`,
      inReplyTo: input.thread,
      references: input.thread,
      fromAddress: mailbox.fromEmail,
      toAddress: input.to,
      subject: composed.subject,
      bodyText: composed.text,
      bodyHtml: composed.html,
      headers: {
        'List-Unsubscribe': `<${unsubscribeUrl(deps, { workspaceId: ctx.lead.workspaceId, leadId: ctx.lead.id })}>, <${unsubscribeMailto(mailbox.fromEmail)}>`,
        'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
      },
    };
  }

  async function deliver(
    ctx: StepContext,
    reservation: Extract<Reservation, { kind: 'reserved' }>,
    composed: ComposedEmail,
  ): Promise<ChannelResult> {
    const { mailbox, draft, messageRowId } = reservation;
    const messageId = draft.messageId ?? '';
    const settings = ctx.definition.settings;
    const html =
      composed.html === null
        ? undefined
        : applyTracking(deps, {
            messageRowId,
            html: composed.html,
            opens: settings.trackOpens,
            clicks: settings.trackClicks,
          });
    const leadName = headerSafe([ctx.lead.firstName, ctx.lead.lastName].filter(Boolean).join(' '));
    // The SMTP exchange runs inside the engine's hand-off: a reply or unsubscribe committed since
    // the claim means nothing goes out, and one arriving now waits until the message is out.
    let handedToSmtp = false;
    let handed: HandOff<{ err: unknown } | null>;
    try {
      handed = await ctx.handOff((): Promise<{ err: unknown } | null> => {
        handedToSmtp = true;
        return transports
          .get(mailbox)
          .sendMail({
            messageId,
            from: { name: headerSafe(mailbox.fromName ?? ''), address: mailbox.fromEmail },
            to: { name: leadName, address: draft.toAddress ?? '' },
            subject: composed.subject,
            text: composed.text,
            html,
            inReplyTo: draft.inReplyTo ?? undefined,
            references: draft.references ?? undefined,
            headers: draft.headers ?? {},
          })
          .then(
            () => null,
            (err: unknown) => ({ err }),
          );
      });
    } catch (err) {
      // The database failed around the hand-off. Before SMTP: nothing went out, retry. After: unknown.
      if (handedToSmtp)
        throw new AmbiguousSendError(`database error after the SMTP hand-off: ${String(err)}`);
      // Nothing reached SMTP: release the `sending` row, or the retry would take it for a possible send.
      await markMessage(messageRowId, 'canceled');
      return {
        kind: 'retry_later',
        reason: 'handoff_check_failed',
        at: later(PREPARE_RETRY_MS),
        countsAsAttempt: true,
      };
    }
    if (!handed.allowed) {
      await markMessage(messageRowId, 'canceled');
      return { kind: 'stopped', reason: 'stopped_before_send' };
    }
    if (handed.value) return failedDelivery(ctx, messageRowId, handed.value.err);
    await markMessage(messageRowId, 'sent');
    return sentResult(ctx, messageId, composed.subject, mailbox.id, composed.variant);
  }

  async function failedDelivery(
    ctx: StepContext,
    messageRowId: string,
    err: unknown,
  ): Promise<ChannelResult> {
    const failure = classifySmtpError(err);
    deps.log.warn({ runId: ctx.run.id, kind: failure.kind, reason: failure.reason }, 'smtp send failed');
    // The server may have the message: the row stays `sending` (it still counts against the limit
    // and still threads a reply), and the engine records the run as ambiguous, never to be resent.
    if (failure.kind === 'ambiguous') throw new AmbiguousSendError(failure.reason);
    await markMessage(messageRowId, 'failed');
    if (failure.kind === 'bounce') return { kind: 'failed', reason: failure.reason, stop: 'bounced' };
    // The claim counted this attempt already, so `attempts` is 1 on the first try.
    const attempt = ctx.run.attempts;
    if (attempt >= maxAttempts)
      return { kind: 'failed', reason: `gave up after ${attempt} attempts: ${failure.reason}` };
    return {
      kind: 'retry_later',
      reason: failure.reason,
      at: later(retryDelayMs(attempt, Math.random())),
      countsAsAttempt: true,
    };
  }

  /** A lost status write must not turn a delivered email into a retry: the row then stays `sending`. */
  async function markMessage(id: string, status: 'sent' | 'failed' | 'canceled'): Promise<void> {
    await deps.db
      .update(messages)
      .set({ status })
      .where(eq(messages.id, id))
      .catch((err: unknown) =>
        deps.log.error({ err, messageRowId: id, status }, 'could not record message status'),
      );
  }

  async function workspaceTimeZone(workspaceId: string): Promise<string> {
    const [ws] = await deps.db
      .select({ tz: workspaces.timezone })
      .from(workspaces)
      .where(eq(workspaces.id, workspaceId));
    return ws?.tz ?? 'UTC';
  }

  return { stepTypes: ['email'], send, close: async () => transports.close() };
}

/** The first email of an enrollment roots its thread; every email pins the mailbox for the thread. */
function sentResult(
  ctx: StepContext,
  messageId: string,
  subject: string,
  mailboxId: string | null,
  variant: number | null,
): ChannelResult {
  const first = !ctx.enrollment.threadMessageId;
  return {
    kind: 'sent',
    data: { messageId, mailboxId, variant },
    enrollmentPatch: {
      ...(mailboxId ? { mailboxId } : {}),
      ...(first ? { threadMessageId: messageId, threadSubject: subject } : {}),
    },
  };
}
