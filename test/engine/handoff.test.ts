import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enrollments, events, stepRuns } from '../../src/db/schema/index';
import type { ChannelResult, StepContext } from '../../src/engine/channel';
import { pauseEnrollments } from '../../src/engine/pause';
import { stopLeadEnrollments } from '../../src/engine/stop-rules';
import { channelMap, type RecordingChannel, recordingChannel } from '../helpers/channels';
import { createTestWorkspace, startTestEngine, type TestEngine, waitFor } from '../helpers/engine';
import { insertLeads } from '../helpers/factories';
import { createActiveSequence, enrollLeads } from '../helpers/sequences';

/** A channel that lets something happen between the claim and the hand-off, then asks, as real channels do. */
function handOffAfter(channel: RecordingChannel, meanwhile: (ctx: StepContext) => Promise<unknown>) {
  channel.respond = async (ctx): Promise<ChannelResult> => {
    await meanwhile(ctx);
    const handed = await ctx.handOff(async () => 'sent');
    return handed.allowed ? { kind: 'sent' } : { kind: 'stopped', reason: 'stopped_before_send' };
  };
}

describe('the hand-off re-check and blocked leads', () => {
  let engine: TestEngine;
  let channel: RecordingChannel;
  beforeAll(async () => {
    channel = recordingChannel();
    engine = await startTestEngine({
      workers: true,
      channels: channelMap(channel),
      env: { MAINTENANCE_INTERVAL_SECONDS: '0.5' },
    });
  });
  afterAll(() => engine.close());

  const runsOf = (enrollmentId: string) =>
    engine.deps.db.select().from(stepRuns).where(eq(stepRuns.enrollmentId, enrollmentId));
  const enrollmentOf = async (id: string) =>
    (await engine.deps.db.select().from(enrollments).where(eq(enrollments.id, id)))[0];

  it('cancels the step when a reply commits between claim and hand-off', async () => {
    const ws = await createTestWorkspace(engine.app);
    const [lead] = await insertLeads(engine.deps.db, ws.id, 1);
    if (!lead) throw new Error('no lead');
    handOffAfter(channel, (ctx) =>
      engine.deps.db.transaction((tx) =>
        stopLeadEnrollments(tx, {
          workspaceId: ws.id,
          leadIds: [ctx.lead.id],
          status: 'replied',
          reason: 'reply',
        }),
      ),
    );
    const seq = await createActiveSequence(engine.app, ws, {
      steps: [
        { id: 'a', type: 'email', subject: 's', body: 'b' },
        { id: 'b', type: 'email', subject: 's', body: 'b' },
      ],
    });
    const { enrolled } = await enrollLeads(engine.app, ws, seq, [lead.id]);
    const enrollmentId = enrolled[0]?.enrollmentId ?? '';
    const [run] = await waitFor(
      async () => {
        const runs = await runsOf(enrollmentId);
        return runs[0]?.status === 'canceled' ? runs : null;
      },
      { what: 'the run canceled at the hand-off' },
    );
    expect(run?.reason).toBe('stopped_before_send');
    expect((await enrollmentOf(enrollmentId))?.status).toBe('replied');
    await new Promise((r) => setTimeout(r, 1500));
    expect(await runsOf(enrollmentId)).toHaveLength(1);
  });

  it('a reply while the remote server holds the message commits without waiting for it, names the run in flight, and nothing after it runs', async () => {
    const ws = await createTestWorkspace(engine.app);
    const [lead] = await insertLeads(engine.deps.db, ws.id, 1);
    if (!lead) throw new Error('no lead');
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let exchanging: (ctx: StepContext) => void = () => {};
    const inExchange = new Promise<StepContext>((resolve) => {
      exchanging = resolve;
    });
    // The "remote server" takes as long as the test wants: it answers only once released.
    channel.respond = async (ctx): Promise<ChannelResult> => {
      const handed = await ctx.handOff(async () => {
        exchanging(ctx);
        await held;
        return 'sent';
      });
      return handed.allowed ? { kind: 'sent' } : { kind: 'stopped', reason: 'stopped_before_send' };
    };
    const seq = await createActiveSequence(engine.app, ws, {
      steps: [
        { id: 'a', type: 'email', subject: 's', body: 'b' },
        { id: 'b', type: 'email', subject: 's', body: 'b' },
      ],
    });
    const { enrolled } = await enrollLeads(engine.app, ws, seq, [lead.id]);
    const enrollmentId = enrolled[0]?.enrollmentId ?? '';
    try {
      const ctx = await inExchange;
      // The stop takes the enrollment's row lock: with the exchange holding it, this would wait
      // for the release that only comes after it.
      const stop = engine.deps.db.transaction((tx) =>
        stopLeadEnrollments(tx, {
          workspaceId: ws.id,
          leadIds: [lead.id],
          status: 'replied',
          reason: 'reply',
        }),
      );
      const stopped = await Promise.race([
        stop,
        new Promise<null>((resolve) => setTimeout(() => resolve(null), 10_000)),
      ]);
      expect(stopped, 'the stop committed while the exchange was still going').not.toBeNull();
      const [event] = await engine.deps.db
        .select()
        .from(events)
        .where(and(eq(events.enrollmentId, enrollmentId), eq(events.type, 'enrollment.stopped')));
      expect(event?.data).toMatchObject({ status: 'replied', inFlight: [ctx.run.id] });
    } finally {
      release();
    }
    const [run] = await waitFor(
      async () => {
        const runs = await runsOf(enrollmentId);
        return runs[0]?.status === 'sent' ? runs : null;
      },
      { what: 'the run in flight recorded as sent' },
    );
    expect(run?.stepId).toBe('a');
    expect((await enrollmentOf(enrollmentId))?.status).toBe('replied');
    await new Promise((r) => setTimeout(r, 1500));
    expect(await runsOf(enrollmentId)).toHaveLength(1);
  });

  it('puts the step back when the enrollment is paused between claim and hand-off, and sends it once after resume', async () => {
    const ws = await createTestWorkspace(engine.app);
    const [lead] = await insertLeads(engine.deps.db, ws.id, 1);
    if (!lead) throw new Error('no lead');
    let paused = false;
    handOffAfter(channel, async (ctx) => {
      if (paused) return;
      paused = true;
      await pauseEnrollments(engine.deps.db, {
        workspaceId: ws.id,
        enrollmentIds: [ctx.enrollment.id],
        reason: 'manual',
      });
    });
    const seq = await createActiveSequence(engine.app, ws, {
      steps: [{ id: 'only', type: 'email', subject: 's', body: 'b' }],
    });
    const { enrolled } = await enrollLeads(engine.app, ws, seq, [lead.id]);
    const enrollmentId = enrolled[0]?.enrollmentId ?? '';
    await waitFor(async () => (await runsOf(enrollmentId))[0]?.reason === 'stopped_before_send', {
      what: 'the run back to scheduled',
    });
    expect((await runsOf(enrollmentId))[0]?.status).toBe('scheduled');
    const resumed = await engine.app.inject({
      method: 'POST',
      url: `/v1/enrollments/${enrollmentId}/resume`,
      headers: ws.auth,
    });
    expect(resumed.statusCode).toBe(200);
    await waitFor(async () => (await enrollmentOf(enrollmentId))?.status === 'completed', {
      what: 'completion after resume',
    });
    const [run] = await runsOf(enrollmentId);
    expect(run?.status).toBe('sent');
    expect(channel.sends.filter((s) => s.enrollmentId === enrollmentId)).toHaveLength(2); // one stopped at the hand-off, one sent
  });

  it('ends the enrollment of a lead suppressed by domain instead of re-queuing its step for ever', async () => {
    const ws = await createTestWorkspace(engine.app);
    const [lead] = await insertLeads(engine.deps.db, ws.id, 1, () => ({
      email: 'ceo@sub.blocked.test',
      emailKey: 'ceo@sub.blocked.test',
      companyDomain: 'sub.blocked.test',
    }));
    if (!lead) throw new Error('no lead');
    channel.respond = () => ({ kind: 'sent' });
    const seq = await createActiveSequence(engine.app, ws, {
      steps: [
        { type: 'wait', seconds: 2 },
        { id: 'x', type: 'email', subject: 's', body: 'b' },
      ],
    });
    const { enrolled } = await enrollLeads(engine.app, ws, seq, [lead.id]);
    const enrollmentId = enrolled[0]?.enrollmentId ?? '';
    const suppressed = await engine.app.inject({
      method: 'POST',
      url: '/v1/suppressions',
      headers: ws.auth,
      payload: { domain: 'blocked.test' },
    });
    expect(suppressed.statusCode).toBe(201);
    const ended = await waitFor(
      async () => {
        const e = await enrollmentOf(enrollmentId);
        return e?.status === 'stopped' ? e : null;
      },
      { what: 'the enrollment stopped' },
    );
    expect(ended.reason).toBe('suppressed');
    expect((await runsOf(enrollmentId))[0]?.status).toBe('canceled');
    expect(channel.sends.filter((s) => s.enrollmentId === enrollmentId)).toHaveLength(0);
  });
});
