import { and, eq } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { enrollments, stepRuns } from '../../src/db/schema/index';
import { enqueueStepRuns } from '../../src/queue/queues';
import { channelMap, type RecordingChannel, recordingChannel } from '../helpers/channels';
import { createTestWorkspace, startTestEngine, type TestEngine, waitFor } from '../helpers/engine';
import { insertLeads } from '../helpers/factories';
import { createActiveSequence, enrollLeads } from '../helpers/sequences';

const fast = { MAINTENANCE_INTERVAL_SECONDS: '0.5', STEP_CONCURRENCY: '20' };

const threeSteps = (name: string) => ({
  name,
  steps: [
    { id: 'intro', type: 'email', subject: 'Hi {{ firstName }}', body: 'Hello {{ firstName }}' },
    { type: 'wait', seconds: 2 },
    { id: 'follow', type: 'email', subject: 'Re', body: 'Following up', thread: 'reply' },
  ],
});

function sendsPerRun(channel: RecordingChannel) {
  const counts = new Map<string, number>();
  for (const s of channel.sends)
    counts.set(`${s.enrollmentId}:${s.stepId}`, (counts.get(`${s.enrollmentId}:${s.stepId}`) ?? 0) + 1);
  return counts;
}

describe('step engine', () => {
  let engine: TestEngine;
  let channel: RecordingChannel;
  beforeAll(async () => {
    channel = recordingChannel();
    engine = await startTestEngine({ workers: true, env: fast, channels: channelMap(channel) });
  });
  afterAll(() => engine.close());
  afterEach(() => {
    channel.sends.length = 0;
    channel.respond = () => ({ kind: 'sent' });
  });

  it('runs a 3-step sequence for 50 leads: every step once per lead, in order, never before it is due', async () => {
    const ws = await createTestWorkspace(engine.app);
    const leads = await insertLeads(engine.deps.db, ws.id, 50);
    const sequenceId = await createActiveSequence(engine.app, ws, threeSteps('three steps'));
    const { enrolled, skipped } = await enrollLeads(
      engine.app,
      ws,
      sequenceId,
      leads.map((l) => l.id),
    );
    expect(enrolled).toHaveLength(50);
    expect(skipped).toEqual([]);

    await waitFor(
      async () => {
        const done = await engine.deps.db
          .select({ id: enrollments.id })
          .from(enrollments)
          .where(and(eq(enrollments.sequenceId, sequenceId), eq(enrollments.status, 'completed')));
        return done.length === 50;
      },
      { timeoutMs: 45_000, what: '50 completed enrollments' },
    );
    const counts = sendsPerRun(channel);
    expect(counts.size).toBe(100);
    expect([...counts.values()].every((n) => n === 1)).toBe(true);
    for (const { enrollmentId } of enrolled) {
      const mine = channel.sends.filter((s) => s.enrollmentId === enrollmentId);
      expect(mine.map((s) => s.stepId)).toEqual(['intro', 'follow']);
      const [first, second] = mine;
      if (!first || !second) throw new Error('missing sends');
      // The follow-up waits 2 s after the intro actually went out.
      expect(second.at.getTime() - first.at.getTime()).toBeGreaterThanOrEqual(2000 - 50);
      for (const s of mine) expect(s.at.getTime()).toBeGreaterThanOrEqual(s.dueAt.getTime());
    }
    const stats = await engine.app.inject({
      method: 'GET',
      url: `/v1/sequences/${sequenceId}/stats`,
      headers: ws.auth,
    });
    expect(stats.json()).toMatchObject({
      enrolled: 50,
      completed: 50,
      steps: [
        { stepId: 'intro', sent: 50 },
        { stepId: 'follow', sent: 50 },
      ],
    });
  });

  it('executes a job delivered twice only once', async () => {
    const ws = await createTestWorkspace(engine.app);
    const [lead] = await insertLeads(engine.deps.db, ws.id, 1);
    if (!lead) throw new Error('no lead');
    const sequenceId = await createActiveSequence(engine.app, ws, {
      name: 'one step',
      steps: [
        { type: 'wait', seconds: 2 },
        { id: 'only', type: 'email', subject: 'S', body: 'B' },
      ],
    });
    const { enrolled } = await enrollLeads(engine.app, ws, sequenceId, [lead.id]);
    const [run] = await engine.deps.db
      .select()
      .from(stepRuns)
      .where(eq(stepRuns.enrollmentId, enrolled[0]?.enrollmentId ?? ''));
    if (!run) throw new Error('no run');
    // The same payload again, by hand, plus a copy under another job id: only the claim decides.
    await enqueueStepRuns(engine.deps.queues, [run, run]);
    await engine.deps.queues.steps.add(
      'run',
      { stepRunId: run.id, generation: run.generation },
      { delay: 2100 },
    );
    await waitFor(
      async () => {
        const [e] = await engine.deps.db
          .select()
          .from(enrollments)
          .where(eq(enrollments.id, run.enrollmentId));
        return e?.status === 'completed';
      },
      { what: 'completion' },
    );
    await new Promise((r) => setTimeout(r, 1500));
    expect(channel.sends.filter((s) => s.stepRunId === run.id)).toHaveLength(1);
  });

  it('pausing stops further steps; resume continues without repeating one', async () => {
    const ws = await createTestWorkspace(engine.app);
    const leads = await insertLeads(engine.deps.db, ws.id, 5);
    const sequenceId = await createActiveSequence(engine.app, ws, {
      name: 'pausable',
      steps: [
        { id: 'a', type: 'email', subject: 'A', body: 'A' },
        { type: 'wait', seconds: 2 },
        { id: 'b', type: 'email', subject: 'B', body: 'B' },
      ],
    });
    await enrollLeads(
      engine.app,
      ws,
      sequenceId,
      leads.map((l) => l.id),
    );
    await waitFor(async () => channel.sends.filter((s) => s.stepId === 'a').length === 5, {
      what: 'first steps',
    });
    const paused = await engine.app.inject({
      method: 'POST',
      url: `/v1/sequences/${sequenceId}/pause`,
      headers: ws.auth,
    });
    expect(paused.json().status).toBe('paused');
    await new Promise((r) => setTimeout(r, 3500));
    expect(channel.sends.filter((s) => s.stepId === 'b')).toHaveLength(0);
    const [one] = await engine.deps.db
      .select()
      .from(enrollments)
      .where(eq(enrollments.sequenceId, sequenceId));
    expect(one?.status).toBe('paused');

    await engine.app.inject({
      method: 'POST',
      url: `/v1/sequences/${sequenceId}/activate`,
      headers: ws.auth,
    });
    await waitFor(async () => channel.sends.filter((s) => s.stepId === 'b').length === 5, {
      what: 'second steps',
    });
    await new Promise((r) => setTimeout(r, 1000));
    const counts = sendsPerRun(channel);
    expect([...counts.values()].every((n) => n === 1)).toBe(true);
  });

  it('keeps enrolled leads on their version when the sequence is edited mid-run', async () => {
    const ws = await createTestWorkspace(engine.app);
    const leads = await insertLeads(engine.deps.db, ws.id, 3);
    const sequenceId = await createActiveSequence(engine.app, ws, {
      name: 'versioned',
      steps: [
        { type: 'wait', seconds: 2 },
        { id: 'v1step', type: 'email', subject: 'one', body: 'one' },
      ],
    });
    await enrollLeads(
      engine.app,
      ws,
      sequenceId,
      leads.map((l) => l.id),
    );
    const put = await engine.app.inject({
      method: 'PUT',
      url: `/v1/sequences/${sequenceId}`,
      headers: ws.auth,
      payload: { steps: [{ id: 'v2step', type: 'email', subject: 'two', body: 'two' }] },
    });
    expect(put.json()).toMatchObject({ id: sequenceId, version: 2 });
    await waitFor(async () => channel.sends.filter((s) => s.stepId === 'v1step').length === 3, {
      what: 'v1 steps',
    });
    expect(channel.sends.some((s) => s.stepId === 'v2step')).toBe(false);
  });

  it('defers a run the channel cannot take now, and sends it once later', async () => {
    const ws = await createTestWorkspace(engine.app);
    const [lead] = await insertLeads(engine.deps.db, ws.id, 1);
    if (!lead) throw new Error('no lead');
    let calls = 0;
    channel.respond = () =>
      ++calls === 1
        ? { kind: 'retry_later', at: new Date(Date.now() + 1500), reason: 'capacity', countsAsAttempt: false }
        : { kind: 'sent' };
    const sequenceId = await createActiveSequence(engine.app, ws, {
      name: 'defer',
      steps: [{ id: 'x', type: 'email', subject: 'S', body: 'B' }],
    });
    const { enrolled } = await enrollLeads(engine.app, ws, sequenceId, [lead.id]);
    const enrollmentId = enrolled[0]?.enrollmentId ?? '';
    const done = await waitFor(
      async () => {
        const res = await engine.app.inject({
          method: 'GET',
          url: `/v1/enrollments/${enrollmentId}`,
          headers: ws.auth,
        });
        const body = res.json<{
          status: string;
          stepRuns: { status: string; attempts: number; generation?: number }[];
        }>();
        return body.status === 'completed' ? body : null;
      },
      { what: 'completion after deferral' },
    );
    expect(done.stepRuns).toMatchObject([{ status: 'sent', attempts: 1 }]);
    expect(channel.sends).toHaveLength(2);
  });
});
