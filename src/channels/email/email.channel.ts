import { stepTypesOf } from '../../core/step-types';
import type { Deps } from '../../context';
import type { Channel, ChannelResult, StepContext } from '../../engine/channel';
import type { HandOff } from '../../engine/liveness';
import { retryingLostConnections } from '../../db/transaction';
import type { EmailStep } from '../../core/steps';
import { type SenderVars, senderVariables, usesSender } from '../../core/templates';
import { applyTracking } from './tracking';
import { unsubscribeUrl } from './unsubscribe-tokens';
import { listUnsubscribeHeaders, mailOptions, runMessageId } from './headers';
import { dayBounds, judge } from './capacity';
import { promotedVariantFor } from '../../engine/ab-winners';
import { type ComposedEmail, chooseVariant, composeEmail, headerSafe } from './compose';
import { chooseMailboxes, type MailboxRow } from './mailbox-choice';
import { createMailboxDirectory } from './mailbox-directory';
import { createInFlight } from './in-flight';
import {
  type Day,
  type MailboxState,
  type Offer,
  type PriorMessage,
  readSendState,
  recountDay,
  releaseMessage,
  type Reserved,
  type SenderFields,
  type SharedDraft,
  takeSlot,
} from './reservation';
import { AmbiguousSendError, classifySmtpError, MAX_SEND_ATTEMPTS, retryDelayMs } from './smtp-errors';
import { createTransportPool, type SmtpTimeouts, smtpTimeouts } from './transports';

export type EmailChannel = Channel & {
  /** Closes every pooled SMTP connection (on shutdown). */
  close(): Promise<void>;
};

export type EmailChannelOptions = { maxAttempts?: number; timeouts?: SmtpTimeouts };

type Prepared = { reservation: Reserved; composed: ComposedEmail };

const NO_MAILBOX_DELAY_MS = 5 * 60_000;
/**
 * Read-then-take rounds before a run gives way to others on a contended mailbox: the first from the
 * process's mailbox directory, then four from fresh reads (as many as before the directory).
 */
const TAKE_ROUNDS = 5;
const CONTENDED_DELAY_MS = 5_000;
const PREPARE_RETRY_MS = 30_000;
const PAUSED_MAILBOX_DELAY_MS = 15 * 60_000;
/**
 * Mailboxes one slot take may choose among. Each is a row of JSON the statement parses and joins
 * (50 of them per send cost more than the rest of the take); when all are taken by others or
 * refused, the next round reads again and offers the next ones.
 */
