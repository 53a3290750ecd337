import { connectedEventTypes } from '../core/step-types';
import { and, eq, inArray } from 'drizzle-orm';
import type { DbOrTx, Tx } from '../db/client';
import { events } from '../db/schema/index';
import { changeStage } from '../timeline/stages';
import type { SequenceDefinition } from '../core/sequences';
import type { BranchCondition, ResolvedStep } from '../core/steps';
import type { EnrollmentRow, LeadRow, StepRunRow } from './channel';
import { stepIndexById } from '../core/plan';
import { createTask } from './tasks';

/** What an internal step did, and where the sequence goes next. */
export type InternalOutcome = {
  status: 'sent' | 'failed';
  nextIndex: number;
  data: Record<string, unknown>;
  reason?: string;
};

type InternalInput = {
  tx: Tx;
  step: ResolvedStep;
  run: StepRunRow;
  lead: LeadRow;
  enrollment: EnrollmentRow;
  definition: SequenceDefinition;
};

export const internalStepTypes = new Set(['branch', 'stage', 'task', 'end', 'goto']);

/** One of the enrollment's events of these types, if any (a branch condition's history). */
export const enrollmentEvent = (db: DbOrTx, enrollmentId: string, types: string[]) =>
  db
    .select({ id: events.id })
    .from(events)
    .where(and(eq(events.enrollmentId, enrollmentId), inArray(events.type, types)))
    .limit(1);

/** One of the lead's events of these types, whichever enrollment or channel recorded it. */
export async function leadHasEvent(
  db: DbOrTx,
  lead: { id: string; workspaceId: string },
  types: readonly string[],
): Promise<boolean> {
  const [row] = await db
    .select({ id: events.id })
    .from(events)
    .where(
      and(
        eq(events.workspaceId, lead.workspaceId),
        eq(events.leadId, lead.id),
        inArray(events.type, [...types]),
      ),
    )
    .limit(1);
  return row !== undefined;
}

async function hasEvent(tx: Tx, enrollmentId: string, types: string[]) {
  const [row] = await enrollmentEvent(tx, enrollmentId, types);
  return Boolean(row);
}

/** Branch conditions read the recorded history, never live channel state. */
export async function evaluateCondition(
  tx: Tx,
  cond: BranchCondition,
  lead: LeadRow,
  enrollment: EnrollmentRow,
) {
  if ('opened' in cond) return hasEvent(tx, enrollment.id, ['email.opened']);
  if ('clicked' in cond) return hasEvent(tx, enrollment.id, ['email.clicked']);
  if ('linkedinConnected' in cond) return leadHasEvent(tx, lead, connectedEventTypes);
  if ('hasEmail' in cond) return Boolean(lead.email);
  if ('hasLinkedin' in cond) return Boolean(lead.linkedinUrl);
  return cond.stageIn.includes(lead.stage);
}

/** Runs a branch, stage or task step inside the advancing transaction. */
export async function runInternalStep(input: InternalInput): Promise<InternalOutcome> {
  const { tx, step, run, lead, enrollment, definition } = input;
  const following = run.stepIndex + 1;
  switch (step.type) {
    case 'branch': {
      const taken = await evaluateCondition(tx, step.if, lead, enrollment);
      const target = taken ? step.then : step.else;
      const nextIndex = target ? stepIndexById(definition, target) : following;
      return { status: 'sent', nextIndex, data: { branch: taken ? 'then' : 'else', target: target ?? null } };
    }
    case 'end':
      // Past the last step: the advance completes the enrollment (onComplete applies).
      return { status: 'sent', nextIndex: definition.steps.length, data: {} };
    case 'goto':
      return { status: 'sent', nextIndex: stepIndexById(definition, step.to), data: { target: step.to } };
    case 'stage': {
      const change = await changeStage(tx, {
        workspaceId: enrollment.workspaceId,
        leadId: lead.id,
        toStage: step.stage,
        reason: `sequence:${enrollment.sequenceId}`,
        source: 'engine',
        byEnrollment: enrollment.id,
      });
      if (!change.ok) return { status: 'failed', nextIndex: following, data: {}, reason: change.error };
      return { status: 'sent', nextIndex: following, data: { from: change.from, to: change.to } };
    }
    case 'task': {
      const task = await createTask(tx, {
        workspaceId: enrollment.workspaceId,
        lead,
        enrollmentId: enrollment.id,
        stepRunId: run.id,
        title: step.title,
        kind: step.kind,
      });
      return { status: 'sent', nextIndex: following, data: { taskId: task.id } };
    }
    default:
      throw new Error(`step type ${step.type} is not internal`);
  }
}
