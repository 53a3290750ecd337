import { eq, inArray } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enrollments, events, stepRuns } from '../../src/db/schema/index';
import type { Outcome } from '../../src/engine/advance-in-one';
import { stepBatches } from '../../src/engine/step-batches';
import { createTestWorkspace, startTestEngine, type TestEngine } from '../helpers/engine';
import { insertLeads } from '../helpers/factories';
import { type StoredSequence, storeSequence } from '../helpers/step-context';

/**
 * The group commit of the step engine: claims and advances issued together share one statement.
 * What a user relies on is that sharing changes nothing: a run is still claimed once, and a bad
 * row in a batch fails only its own step.
 */
describe('step batches', () => {
  let engine: TestEngine;
  let workspaceId: string;
  let seq: StoredSequence;
  beforeAll(async () => {
    engine = await startTestEngine();
    workspaceId = (await createTestWorkspace(engine.app)).id;
    seq = await storeSequence(engine, workspaceId, {
      steps: [
        { type: 'email', subject: 'Hi', body: 'Hello' },
        { type: 'email', subject: 'Again', body: 'Hello again' },
      ],
    });
  });
  afterAll(() => engine.close());

  /** `count` enrollments with their first run scheduled and due now. */
  async function dueRuns(count: number) {
    const db = engine.deps.db;
    const leads = await insertLeads(db, workspaceId, count);
    const enrolled = await db
      .insert(enrollments)
      .values(leads.map((l) => ({ workspaceId, sequenceId: seq.sequenceId, version: 1, leadId: l.id })))
      .returning();
    const step = seq.definition.steps[0];
    if (!step) throw new Error('no step');
    const now = new Date();
    return db
      .insert(stepRuns)
      .values(
        enrolled.map((e) => ({
          workspaceId,
          enrollmentId: e.id,
          stepId: step.id,
          stepIndex: 0,
          stepType: step.type,
          runAt: now,
          dueAt: now,
        })),
      )
      .returning();
  }

  type Run = Awaited<ReturnType<typeof dueRuns>>[number];
  const secondStep = () => {
    const next = seq.definition.steps[1];
    if (!next) throw new Error('no second step');
    return next;
  };
  /** The outcome the step runner hands over for a first email that went out. */
  const sentOutcome = (run: Run, runAt: Date, workspace = workspaceId): Outcome => ({
    workspaceId: workspace,
    enrollmentId: run.enrollmentId,
    runId: run.id,
    generation: run.generation,
    status: 'sent',
    reason: null,
    data: { variant: 0 },
    event: {
      workspaceId: workspace,
      type: 'message.sent',
      enrollmentId: run.enrollmentId,
      stepRunId: run.id,
    },
    next: { planned: { index: 1, step: secondStep(), waits: [] }, runAt },
    qualifyThreshold: null,
  });

  it('claims each run once, even when the same run is asked for twice in one batch', async () => {
    const runs = await dueRuns(5);
    const batches = stepBatches(engine.deps);
    const asks = [...runs, ...runs.slice(0, 2)].map((r) =>
      batches.claim({ stepRunId: r.id, generation: r.generation }),
    );
    const claimed = await Promise.all(asks);
    const byRun = new Map<string, number>();
    for (const c of claimed) if (c) byRun.set(c.run.id, (byRun.get(c.run.id) ?? 0) + 1);
    expect([...byRun.keys()].sort()).toEqual(runs.map((r) => r.id).sort());
    expect([...byRun.values()].every((n) => n === 1)).toBe(true);
    // Each claim came back with its own enrollment and lead.
    for (const c of claimed)
      if (c) {
        expect(c.run.enrollmentId).toBe(c.enrollment.id);
        expect(c.enrollment.leadId).toBe(c.lead.id);
      }
    const rows = await engine.deps.db
      .select({ status: stepRuns.status, attempts: stepRuns.attempts })
      .from(stepRuns)
      .where(
        inArray(
          stepRuns.id,
          runs.map((r) => r.id),
        ),
      );
    expect(rows.every((r) => r.status === 'claimed' && r.attempts === 1)).toBe(true);
  });

  it('advances a batch in one go, and a row Postgres refuses fails only its own step', async () => {
    const runs = await dueRuns(4);
    const batches = stepBatches(engine.deps);
    await Promise.all(runs.map((r) => batches.claim({ stepRunId: r.id, generation: r.generation })));
    const next = secondStep();
    const runAt = new Date(Date.now() + 3600_000);
    const outcome = (run: Run, workspace = workspaceId) => sentOutcome(run, runAt, workspace);
    const [bad, ...good] = runs;
    if (!bad) throw new Error('no runs');
    // An unknown workspace breaks the foreign keys of the event and of the next run.
    const results = await Promise.allSettled([
      ...good.map((r) => batches.advance(outcome(r))),
      batches.advance(outcome(bad, '00000000-0000-4000-8000-000000000000')),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'rejected']);
    const db = engine.deps.db;
    const done = await db
      .select({ id: stepRuns.id, status: stepRuns.status })
      .from(stepRuns)
      .where(
        inArray(
          stepRuns.id,
          runs.map((r) => r.id),
        ),
      );
    const status = new Map(done.map((r) => [r.id, r.status]));
    for (const r of good) expect(status.get(r.id)).toBe('sent');
    expect(status.get(bad.id)).toBe('claimed');
    for (const r of good) {
      const scheduled = await db.select().from(stepRuns).where(eq(stepRuns.enrollmentId, r.enrollmentId));
      expect(scheduled.filter((s) => s.status === 'scheduled').map((s) => s.stepIndex)).toEqual([1]);
      const [enrollment] = await db.select().from(enrollments).where(eq(enrollments.id, r.enrollmentId));
      expect(enrollment?.currentStepId).toBe(next.id);
      expect(enrollment?.nextRunAt?.getTime()).toBe(runAt.getTime());
      const sent = await db.select().from(events).where(eq(events.stepRunId, r.id));
      expect(sent.map((e) => e.type)).toEqual(['message.sent']);
    }
    // Nothing of the refused row was written.
    expect(await db.select().from(events).where(eq(events.stepRunId, bad.id))).toEqual([]);
  });

  it('changes nothing when an advance runs again after its commit, as after a lost reply', async () => {
    const runs = await dueRuns(2);
    const batches = stepBatches(engine.deps);
    await Promise.all(runs.map((r) => batches.claim({ stepRunId: r.id, generation: r.generation })));
    const first = new Date(Date.now() + 3600_000);
    const firstRefs = await Promise.all(runs.map((r) => batches.advance(sentOutcome(r, first))));
    expect(firstRefs.every((ref) => ref !== null)).toBe(true);
    // The same outcomes again, a moment later (a retry plans its next run from a later time).
    const again = new Date(first.getTime() + 60_000);
    const replayRefs = await Promise.all(runs.map((r) => batches.advance(sentOutcome(r, again))));
    expect(replayRefs).toEqual([null, null]);
    const db = engine.deps.db;
    for (const r of runs) {
      const ledger = await db.select().from(stepRuns).where(eq(stepRuns.enrollmentId, r.enrollmentId));
      expect(ledger.map((s) => [s.stepIndex, s.status]).sort()).toEqual([
        [0, 'sent'],
        [1, 'scheduled'],
      ]);
      expect(ledger.find((s) => s.stepIndex === 1)?.runAt.getTime()).toBe(first.getTime());
      const [enrollment] = await db.select().from(enrollments).where(eq(enrollments.id, r.enrollmentId));
      expect(enrollment?.nextRunAt?.getTime()).toBe(first.getTime());
      const sent = await db.select().from(events).where(eq(events.stepRunId, r.id));
      expect(sent.map((e) => e.type)).toEqual(['message.sent']);
    }
  });

  it('checks hand-offs started together each on its own: a stopped enrollment is refused, the rest allowed', async () => {
    const runs = await dueRuns(4);
    const [stopped, ...live] = runs;
    if (!stopped) throw new Error('no runs');
    await engine.deps.db
      .update(enrollments)
      .set({ status: 'replied' })
      .where(eq(enrollments.id, stopped.enrollmentId));
    const batches = stepBatches(engine.deps);
    const found = await Promise.all(runs.map((r) => batches.handOffCheck(r.enrollmentId)));
    expect(found).toEqual([null, ...live.map(() => ({ pending: false }))]);
  });

  it('lands an outcome only on the claim it belongs to, never on the run claimed again since', async () => {
    const [run] = await dueRuns(1);
    if (!run) throw new Error('no run');
    const batches = stepBatches(engine.deps);
    await batches.claim({ stepRunId: run.id, generation: run.generation });
    // The claim's lease ran out before the hand-off: the run was scheduled again and claimed anew.
    const db = engine.deps.db;
    await db
      .update(stepRuns)
      .set({ status: 'claimed', generation: run.generation + 1 })
      .where(eq(stepRuns.id, run.id));
    const late = await batches.advance(sentOutcome(run, new Date(Date.now() + 3600_000)));
    expect(late).toBeNull();
    const [after] = await db.select().from(stepRuns).where(eq(stepRuns.id, run.id));
    expect(after?.status).toBe('claimed');
    expect(await db.select().from(events).where(eq(events.stepRunId, run.id))).toEqual([]);
    const ledger = await db.select().from(stepRuns).where(eq(stepRuns.enrollmentId, run.enrollmentId));
    expect(ledger).toHaveLength(1);
  });
});
