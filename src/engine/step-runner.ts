import { sentEventOf } from '../core/step-types';
import { and, eq, inArray, sql } from 'drizzle-orm';
import type { Deps } from '../context';
import type { Tx } from '../db/client';
import { enrollments, stepRuns } from '../db/schema/index';
import { type EventInput, recordEvent } from '../timeline/events';
import { changeStage } from '../timeline/stages';
import { loadVersion } from './versions';
import { bounceLead } from './suppressions';
import type { StepJob } from '../queue/queues';
import { planNextRun, scheduleNextStep, windowed } from './advance';
import { messagesSent, type Outcome } from './advance-in-one';
import type { Channel, ChannelResult, StepContext, StepRunRow } from './channel';
import type { ClaimedRun } from './claim';
import { stepBatches } from './step-batches';
import { dispatchRuns } from './dispatch';
import { internalStepTypes, runInternalStep } from './internal-steps';
import { handOffWhileAllowed, markHandOffStarted } from './liveness';
import { inTransaction, retryingLostConnections } from '../db/transaction';
import { stopIfLeadBlocked } from './unclaimable';

export type Channels = ReadonlyMap<string, Channel>;
export type RunOutcome = 'noop' | 'sent' | 'failed' | 'deferred' | 'ambiguous' | 'stopped';

/** Claim → execute → advance for one step job. Safe to call any number of times for one job. */
export async function runStep(deps: Deps, channels: Channels, job: StepJob): Promise<RunOutcome> {
  const claimed = await stepBatches(deps).claim({ stepRunId: job.stepRunId, generation: job.generation });
  if (!claimed) {
    await stopIfLeadBlocked(deps.db, job.stepRunId);
    return 'noop';
  }
  const { run, qualifyThreshold } = claimed;
  let ctx: StepContext;
  try {
    ctx = await loadContext(deps, claimed);
  } catch (err) {
    // Nothing reached a channel yet: give the run back rather than let its lease make it ambiguous.
    await releaseClaim(deps, run).catch(() => {});
    throw err;
  }
  const log = deps.log.child({ stepRunId: run.id, enrollmentId: run.enrollmentId, stepType: run.stepType });

  if (internalStepTypes.has(ctx.step.type)) return advance(deps, ctx, null, qualifyThreshold);
  const channel = channels.get(ctx.step.type);
  if (!channel) {
    return advance(
      deps,
      ctx,
      {
        kind: 'retry_later',
        at: new Date(Date.now() + 15 * 60_000),
        reason: 'channel_unavailable',
      },
      qualifyThreshold,
    );
  }
  // From here the lead may receive something: a worker dying past this point leaves the run
  // ambiguous. A claim no longer current (its lease ran out and it was run again) stops here.
  if (!channel.marksHandOff && !(await markHandOffStarted(deps.db, run))) return 'noop';
  let result: ChannelResult;
  try {
    result = await channel.send(ctx);
  } catch (err) {
    // The channel could not say whether the lead received anything: at-most-once says don't retry.
    log.error({ err }, 'channel threw; marking the run ambiguous');
    const reason = `channel_error: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`.slice(
      0,
      300,
    );
    await deps.db.transaction(async (tx) => {
      const [marked] = await tx
        .update(stepRuns)
        .set({ status: 'ambiguous', reason, leaseUntil: null, updatedAt: new Date() })
        .where(claimOf(run))
        .returning({ id: stepRuns.id });
      if (!marked) return;
      await recordEvent(tx, {
        workspaceId: run.workspaceId,
        type: 'step.ambiguous',
        leadId: ctx.lead.id,
        enrollmentId: run.enrollmentId,
        stepRunId: run.id,
        data: { reason },
      });
    });
    return 'ambiguous';
  }
  const outcome = await advance(deps, ctx, result, qualifyThreshold);
  log.debug({ outcome }, 'step run finished');
  return outcome;
}

/** The run while this claim of it is current: claimed, at the generation it was claimed at. */
const claimOf = (run: StepRunRow) =>
  and(eq(stepRuns.id, run.id), eq(stepRuns.generation, run.generation), eq(stepRuns.status, 'claimed'));

async function releaseClaim(deps: Deps, run: StepRunRow): Promise<void> {
  await deps.db
    .update(stepRuns)
    .set({
      status: 'scheduled',
      generation: sql`${stepRuns.generation} + 1`,
      attempts: sql`${stepRuns.attempts} - 1`,
      claimedAt: null,
      leaseUntil: null,
      enqueuedAt: null,
      updatedAt: new Date(),
    })
    .where(claimOf(run));
}

