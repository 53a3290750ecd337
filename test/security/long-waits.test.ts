import { eq, inArray } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enrollments, stepRuns } from '../../src/db/schema/index';
import { stepJobId } from '../../src/queue/queues';
import { channelMap, recordingChannel } from '../helpers/channels';
import { createTestWorkspace, startTestEngine, type TestEngine, waitFor } from '../helpers/engine';
import { insertLeads } from '../helpers/factories';
import { createActiveSequence, enrollLeads } from '../helpers/sequences';

/** 2^31 ms: where a JavaScript timer overflows and fires at once. */
const TIMER_LIMIT_SECONDS = 2 ** 31 / 1000;

/**
 * A wait longer than a timer can hold must still wait: the run sits in Postgres with its date and
 * stays out of Redis until it falls inside the queue horizon.
 */
describe('waits beyond 2^31 ms through the running engine', () => {
  let engine: TestEngine;
  beforeAll(async () => {
    engine = await startTestEngine({
      workers: true,
      env: { MAINTENANCE_INTERVAL_SECONDS: '0.2' },
      channels: channelMap(recordingChannel()),
    });
  });
  afterAll(() => engine.close());

  const runOf = async (enrollmentId: string) => {
    const [run] = await engine.deps.db.select().from(stepRuns).where(eq(stepRuns.enrollmentId, enrollmentId));
    if (!run) throw new Error(`no step run for ${enrollmentId}`);
    return run;
  };

  it('schedules the step after the wait, keeps it out of Redis, and runs a short wait meanwhile', async () => {
    const ws = await createTestWorkspace(engine.app);
    const [short, long, year] = await insertLeads(engine.deps.db, ws.id, 3);
    if (!short || !long || !year) throw new Error('leads');
    const waits = [
      { leadId: short.id, wait: { seconds: 1 } },
      { leadId: long.id, wait: { seconds: Math.ceil(TIMER_LIMIT_SECONDS) + 1 } },
      { leadId: year.id, wait: { days: 365 } },
    ];
    const enrolledAt = Date.now();
    const enrollmentIds: string[] = [];
    for (const { leadId, wait } of waits) {
      const id = await createActiveSequence(engine.app, ws, {
        steps: [
          { type: 'wait', ...wait },
          { type: 'task', title: 'call' },
        ],
      });
      const { enrolled } = await enrollLeads(engine.app, ws, id, [leadId]);
      const enrollmentId = enrolled[0]?.enrollmentId;
      if (!enrollmentId) throw new Error('not enrolled');
      enrollmentIds.push(enrollmentId);
    }
    const [shortId, longId, yearId] = enrollmentIds;
    if (!shortId || !longId || !yearId) throw new Error('enrollments');

    // The short wait runs: the scheduler, the feeder and the worker have all had their turns since.
    await waitFor(async () => (await runOf(shortId)).status !== 'scheduled', {
      timeoutMs: 20_000,
      what: 'the 1-second wait to pass',
    });
    await waitFor(async () => (await runOf(shortId)).status === 'sent', { what: 'the short run to be sent' });

    for (const [enrollmentId, seconds] of [
      [longId, Math.ceil(TIMER_LIMIT_SECONDS) + 1],
      [yearId, 365 * 86_400],
    ] as const) {
      const run = await runOf(enrollmentId);
      expect(run.status).toBe('scheduled');
      expect(run.runAt.getTime()).toBeGreaterThanOrEqual(enrolledAt + seconds * 1000);
      expect(run.runAt.getTime()).toBeLessThanOrEqual(Date.now() + seconds * 1000);
      expect(run.enqueuedAt).toBeNull();
      expect(await engine.deps.queues.steps.getJob(stepJobId(run.id, run.generation))).toBeUndefined();
    }
    const states = await engine.deps.db
      .select({ id: enrollments.id, status: enrollments.status })
      .from(enrollments)
      .where(inArray(enrollments.id, [longId, yearId]));
    expect(states.map((s) => s.status)).toEqual(['active', 'active']);
  });
});
