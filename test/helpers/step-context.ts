import { eq } from 'drizzle-orm';
import { enrollments, leads, sequences, sequenceVersions, stepRuns } from '../../src/db/schema/index';
import type { ChannelResult, StepContext } from '../../src/engine/channel';
import { handOffWhileAllowed } from '../../src/engine/liveness';
import {
  resolveDefinition,
  type SequenceDefinition,
  SequenceDefinitionInput,
} from '../../src/core/sequences';
import type { TestEngine } from './engine';
import { insertLeads, type LeadSeed } from './factories';

export type StoredSequence = { sequenceId: string; definition: SequenceDefinition };

/**
 * Stores an active sequence and its validated version 1 straight in the tables, as the sequences API
 * does: channel tests drive one step by hand and need no workers.
 */
export async function storeSequence(
  engine: TestEngine,
  workspaceId: string,
  input: SequenceDefinitionInput,
): Promise<StoredSequence> {
  const definition = resolveDefinition(SequenceDefinitionInput.parse(input));
  const [seq] = await engine.deps.db
    .insert(sequences)
    .values({ workspaceId, name: `seq-${Math.random().toString(36).slice(2, 10)}`, status: 'active' })
    .returning();
  if (!seq) throw new Error('no sequence');
  await engine.deps.db.insert(sequenceVersions).values({ sequenceId: seq.id, version: 1, definition });
  return { sequenceId: seq.id, definition };
}

/**
 * A lead enrolled in the sequence with a claimed run of step `stepIndex`: exactly what the engine
 * hands a channel. With `enrollmentId`, the run belongs to that enrollment instead of a new lead's.
 * `attempts` is 1, as after the engine's claim.
 */
export async function claimedContext(
  engine: TestEngine,
  workspaceId: string,
  seq: StoredSequence,
  opts: { stepIndex?: number; lead?: LeadSeed; enrollmentId?: string } = {},
): Promise<StepContext> {
  const db = engine.deps.db;
  const stepIndex = opts.stepIndex ?? 0;
  const step = seq.definition.steps[stepIndex];
  if (!step) throw new Error(`no step ${stepIndex}`);
  let enrollmentId = opts.enrollmentId;
  if (!enrollmentId) {
    const [lead] = await insertLeads(db, workspaceId, 1, () => opts.lead ?? {});
    if (!lead) throw new Error('no lead');
    const [enrollment] = await db
      .insert(enrollments)
      .values({
        workspaceId,
        sequenceId: seq.sequenceId,
        version: 1,
        leadId: lead.id,
        currentStepId: step.id,
      })
      .returning();
    if (!enrollment) throw new Error('no enrollment');
    enrollmentId = enrollment.id;
  }
  const now = new Date();
  const [run] = await db
    .insert(stepRuns)
    .values({
      workspaceId,
      enrollmentId,
      stepId: step.id,
      stepIndex,
      stepType: step.type,
      status: 'claimed',
      runAt: now,
      dueAt: now,
      attempts: 1,
      claimedAt: now,
      leaseUntil: new Date(now.getTime() + 600_000),
      handoff: 'pending',
    })
    .returning();
  if (!run) throw new Error('no run');
  return reload(engine, { run, step, definition: seq.definition, stepIndex });
}

/** Another step of the same enrollment, read after the engine stored the enrollment patch. */
export function nextStepContext(engine: TestEngine, ctx: StepContext, stepIndex: number) {
  const seq = { sequenceId: ctx.enrollment.sequenceId, definition: ctx.definition };
  return claimedContext(engine, ctx.enrollment.workspaceId, seq, {
    stepIndex,
    enrollmentId: ctx.enrollment.id,
  });
}

/** Reads the lead, enrollment and run back, as the engine does before each attempt. */
export async function reload(
  engine: TestEngine,
  ctx: Pick<StepContext, 'run' | 'step' | 'definition' | 'stepIndex'>,
): Promise<StepContext> {
  const db = engine.deps.db;
  const [run] = await db.select().from(stepRuns).where(eq(stepRuns.id, ctx.run.id));
  const [enrollment] = run
    ? await db.select().from(enrollments).where(eq(enrollments.id, run.enrollmentId))
    : [];
  const [lead] = enrollment ? await db.select().from(leads).where(eq(leads.id, enrollment.leadId)) : [];
  if (!run || !enrollment || !lead) throw new Error('context vanished');
  return {
    ...ctx,
    deps: engine.deps,
    run,
    enrollment,
    lead,
    workspaceTimezone: 'UTC',
    handOff: (send) => handOffWhileAllowed(engine.deps, enrollment.id, send),
  };
}

/** What the engine does between attempts of one run: reschedule it (a new generation), count the attempt and claim it again. */
export async function nextAttempt(engine: TestEngine, ctx: StepContext): Promise<StepContext> {
  await engine.deps.db
    .update(stepRuns)
    .set({
      attempts: ctx.run.attempts + 1,
      generation: ctx.run.generation + 1,
      status: 'claimed',
      handoff: 'pending',
    })
    .where(eq(stepRuns.id, ctx.run.id));
  return reload(engine, ctx);
}

/** What the engine does with a `sent` result: store the enrollment patch. */
export async function applyEnrollmentPatch(engine: TestEngine, ctx: StepContext, result: ChannelResult) {
  if (result.kind === 'sent' && result.enrollmentPatch)
    await engine.deps.db
      .update(enrollments)
      .set(result.enrollmentPatch)
      .where(eq(enrollments.id, ctx.enrollment.id));
}