async function loadContext(deps: Deps, claimed: ClaimedRun): Promise<StepContext> {
  const { run, enrollment, lead, workspaceTimezone, workspaceCountry } = claimed;
  const definition = await loadVersion(deps.db, enrollment.sequenceId, enrollment.version);
  const step = definition?.steps[run.stepIndex];
  if (!definition || !step) throw new Error(`step run ${run.id} has no complete context`);
  return {
    deps,
    run,
    enrollment,
    lead,
    workspaceTimezone,
    workspaceCountry,
    definition,
    step,
    stepIndex: run.stepIndex,
    handOff: (send) =>
      handOffWhileAllowed(deps, run.enrollmentId, send, (id) => stepBatches(deps).handOffCheck(id)),
  };
}

/** Records the outcome and schedules what comes next, in one transaction; dispatches after commit. */
async function advance(
  deps: Deps,
  ctx: StepContext,
  result: ChannelResult | null,
  qualifyThreshold: number | null,
): Promise<RunOutcome> {
  const common = commonOutcome(ctx, result, qualifyThreshold);
  if (common) {
    const next = await stepBatches(deps).advance(common);
    if (next) await dispatchRuns(deps, [next]);
    return common.status;
  }
  // Replies and advances lock the same rows; Postgres may abort one as a deadlock victim, and
  // since nothing of a rolled-back advance happened, running it again is safe. So is running it
  // again after a lost connection: it finds its run recorded if the first commit went through.
  const { outcome, next } = await retryingLostConnections(deps, () =>
    inTransaction(deps, async (tx) => {
      if (result?.kind === 'sent' && result.sentMessageRowId)
        await tx.execute(messagesSent([result.sentMessageRowId]));
      // Lock the enrollment: a concurrent reply either committed before (we see it and stop) or waits.
      const [enrollment] = await tx
        .select()
        .from(enrollments)
        .where(eq(enrollments.id, ctx.enrollment.id))
        .for('update');
      if (!enrollment) throw new Error('enrollment vanished');
      const live = enrollment.status === 'active' || enrollment.status === 'paused';
      // The run as this claim left it: claimed, or made ambiguous when its lease ran out meanwhile.
      const mine = and(
        eq(stepRuns.id, ctx.run.id),
        eq(stepRuns.generation, ctx.run.generation),
        inArray(stepRuns.status, ['claimed', 'ambiguous']),
      );
      const [unrecorded] = await tx.select({ id: stepRuns.id }).from(stepRuns).where(mine).for('update');
      if (!unrecorded) return { outcome: 'noop' as const, next: null };

      if (result?.kind === 'stopped' && !live) {
        // A reply, unsubscribe or bounce landed between claim and hand-off: nothing went out.
        await tx
          .update(stepRuns)
          .set({ status: 'canceled', reason: result.reason, leaseUntil: null, updatedAt: new Date() })
          .where(mine);
        return { outcome: 'stopped' as const, next: null };
      }
      if (result?.kind === 'stopped') {
        // Paused meanwhile (or suppressed): back to scheduled; resume or the next claim decides.
        result = { kind: 'retry_later', at: new Date(), reason: result.reason, countsAsAttempt: false };
      }
      if (result?.kind === 'retry_later') {
        const runAt = windowed(result.at, ctx);
        const [row] = await tx
          .update(stepRuns)
          .set({
            status: 'scheduled',
            runAt,
            reason: result.reason,
            generation: sql`${stepRuns.generation} + 1`,
            attempts: result.countsAsAttempt === false ? sql`${stepRuns.attempts} - 1` : stepRuns.attempts,
            enqueuedAt: null,
            leaseUntil: null,
            claimedAt: null,
            updatedAt: new Date(),
          })
          .where(mine)
          .returning({ id: stepRuns.id, runAt: stepRuns.runAt, generation: stepRuns.generation });
        if (live)
          await tx.update(enrollments).set({ nextRunAt: runAt }).where(eq(enrollments.id, enrollment.id));
        return { outcome: 'deferred' as const, next: row ?? null };
      }

      let status: 'sent' | 'failed' = 'sent';
      let nextIndex = ctx.run.stepIndex + 1;
      let data: Record<string, unknown> = {};
      let reason: string | null = null;
      if (result === null) {
        const internal = await runInternalStep({ tx, ...ctx, enrollment });
        ({ status, nextIndex, data } = internal);
        reason = internal.reason ?? null;
      } else if (result.kind === 'sent') {
        data = result.data ?? {};
        if (result.enrollmentPatch)
          await tx.update(enrollments).set(result.enrollmentPatch).where(eq(enrollments.id, enrollment.id));
        await recordEvent(tx, outcomeEvent(ctx, { status: 'sent', data }));
        const touchStage = firstTouchStage(ctx);
        if (touchStage)
          await changeStage(tx, {
            workspaceId: enrollment.workspaceId,
            leadId: enrollment.leadId,
            toStage: touchStage,
            reason: 'first_touch',
            source: 'engine',
            forwardOnly: true,
          });
      } else {
        status = 'failed';
        reason = result.reason;
        data = result.data ?? {};
      }
      const variant = typeof data.variant === 'number' ? data.variant : null;
      await tx
        .update(stepRuns)
        .set({
          status,
          reason,
          result: data,
          variant,
          executedAt: new Date(),
          leaseUntil: null,
          updatedAt: new Date(),
        })
        .where(mine);
      if (status === 'failed') {
        await recordEvent(tx, outcomeEvent(ctx, { status: 'failed', reason }));
      }
      if (result?.kind === 'failed' && result.stop === 'bounced') {
        await bounceLead(tx, {
          workspaceId: enrollment.workspaceId,
          leadId: enrollment.leadId,
          reason: result.reason,
          enrollmentId: enrollment.id,
          stepRunId: ctx.run.id,
        });
        return { outcome: 'failed' as const, next: null };
      }
      const next = live ? await scheduleFrom(tx, ctx, enrollment, nextIndex) : null;
      return { outcome: status, next };
    }),
  );
  if (next) await dispatchRuns(deps, [next]);
  return outcome;
}

