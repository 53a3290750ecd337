import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EmailChannel } from '../../src/channels/email/email.channel';
import { events, messages, stepRuns } from '../../src/db/schema/index';
import type { StepContext } from '../../src/engine/channel';
import { claimStepRuns } from '../../src/engine/claim';
import { expireLeases } from '../../src/engine/maintenance';
import { readThenTake, startEmailChannelTest } from '../channels/email/support';
import { createTestWorkspace, type TestEngine } from '../helpers/engine';
import { addMailbox } from '../helpers/mailboxes';
import type { SmtpSink } from '../helpers/smtp-sink';
import { claimedContext, reload, type StoredSequence, storeSequence } from '../helpers/step-context';

/**
 * A claim whose lease runs out: its worker died or stalled. If the email never reached its slot
 * take (the hand-off), nothing can have left, so the run is run again, and the old claim can no
 * longer send. If the take happened, the lead may have the message: the run is ambiguous.
 */
describe('lease expiry', () => {
  let engine: TestEngine;
  let sink: SmtpSink;
  let channel: EmailChannel;
  let close: () => Promise<void>;
  let ws: Awaited<ReturnType<typeof createTestWorkspace>>;
  let seq: StoredSequence;
  beforeAll(async () => {
    ({ engine, sink, channel, close } = await startEmailChannelTest());
    ws = await createTestWorkspace(engine.app);
    await addMailbox(engine, ws, sink, { dailyLimit: 100 });
    seq = await storeSequence(engine, ws.id, {
      steps: [{ type: 'email', subject: 'Hi {{ firstName }}', body: 'Hello' }],
    });
  });
  afterAll(() => close());

  const runRow = async (id: string) => {
    const [row] = await engine.deps.db.select().from(stepRuns).where(eq(stepRuns.id, id));
    if (!row) throw new Error('no run');
    return row;
  };
  /** The worker is gone: its lease ran out, and the reconciler's pass comes. */
  const leaseRunsOut = async (ctx: StepContext) => {
    await engine.deps.db
      .update(stepRuns)
      .set({ leaseUntil: new Date(Date.now() - 1000) })
      .where(eq(stepRuns.id, ctx.run.id));
    return expireLeases(engine.deps);
  };

  /** The engine's claim of the run as the reconciler left it, read back as the channel gets it. */
  const claimAgain = async (ctx: StepContext) => {
    const run = await runRow(ctx.run.id);
    const claimed = await claimStepRuns(
      engine.deps.db,
      [{ stepRunId: run.id, generation: run.generation }],
      60,
    );
    expect(claimed.has(run.id)).toBe(true);
    return reload(engine, ctx);
  };

  it('runs again a claim lost before its slot take, and the old claim can no longer send', async () => {
    const stale = await claimedContext(engine, ws.id, seq);
    expect(await leaseRunsOut(stale)).toEqual({ ambiguous: 0, rerun: 1 });
    expect(await runRow(stale.run.id)).toMatchObject({
      status: 'scheduled',
      reason: 'worker_lost',
      generation: stale.run.generation + 1,
      attempts: stale.run.attempts - 1,
      handoff: null,
      enqueuedAt: null,
    });

    // The stalled worker wakes up: its claim is gone, so it takes no slot and sends nothing.
    const late = await channel.send(stale);
    expect(late).toMatchObject({ kind: 'retry_later' });
    expect(sink.mailTo(stale.lead.email)).toHaveLength(0);
    expect(await engine.deps.db.select().from(messages).where(eq(messages.stepRunId, stale.run.id))).toEqual(
      [],
    );

    // The run's new claim sends it, once.
    const rerun = await claimAgain(stale);
    expect((await channel.send(rerun)).kind).toBe('sent');
    expect(sink.mailTo(stale.lead.email)).toHaveLength(1);
  });

  it('makes a claim lost after its slot take ambiguous, never run again', async () => {
    const ctx = await claimedContext(engine, ws.id, seq);
    // The take went through (the message is `sending`); the worker died before SMTP answered.
    const taken = await (await readThenTake(engine, ctx))();
    expect(taken).not.toBeNull();
    expect((await runRow(ctx.run.id)).handoff).toBe('started');

    expect(await leaseRunsOut(ctx)).toEqual({ ambiguous: 1, rerun: 0 });
    expect(await runRow(ctx.run.id)).toMatchObject({
      status: 'ambiguous',
      reason: 'lease_expired',
      generation: ctx.run.generation,
    });
    const recorded = await engine.deps.db
      .select({ type: events.type })
      .from(events)
      .where(and(eq(events.stepRunId, ctx.run.id), eq(events.type, 'step.ambiguous')));
    expect(recorded).toHaveLength(1);
  });

  it('makes a claim lost after its email left, before the advance recorded it, ambiguous: never resent', async () => {
    const ctx = await claimedContext(engine, ws.id, seq);
    // The server took the email; the worker died before its advance marked the row `sent`.
    const first = await channel.send(ctx);
    expect(first.kind).toBe('sent');
    expect(await leaseRunsOut(ctx)).toEqual({ ambiguous: 1, rerun: 0 });
    expect(await runRow(ctx.run.id)).toMatchObject({ status: 'ambiguous', reason: 'lease_expired' });
    expect(sink.mailTo(ctx.lead.email)).toHaveLength(1);
  });

  it('runs again a claim lost after its message row was sent: the retry records the send without sending', async () => {
    const ctx = await claimedContext(engine, ws.id, seq);
    const first = await channel.send(ctx);
    expect(first.kind).toBe('sent');
    // A row `sent` while its run is still claimed (as a channel that records its own message as
    // sent leaves it): the message is known to have left.
    await engine.deps.db.update(messages).set({ status: 'sent' }).where(eq(messages.stepRunId, ctx.run.id));
    expect(await leaseRunsOut(ctx)).toEqual({ ambiguous: 0, rerun: 1 });
    expect(await runRow(ctx.run.id)).toMatchObject({ status: 'scheduled', reason: 'worker_lost' });

    const again = await channel.send(await claimAgain(ctx));
    expect(again.kind === 'sent' && again.data).toEqual(first.kind === 'sent' && first.data);
    expect(sink.mailTo(ctx.lead.email)).toHaveLength(1);
  });
});
