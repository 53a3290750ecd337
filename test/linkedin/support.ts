import { eq } from 'drizzle-orm';
import { configureLinkedInRuntime } from '../../src/channels/linkedin/runtime';
import { enrollments, sequences, sequenceVersions, stepRuns } from '../../src/db/schema/index';
import type { StepContext } from '../../src/engine/channel';
import {
  resolveDefinition,
  type SequenceDefinition,
  SequenceDefinitionInput,
} from '../../src/modules/sequences/sequences.schemas';
import type { TestEngine, TestWorkspace } from '../helpers/engine';
import { insertLeads } from '../helpers/factories';
import type { LinkedInSite } from '../fixtures/linkedin-site/site';

/** Short pauses and waits: the fixture answers at once, and tests should not sleep for realism. */
export const fastRuntime = (engine: TestEngine) =>
  configureLinkedInRuntime(engine.deps, {
    pacing: { minMs: 0, maxMs: 15 },
    timeoutMs: 5_000,
    lockWaitMs: 1_000,
  });

/** Adds an account through the API with the fixture's session cookie (or another one). */
export async function addAccount(
  engine: TestEngine,
  ws: TestWorkspace,
  site: LinkedInSite,
  body: Record<string, unknown> = {},
): Promise<{ id: string }> {
  const res = await engine.app.inject({
    method: 'POST',
    url: '/v1/linkedin-accounts',
    headers: ws.auth,
    payload: { name: 'Sales', liAt: site.liAt, ...body },
  });
  if (res.statusCode !== 201) throw new Error(`account create failed: ${res.statusCode} ${res.body}`);
  return res.json<{ id: string }>();
}

export async function storeSequence(
  engine: TestEngine,
  workspaceId: string,
  input: SequenceDefinitionInput,
): Promise<{ sequenceId: string; definition: SequenceDefinition }> {
  const definition = resolveDefinition(SequenceDefinitionInput.parse(input));
  const [seq] = await engine.deps.db
    .insert(sequences)
    .values({ workspaceId, name: `li-${Math.random().toString(36).slice(2, 10)}`, status: 'active' })
    .returning();
  if (!seq) throw new Error('no sequence');
  await engine.deps.db.insert(sequenceVersions).values({ sequenceId: seq.id, version: 1, definition });
  return { sequenceId: seq.id, definition };
}

/**
 * A lead (with the fixture profile's URL) enrolled in the sequence, and a claimed run of step
 * `stepIndex`: what the engine hands a channel.
 */
export async function claimedContext(
  engine: TestEngine,
  workspaceId: string,
  seq: { sequenceId: string; definition: SequenceDefinition },
  lead: { linkedinUrl: string; firstName?: string; company?: string },
  stepIndex = 0,
): Promise<StepContext> {
  const db = engine.deps.db;
  const step = seq.definition.steps[stepIndex];
  if (!step) throw new Error(`no step ${stepIndex}`);
  const [row] = await insertLeads(db, workspaceId, 1, () => lead);
  if (!row) throw new Error('no lead');
  const [enrollment] = await db
    .insert(enrollments)
    .values({ workspaceId, sequenceId: seq.sequenceId, version: 1, leadId: row.id, currentStepId: step.id })
    .returning();
  if (!enrollment) throw new Error('no enrollment');
  const now = new Date();
  const [run] = await db
    .insert(stepRuns)
    .values({
      workspaceId,
      enrollmentId: enrollment.id,
      stepId: step.id,
      stepIndex,
      stepType: step.type,
      status: 'claimed',
      runAt: now,
      dueAt: now,
      attempts: 1,
      claimedAt: now,
    })
    .returning();
  if (!run) throw new Error('no run');
  return {
    deps: engine.deps,
    lead: row,
    enrollment,
    run,
    step,
    definition: seq.definition,
    stepIndex,
    workspaceTimezone: 'UTC',
  };
}

/** Another step of the same enrollment, after the engine stored the enrollment patch. */
export async function nextStepContext(
  engine: TestEngine,
  ctx: StepContext,
  stepIndex: number,
): Promise<StepContext> {
  const step = ctx.definition.steps[stepIndex];
  if (!step) throw new Error(`no step ${stepIndex}`);
  const [enrollment] = await engine.deps.db
    .select()
    .from(enrollments)
    .where(eq(enrollments.id, ctx.enrollment.id));
  if (!enrollment) throw new Error('enrollment vanished');
  const now = new Date();
  const [run] = await engine.deps.db
    .insert(stepRuns)
    .values({
      workspaceId: enrollment.workspaceId,
      enrollmentId: enrollment.id,
      stepId: step.id,
      stepIndex,
      stepType: step.type,
      status: 'claimed',
      runAt: now,
      dueAt: now,
      attempts: 1,
      claimedAt: now,
    })
    .returning();
  if (!run) throw new Error('no run');
  return { ...ctx, enrollment, run, step, stepIndex };
}