/**
 * The outcome as `advanceInOne` takes it, when it is the common case: a channel step sent or failed
 * (not a bounce) with another step after it. Null sends the advance down the general path.
 */
function commonOutcome(
  ctx: StepContext,
  result: ChannelResult | null,
  qualifyThreshold: number | null,
): Outcome | null {
  if (result === null || (result.kind !== 'sent' && result.kind !== 'failed')) return null;
  if (result.kind === 'failed' && result.stop) return null;
  // A first touch that moves the lead takes the general path, where the stage move happens.
  if (result.kind === 'sent' && firstTouchStage(ctx)) return null;
  const next = planNextRun({
    lead: ctx.lead,
    definition: ctx.definition,
    workspaceTimezone: ctx.workspaceTimezone,
    workspaceCountry: ctx.workspaceCountry ?? null,
    fromIndex: ctx.run.stepIndex + 1,
    base: new Date(),
  });
  if (!next) return null;
  const ids = {
    workspaceId: ctx.enrollment.workspaceId,
    enrollmentId: ctx.enrollment.id,
    runId: ctx.run.id,
    generation: ctx.run.generation,
  };
  if (result.kind === 'failed') {
    const event = outcomeEvent(ctx, { status: 'failed', reason: result.reason });
    return { ...ids, status: 'failed', reason: result.reason, data: {}, event, next, qualifyThreshold };
  }
  const data = result.data ?? {};
  return {
    ...ids,
    status: 'sent',
    reason: null,
    data,
    event: outcomeEvent(ctx, { status: 'sent', data }),
    enrollmentPatch: result.enrollmentPatch,
    sentMessageRowId: result.sentMessageRowId,
    next,
    qualifyThreshold,
  };
}

/** Steps that reach the lead: the first of them sent moves it to `onFirstTouch` (forward only). */
const touchStepTypes: ReadonlySet<string> = new Set(['email', 'linkedin_invite', 'linkedin_message']);

/**
 * The stage a sent step moves its lead to: the sequence's `onFirstTouch` stage for a step that
 * reaches the lead. Later touches find the lead there or beyond, and a forward-only move leaves it.
 */
function firstTouchStage(ctx: StepContext): string | null {
  const stage = ctx.definition.settings.onFirstTouch?.stage;
  return stage && touchStepTypes.has(ctx.step.type) ? stage : null;
}

/** The timeline event a step's outcome leaves, on either advance path: its sent event or `step.failed`. */
function outcomeEvent(
  ctx: StepContext,
  outcome: { status: 'sent'; data: Record<string, unknown> } | { status: 'failed'; reason: string | null },
): EventInput {
  const base = {
    workspaceId: ctx.enrollment.workspaceId,
    leadId: ctx.enrollment.leadId,
    enrollmentId: ctx.enrollment.id,
    stepRunId: ctx.run.id,
  };
  return outcome.status === 'failed'
    ? { ...base, type: 'step.failed', data: { stepId: ctx.step.id, reason: outcome.reason } }
    : {
        ...base,
        type: sentEventOf(ctx.step.type),
        data: { stepId: ctx.step.id, stepType: ctx.step.type, ...outcome.data },
      };
}

function scheduleFrom(tx: Tx, ctx: StepContext, enrollment: StepContext['enrollment'], fromIndex: number) {
  return scheduleNextStep(tx, {
    enrollment,
    lead: ctx.lead,
    definition: ctx.definition,
    workspaceTimezone: ctx.workspaceTimezone,
    workspaceCountry: ctx.workspaceCountry ?? null,
    fromIndex,
    base: new Date(),
  });
}
