import { channelStepTypes } from '../core/step-types';
import { and, eq, sql } from 'drizzle-orm';
import type { DbOrTx, Tx } from '../db/client';
import { enrollments, stepRuns, workspaces } from '../db/schema/index';
import { recordEvent } from '../timeline/events';
import { changeStage } from '../timeline/stages';
import type { SequenceDefinition } from '../core/sequences';
import type { EnrollmentRow, LeadRow } from './channel';
import type { RunRef } from './dispatch';
import { nextActionStep, type PlannedStep } from '../core/plan';
import { computeRunAt, nextWindowTime, resolveTimezone, spreadSeed } from '../core/schedule';

export type ScheduleInput = {
  enrollment: Pick<EnrollmentRow, 'id' | 'workspaceId' | 'leadId' | 'sequenceId'>;
  lead: Pick<LeadRow, 'id' | 'timezone' | 'country'>;
  definition: SequenceDefinition;
  workspaceTimezone: string;
  /** The holiday country of leads without one; null: none. */
  workspaceCountry: string | null;
  /** Index to look for the next step from (waits there count). */
  fromIndex: number;
  base: Date;
};

/** The workspace's fallbacks for its leads' time: zone and holiday country. */
export async function workspaceCalendar(
  tx: DbOrTx,
  workspaceId: string,
): Promise<{ workspaceTimezone: string; workspaceCountry: string | null }> {
  const [ws] = await tx
    .select({ tz: workspaces.timezone, country: workspaces.country })
    .from(workspaces)
    .where(eq(workspaces.id, workspaceId));
  return { workspaceTimezone: ws?.tz ?? 'UTC', workspaceCountry: ws?.country ?? null };
}

export const leadTimezone = (lead: Pick<LeadRow, 'timezone'>, def: SequenceDefinition, workspaceTz: string) =>
  resolveTimezone(lead.timezone, def.schedule?.timezone, workspaceTz);

/** Whose public holidays the lead's business days skip: its own country's, else the workspace's. */
export const leadCountry = (lead: Pick<LeadRow, 'country'>, workspaceCountry: string | null | undefined) =>
  lead.country ?? workspaceCountry ?? null;

/**
 * Pushes a channel step's time into the sending window (on a day that is not a holiday, spread as
 * the schedule says); internal steps run whenever due.
 */
export function windowed(
  at: Date,
  ctx: Omit<ScheduleInput, 'enrollment' | 'fromIndex' | 'base' | 'workspaceCountry'> & {
    step: { id: string; type: string };
    workspaceCountry?: string | null;
  },
): Date {
  if (!channelStepTypes.has(ctx.step.type)) return at;
  return nextWindowTime(
    at,
    ctx.definition.schedule,
    leadTimezone(ctx.lead, ctx.definition, ctx.workspaceTimezone),
    {
      country: leadCountry(ctx.lead, ctx.workspaceCountry),
      seed: spreadSeed(ctx.lead.id, ctx.step.id),
    },
  );
}

/**
 * Writes the enrollment's next run (or completes it), in the caller's transaction. The caller holds
 * the enrollment row lock and has checked it is still live. Returns the run to dispatch after commit.
 */
export async function scheduleNextStep(tx: Tx, input: ScheduleInput): Promise<RunRef | null> {
  const next = planNextRun(input);
  if (!next) {
    await completeEnrollment(tx, input);
    return null;
  }
  const { planned, runAt } = next;
  const [run] = await tx
    .insert(stepRuns)
    .values({
      workspaceId: input.enrollment.workspaceId,
      enrollmentId: input.enrollment.id,
      stepId: planned.step.id,
      stepIndex: planned.index,
      stepType: planned.step.type,
      runAt,
      dueAt: runAt,
    })
    // The (enrollment, step) pair is unique: a step is in the ledger at most once, ever.
    .onConflictDoNothing()
    .returning({ id: stepRuns.id, runAt: stepRuns.runAt, generation: stepRuns.generation });
  await tx
    .update(enrollments)
    .set({ currentStepId: planned.step.id, nextRunAt: runAt, updatedAt: new Date() })
    .where(eq(enrollments.id, input.enrollment.id));
  return run ?? null;
}

/** The next step that does something and when it runs (waits and the sending window applied). */
export function planNextRun(
  input: Omit<ScheduleInput, 'enrollment'>,
): { planned: PlannedStep; runAt: Date } | null {
  const planned = nextActionStep(input.definition, input.fromIndex);
  if (!planned) return null;
  const tz = leadTimezone(input.lead, input.definition, input.workspaceTimezone);
  const runAt = computeRunAt({
    base: input.base,
    waits: planned.waits,
    schedule: input.definition.schedule,
    tz,
    applyWindow: channelStepTypes.has(planned.step.type),
    country: leadCountry(input.lead, input.workspaceCountry),
    seed: spreadSeed(input.lead.id, planned.step.id),
  });
  return { planned, runAt };
}

async function completeEnrollment(tx: Tx, input: ScheduleInput): Promise<void> {
  const [done] = await tx
    .update(enrollments)
    .set({
      status: 'completed',
      currentStepId: null,
      nextRunAt: null,
      endedAt: new Date(),
      updatedAt: new Date(),
    })
    .where(and(eq(enrollments.id, input.enrollment.id), sql`${enrollments.status} in ('active', 'paused')`))
    .returning({ id: enrollments.id });
  if (!done) return;
  await recordEvent(tx, {
    workspaceId: input.enrollment.workspaceId,
    type: 'enrollment.completed',
    leadId: input.enrollment.leadId,
    enrollmentId: input.enrollment.id,
    data: { sequenceId: input.enrollment.sequenceId },
  });
  const onComplete = input.definition.settings.onComplete;
  if (onComplete) {
    await changeStage(tx, {
      workspaceId: input.enrollment.workspaceId,
      leadId: input.enrollment.leadId,
      toStage: onComplete.stage,
      reason: `sequence_completed:${input.enrollment.sequenceId}`,
      source: 'engine',
      // A cadence's end never moves a lead back, nor out of won or lost, nor a lead someone else
      // moved while it ran (a lead taken to `proposal` is not `lost` because its cadence ended).
      forwardOnly: true,
      untouchedDuring: input.enrollment.id,
    });
  }
}