const MAX_OFFERS = 4;
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
    deps,
    options.timeouts ?? smtpTimeouts(deps.config.SMTP_TIMEOUT_SECONDS),
    deps.config.SMTP_SESSIONS_PER_MAILBOX,
  );
  const maxAttempts = options.maxAttempts ?? MAX_SEND_ATTEMPTS;
  const directory = createMailboxDirectory(deps.db);
  const sending = createInFlight(deps.config.SMTP_SESSIONS_PER_MAILBOX);

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
    // Counted in flight on its mailbox since the take (see `createInFlight`).
    const mailboxId = prepared.reservation.mailbox.id;
    try {
      return await deliver(ctx, prepared.reservation, prepared.composed);
    } finally {
      sending.remove(mailboxId);
    }
  }

  /** Everything before SMTP: checks, rendering, the capacity slot and the `sending` message row. */
  async function prepare(ctx: StepContext): Promise<Prepared | ChannelResult> {
    const { step, lead } = ctx;
    if (step.type !== 'email') return { kind: 'failed', reason: `unsupported_step:${step.type}` };
    const to = lead.email?.trim();
    if (!to || /[\r\n]/.test(to)) return { kind: 'failed', reason: 'no_email' };
    const thread =
      ctx.enrollment.threadMessageId && step.thread === 'reply' ? ctx.enrollment.threadMessageId : null;
    // One unsubscribe link per send: the same in List-Unsubscribe and in `{{ unsubscribeUrl }}`.
    const unsubscribe = unsubscribeUrl(deps, { workspaceId: lead.workspaceId, leadId: lead.id });
    // The A/B winner, when one was promoted before this run was created (cached: no query per send).
    const winner = await promotedVariantFor(deps.db, {
      sequenceId: ctx.enrollment.sequenceId,
      version: ctx.enrollment.version,
      definition: ctx.definition,
      step,
      runCreatedAt: ctx.run.createdAt,
    });
    // A template that reads `sender.*` renders per mailbox, once the mailbox that sends is known.
    const perMailbox = emailTemplates(step).some(usesSender);
    const rendered = new Map<string, Awaited<ReturnType<typeof render>>>();
    const renderFor = async (mailbox: MailboxRow | null) => {
      const key = mailbox?.id ?? '';
      const known = rendered.get(key);
      if (known) return known;
      const sendTime = {
        sender: mailbox ? senderVariables(mailbox) : undefined,
        unsubscribeUrl: unsubscribe,
      };
      const email = await render(ctx, { step, winner }, thread, sendTime);
      rendered.set(key, email);
      return email;
    };
    const composed = perMailbox ? null : await renderFor(null);
    const timeZone = ctx.workspaceTimezone;
    // Reading and taking are two statements with no lock between them: a slot taken, a counter
    // moved or a mailbox edited in between makes the take refuse, and the next round reads again.
    // The first round decides from the mailboxes as this process last read them and leaves the
    // run's earlier message to the take (nearly every send has none): one statement. Whatever
    // else it comes to (a refusal, no mailbox, no room) is decided again from a fresh read.
    for (let round = 0; round < TAKE_ROUNDS; round++) {
      const now = new Date();
      const day = dayBounds(now, timeZone);
      const cached = round === 0;
      const state = cached
        ? { rows: await directory.mailboxes(lead.workspaceId, day), prior: null }
        : await readSendState(deps.db, {
            workspaceId: lead.workspaceId,
            leadId: lead.id,
            stepRunId: ctx.run.id,
            pinned: [ctx.enrollment.mailboxId, step.mailboxId].filter((id): id is string => !!id),
            day,
          });
      const { prior } = state;
      // At most once: a run whose message left already is reported as sent, never sent again.
      if (prior?.status === 'sent' && prior.messageId)
        return sentResult(
          ctx,
          prior.messageId,
          prior.subject ?? '',
          prior.mailboxId,
          // The variant this run picks (the same at every attempt), so the A/B figures count it.
          chooseVariant(step, ctx.run.id, winner).variant,
        );
      if (prior?.status === 'sending') {
        if (!fromEndedAttempt(prior, ctx.run.generation))
          return { kind: 'failed', reason: 'ambiguous: an earlier attempt may have been delivered' };
        // Its attempt ended in a retry, so nothing reached SMTP: typically a slot take that
        // committed on a connection killed before the reply. Give the slot back and read again.
        await releaseMessage(deps.db, prior.id, 'canceled');
        continue;
      }
      if (composed && 'kind' in composed) return composed;
      const choice = chooseMailboxes(state.rows, {
        enrollmentMailboxId: ctx.enrollment.mailboxId,
        stepMailboxId: step.mailboxId,
      });
      if (cached && choice.kind !== 'candidates') continue;
      if (choice.kind === 'none') return deferral('no_mailbox', later(NO_MAILBOX_DELAY_MS));
      if (choice.kind === 'paused') return deferral('mailbox_paused', later(PAUSED_MAILBOX_DELAY_MS));
      const judged = await judgeAll(
        ctx,
        sending.freeFirst(choice.mailboxes),
        { now, day, timeZone, recount: !cached },
        unsubscribe,
      );
      const [first] = judged.offers;
      if (!first && cached) continue;
      if (!first) return deferral('capacity', judged.earliest);
      const email = composed ?? (await renderFor(first.mailbox));
      if ('kind' in email) return email;
      // Rendered for one mailbox, the email may only leave from that mailbox.
      const offers = composed ? judged.offers : [first];
      const draft = sharedDraft(ctx, { to, thread, composed: email });
      const reservation = await takeCounted(ctx, { now, day, prior, cached, draft, offers });
      if (reservation) {
        directory.took(lead.workspaceId, reservation.mailbox.id, { now, day });
        return { reservation, composed: email };
      }
      directory.forget(lead.workspaceId);
    }
    return deferral('capacity', later(CONTENDED_DELAY_MS));
  }

  /**
   * The slot take, counted in flight (`createInFlight`) on its first offer while it runs, so sends
   * deciding meanwhile see it; then on the mailbox it took, or nowhere if it took none.
   */
  async function takeCounted(
    ctx: StepContext,
    at: Parameters<typeof takeFirstFree>[1],
  ): Promise<Reserved | null> {
    const first = at.offers[0]?.mailbox.id ?? '';
    sending.add(first);
    let reservation: Reserved | null = null;
    try {
      reservation = await takeFirstFree(ctx, at);
      return reservation;
    } finally {
      if (reservation?.mailbox.id !== first) {
        sending.remove(first);
        if (reservation) sending.add(reservation.mailbox.id);
      }
    }
  }

  /** The slot take: first passing over mailboxes another worker is taking a slot from right now, then waiting for them. */
  async function takeFirstFree(
    ctx: StepContext,
    at: {
      now: Date;
      day: Day;
      prior: PriorMessage | null;
      cached: boolean;
      draft: SharedDraft;
      offers: Offer[];
    },
  ): Promise<Reserved | null> {
    const { lead } = ctx;
    const { now, day, prior, cached, draft, offers } = at;
    for (const skipLocked of [true, false]) {
      const reservation = await takeSlot(deps.db, {
        workspaceId: lead.workspaceId,
        run: ctx.run,
        now,
        day,
        priorMessageRowId: prior?.id ?? null,
        priorUnread: cached,
        draft,
        offers,
        skipLocked,
      });
      if (reservation) return reservation;
    }
    return null;
  }

  /** The rendered email, or the failure a template that does not render is. */
  async function render(
    ctx: StepContext,
    { step, winner }: { step: EmailStep; winner: number | null },
    thread: string | null,
    sendTime: { sender: SenderVars | undefined; unsubscribeUrl: string },
  ): Promise<ComposedEmail | Extract<ChannelResult, { kind: 'failed' }>> {
    const composed = await composeEmail({
      step,
      lead: ctx.lead,
      seed: ctx.run.id,
      winner,
      threadSubject: thread ? ctx.enrollment.threadSubject : null,
      sendTime,
    });
    return 'error' in composed ? { kind: 'failed', reason: `template_error: ${composed.error}` } : composed;
  }

  /**
   * The first `MAX_OFFERS` mailboxes with room now (in the given order) and, if none, when the
   * first one will. With `recount`, a mailbox refused on its day count is recounted from `messages`
   * before it is refused: the counter is kept exact, and this keeps a drifted one from ever holding
   * a mailbox back.
   */
  async function judgeAll(
    ctx: StepContext,
    states: MailboxState[],
    at: { now: Date; day: Day; timeZone: string; recount: boolean },
    unsubscribe: string,
  ): Promise<{ offers: Offer[]; earliest: Date }> {
    let verdicts = states.map((s) => ({ state: s, decision: judge(s, at) }));
    const fromCounter = verdicts.filter(
      (v) => !v.decision.ok && v.decision.why === 'daily_limit' && v.state.recount === null,
    );
    if (at.recount && !verdicts.some((v) => v.decision.ok) && fromCounter.length > 0) {
      const counted = await recountDay(
        deps.db,
        fromCounter.map((v) => v.state.mailbox.id),
        at.day,
      );
      verdicts = verdicts.map((v) => {
        const recount = counted.get(v.state.mailbox.id);
        if (recount === undefined || v.state.recount !== null) return v;
        const state = { ...v.state, recount };
        return { state, decision: judge(state, at) };
      });
    }
    const offers: Offer[] = [];
    let earliest: Date | null = null;
    for (const { state, decision } of verdicts) {
      if (offers.length === MAX_OFFERS) break;
      if (decision.ok) {
        offers.push({
          ...state,
          limit: decision.limit,
          sender: senderFields(ctx, state.mailbox, unsubscribe),
        });
      } else if (!earliest || decision.at < earliest) earliest = decision.at;
    }
    return { offers, earliest: earliest ?? later(NO_MAILBOX_DELAY_MS) };
  }

  function senderFields(ctx: StepContext, mailbox: MailboxRow, unsubscribe: string): SenderFields {
    return {
      messageId: runMessageId(ctx.run.id, mailbox.fromEmail),
      fromAddress: mailbox.fromEmail,
      headers: listUnsubscribeHeaders(unsubscribe, mailbox.fromEmail),
    };
  }

  async function deliver(
    ctx: StepContext,
    reservation: Reserved,
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
    // The SMTP exchange runs after the engine's hand-off check: a reply or unsubscribe committed
    // since the claim means nothing goes out; one committed after the check finds this run in
    // flight and says so, without waiting for the remote server. No connection is held meanwhile.
    // The exchange starts at most once, however often the hand-off calls it. An OAuth2 token that
    // cannot be had fails `get`, before any SMTP session: a retry or a failure, never ambiguous.
    let exchange: Promise<{ err: unknown } | null> | null = null;
    const exchangeOnce = () =>
      (exchange ??= transports
        .get(mailbox)
        .then((transport) =>
          transport.sendMail(
            mailOptions({
              messageId,
              from: { name: mailbox.fromName, email: mailbox.fromEmail },
              to: { name: leadName, address: draft.toAddress ?? '' },
              subject: composed.subject,
              text: composed.text,
              html,
              thread: draft.inReplyTo ?? null,
              headers: draft.headers ?? {},
            }),
          ),
        )
        .then(
          () => null,
          (err: unknown) => ({ err }),
        ));
    let handed: HandOff<{ err: unknown } | null>;
    try {
      handed = await transports.session(mailbox.id, () => ctx.handOff(exchangeOnce));
    } catch (err) {
      if (!exchange) {
        // The database failed before SMTP: nothing went out. Release the `sending` row (a retry
        // would reuse it anyway, as its attempt ended in a reschedule) and try again later.
        await recordStatus(messageRowId, 'canceled');
        return {
          kind: 'retry_later',
          reason: 'handoff_check_failed',
          at: later(PREPARE_RETRY_MS),
          countsAsAttempt: true,
        };
      }
      // The exchange started and the hand-off still failed (a channel's own hand-off may wrap it).
      // The SMTP server's answer, not the database, says whether the message left.
      deps.log.warn({ err, runId: ctx.run.id }, 'hand-off transaction failed; the SMTP answer decides');
      handed = { allowed: true, value: await exchange };
    }
    if (!handed.allowed) {
      await recordStatus(messageRowId, 'canceled');
      // Acknowledged inbound mail is not applied yet: look again shortly, reusing this row.
      if (handed.retryAt)
        return { kind: 'retry_later', reason: 'inbound_pending', at: handed.retryAt, countsAsAttempt: false };
      return { kind: 'stopped', reason: 'stopped_before_send' };
    }
    if (handed.value) return failedDelivery(ctx, messageRowId, handed.value.err, composed.variant);
    // The engine marks the row `sent` in the statement that records the outcome (one write, not two).
    return sentResult(ctx, messageId, composed.subject, mailbox.id, composed.variant, messageRowId);
  }

  async function failedDelivery(
    ctx: StepContext,
    messageRowId: string,
    err: unknown,
    variant: number | null,
  ): Promise<ChannelResult> {
    const failure = classifySmtpError(err);
    deps.log.warn({ runId: ctx.run.id, kind: failure.kind, reason: failure.reason }, 'smtp send failed');
    // The server may have the message: the row stays `sending` (it still counts against the limit
    // and still threads a reply), and the engine records the run as ambiguous, never to be resent.
    if (failure.kind === 'ambiguous') throw new AmbiguousSendError(failure.reason);
    await recordStatus(messageRowId, 'failed');
    if (failure.kind === 'bounce')
      return { kind: 'failed', reason: failure.reason, stop: 'bounced', data: { variant } };
    // A private address stays private: retrying would only hold a worker slot again.
    if (failure.kind === 'blocked') return { kind: 'failed', reason: failure.reason };
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

  /**
   * `failed` or `canceled`, with the slot given back. The write changes only a `sending` row, so it
   * is written again while the connection is lost. One that still fails leaves the row `sending`
   * (it keeps its slot).
   */
  async function recordStatus(id: string, status: 'failed' | 'canceled'): Promise<void> {
    const write = () => releaseMessage(deps.db, id, status);
    await retryingLostConnections(deps, write).catch((err: unknown) =>
      deps.log.error({ err, messageRowId: id, status }, 'could not record message status'),
    );
  }

  // The slot take records the hand-off on the run (see `takeSlot`).
  return { stepTypes: stepTypesOf('email'), marksHandOff: true, send, close: async () => transports.close() };
}

/** Every template of an email step: its own subject and body and its variants'. */
function emailTemplates(step: EmailStep): string[] {
  const parts = [step.subject, step.body, ...(step.variants ?? []).flatMap((v) => [v.subject, v.body])];
  return parts.filter((part): part is string => typeof part === 'string');
}

/** The message row of a run's email, apart from what depends on the mailbox that sends it. */
export function sharedDraft(
  ctx: StepContext,
  input: { to: string; thread: string | null; composed: ComposedEmail },
): SharedDraft {
  return {
    leadId: ctx.lead.id,
    enrollmentId: ctx.enrollment.id,
    stepRunId: ctx.run.id,
    stepRunGeneration: ctx.run.generation,
    direction: 'outbound',
    channel: 'email',
    inReplyTo: input.thread,
    references: input.thread,
    toAddress: input.to,
    subject: input.composed.subject,
    bodyText: input.composed.text,
    bodyHtml: input.composed.html,
  };
}

/**
 * Whether a `sending` row was written by an attempt that has ended in a reschedule. The engine
 * reschedules a run only on a channel's `retry_later` (or a stop before the hand-off), and this
 * channel returns those only when nothing was handed to SMTP; an attempt that may have delivered
 * ends the run as `ambiguous`, which is never claimed again. A row from the current generation, or
 * one too old to say, may be on the wire.
 */
function fromEndedAttempt(prior: PriorMessage, generation: number): boolean {
  return prior.generation !== null && prior.generation < generation;
}

/** The first email of an enrollment roots its thread; every email pins the mailbox for the thread. */
function sentResult(
  ctx: StepContext,
  messageId: string,
  subject: string,
  mailboxId: string | null,
  variant: number | null,
  /** The row this attempt sent, still `sending` (none when an earlier attempt's send is reported). */
  sentMessageRowId?: string,
): ChannelResult {
  const first = !ctx.enrollment.threadMessageId;
  return {
    kind: 'sent',
    data: { messageId, mailboxId, variant },
    ...(sentMessageRowId ? { sentMessageRowId } : {}),
    enrollmentPatch: {
      ...(mailboxId ? { mailboxId } : {}),
      ...(first ? { threadMessageId: messageId, threadSubject: subject } : {}),
    },
  };
}
