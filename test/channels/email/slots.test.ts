import { and, eq, gte, inArray, lt, sql } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { dayBounds } from '../../../src/channels/email/capacity';
import { createEmailChannel, type EmailChannel } from '../../../src/channels/email/email.channel';
import { AmbiguousSendError } from '../../../src/channels/email/smtp-errors';
import { enrollments, mailboxes, messages } from '../../../src/db/schema/index';
import type { StepContext } from '../../../src/engine/channel';
import { createTestWorkspace, type TestEngine } from '../../helpers/engine';
import { addMailbox } from '../../helpers/mailboxes';
import type { SmtpSink } from '../../helpers/smtp-sink';
import {
  applyEnrollmentPatch,
  claimedContext,
  nextAttempt,
  reload,
  storeSequence,
} from '../../helpers/step-context';
import { readThenTake, startEmailChannelTest } from './support';

const oneEmail = { steps: [{ type: 'email' as const, subject: 'Hi {{ firstName }}', body: 'Hello' }] };
const yesterday = () => new Date(Date.now() - 86400_000);

/**
 * The per-mailbox day counter: it must always equal the day's `sending` and `sent` messages, since
 * the daily limit is checked against it; and the slot it guards must hold with many senders at once.
 */
describe('email send slots', () => {
  let engine: TestEngine;
  let sink: SmtpSink;
  let channel: EmailChannel;
  let close: () => Promise<void>;
  beforeAll(async () => {
    ({ engine, sink, channel, close } = await startEmailChannelTest());
  });
  afterEach(() => sink.setBehaviour(undefined));
  afterAll(() => close());

  const mailboxRow = async (id: string) => {
    const [row] = await engine.deps.db.select().from(mailboxes).where(eq(mailboxes.id, id));
    if (!row) throw new Error('no mailbox');
    return row;
  };
  /** What the counter stands for, counted the slow way. */
  const countedToday = async (mailboxId: string, timeZone: string) => {
    const day = dayBounds(new Date(), timeZone);
    const [row] = await engine.deps.db
      .select({ n: sql<number>`count(*)::int` })
      .from(messages)
      .where(
        and(
          eq(messages.mailboxId, mailboxId),
          gte(messages.createdAt, day.start),
          lt(messages.createdAt, day.end),
          inArray(messages.status, ['sending', 'sent']),
        ),
      );
    return row?.n ?? -1;
  };
  /** Messages that left the mailbox: `sending` until the engine records them (the channel runs alone here). */
  const sentFrom = async (mailboxId: string) =>
    (
      await engine.deps.db
        .select({ id: messages.id })
        .from(messages)
        .where(and(eq(messages.mailboxId, mailboxId), inArray(messages.status, ['sending', 'sent'])))
    ).length;
  const inZone = (ctx: StepContext, workspaceTimezone: string): StepContext => ({
    ...ctx,
    workspaceTimezone,
  });

  it('keeps the day counter equal to the day’s sending and sent messages through every outcome', async () => {
    const timeZone = 'Pacific/Kiritimati';
    const ws = await createTestWorkspace(engine.app);
    const box = await addMailbox(engine, ws, sink, { dailyLimit: 100 });
    const seq = await storeSequence(engine, ws.id, oneEmail);
    const claim = async () => inZone(await claimedContext(engine, ws.id, seq), timeZone);
    const counterMatches = async () => {
      const row = await mailboxRow(box.id);
      expect(row.daySlots).toBe(await countedToday(box.id, timeZone));
      return row.daySlots;
    };

    // Two delivered.
    for (let i = 0; i < 2; i++) expect((await channel.send(await claim())).kind).toBe('sent');
    expect(await counterMatches()).toBe(2);
    const day = dayBounds(new Date(), timeZone);
    expect((await mailboxRow(box.id)).dayStart?.toISOString()).toBe(day.start.toISOString());
    expect((await mailboxRow(box.id)).dayEnd?.toISOString()).toBe(day.end.toISOString());

    // A 451 gives the slot back; its retry takes one again with the same row.
    let retried = await claim();
    const retriedTo = (retried.lead.email ?? '').toLowerCase();
    sink.setBehaviour(({ envelopeTo, attempt }) =>
      envelopeTo.includes(retriedTo) && attempt === 1 ? { code: 451, message: 'later' } : undefined,
    );
    expect((await channel.send(retried)).kind).toBe('retry_later');
    expect(await counterMatches()).toBe(2);

    // A 550 (bounce) gives it back too.
    const bounced = await claim();
    const bouncedTo = (bounced.lead.email ?? '').toLowerCase();
    sink.setBehaviour(({ envelopeTo }) =>
      envelopeTo.includes(bouncedTo) ? { code: 550, message: 'no such user' } : undefined,
    );
    expect(await channel.send(bounced)).toMatchObject({ kind: 'failed', stop: 'bounced' });
    sink.setBehaviour(undefined);
    expect(await counterMatches()).toBe(2);

    // Stopped at the hand-off, or the hand-off's check failing: nothing left, the slot is free again.
    const stopped = await claim();
    expect(await channel.send({ ...stopped, handOff: async () => ({ allowed: false }) })).toMatchObject({
      kind: 'stopped',
    });
    const broken = await claim();
    expect(
      await channel.send({ ...broken, handOff: () => Promise.reject(new Error('connection lost')) }),
    ).toMatchObject({ kind: 'retry_later', reason: 'handoff_check_failed' });
    expect(await counterMatches()).toBe(2);

    // A drop after the message may have been delivered: the row stays `sending` and keeps its slot.
    const impatient = createEmailChannel(engine.deps, {
      timeouts: { connectionMs: 1000, greetingMs: 1000, socketMs: 1000 },
    });
    try {
      const dropped = await claim();
      const droppedTo = (dropped.lead.email ?? '').toLowerCase();
      sink.setBehaviour(({ envelopeTo }) =>
        envelopeTo.includes(droppedTo) ? { dropConnection: true } : undefined,
      );
      await expect(impatient.send(dropped)).rejects.toBeInstanceOf(AmbiguousSendError);
    } finally {
      sink.setBehaviour(undefined);
      await impatient.close();
    }
    expect(await counterMatches()).toBe(3);

    retried = inZone(await nextAttempt(engine, retried), timeZone);
    expect((await channel.send(retried)).kind).toBe('sent');
    expect(await counterMatches()).toBe(4);
    expect(sink.mailTo(retried.lead.email)).toHaveLength(1);
  });

  it('counts the day again when the counter is from another day, and before refusing on it', async () => {
    const ws = await createTestWorkspace(engine.app);
    const box = await addMailbox(engine, ws, sink, { dailyLimit: 2 });
    const seq = await storeSequence(engine, ws.id, oneEmail);
    const setCounter = (values: Partial<typeof mailboxes.$inferInsert>) =>
      engine.deps.db.update(mailboxes).set(values).where(eq(mailboxes.id, box.id));

    // Yesterday's counter says full: today nothing was sent, so the send goes out.
    const before = yesterday();
    const stale = dayBounds(before, 'UTC');
    await setCounter({ dayStart: stale.start, dayEnd: stale.end, daySlots: 2 });
    expect((await channel.send(await claimedContext(engine, ws.id, seq))).kind).toBe('sent');
    const today = dayBounds(new Date(), 'UTC');
    expect(await mailboxRow(box.id)).toMatchObject({ dayStart: today.start, dayEnd: today.end, daySlots: 1 });

    // A counter that says full while the messages say otherwise is counted again, not trusted.
    await setCounter({ daySlots: 2 });
    expect((await channel.send(await claimedContext(engine, ws.id, seq))).kind).toBe('sent');
    expect((await mailboxRow(box.id)).daySlots).toBe(2);

    // Now it is full for real.
    const refused = await channel.send(await claimedContext(engine, ws.id, seq));
    expect(refused).toMatchObject({ kind: 'retry_later', reason: 'capacity' });
    if (refused.kind === 'retry_later') expect(refused.at.getTime()).toBe(today.end.getTime());
    expect(await sentFrom(box.id)).toBe(2);
    expect((await mailboxRow(box.id)).daySlots).toBe(2);
  });

  it('never exceeds a limit or a warm-up ramp with twenty sends at once over three mailboxes', async () => {
    const ws = await createTestWorkspace(engine.app);
    const a = await addMailbox(engine, ws, sink, { name: 'A', fromEmail: 'a@sender.test', dailyLimit: 2 });
    const b = await addMailbox(engine, ws, sink, {
      name: 'B',
      fromEmail: 'b@sender.test',
      dailyLimit: 50,
      warmup: { startLimit: 3, increasePerDay: 5 },
    });
    const c = await addMailbox(engine, ws, sink, { name: 'C', fromEmail: 'c@sender.test', dailyLimit: 4 });
    const seq = await storeSequence(engine, ws.id, oneEmail);
    const contexts = await Promise.all(Array.from({ length: 20 }, () => claimedContext(engine, ws.id, seq)));
    const results = await Promise.all(contexts.map((ctx) => channel.send(ctx)));
    expect(results.filter((r) => r.kind === 'sent')).toHaveLength(9);
    const deferred = results.filter((r) => r.kind === 'retry_later');
    expect(deferred).toHaveLength(11);
    for (const r of deferred) expect(r).toMatchObject({ reason: 'capacity', countsAsAttempt: false });
    for (const [box, limit] of [
      [a, 2],
      [b, 3],
      [c, 4],
    ] as const) {
      expect(await sentFrom(box.id)).toBe(limit);
      expect((await mailboxRow(box.id)).daySlots).toBe(limit);
    }
    const delivered = contexts.filter((ctx) => sink.mailTo(ctx.lead.email).length > 0);
    expect(delivered).toHaveLength(9);
    for (const ctx of delivered) expect(sink.mailTo(ctx.lead.email)).toHaveLength(1);
  });

  it('keeps a thread on its mailbox when that one is full: it waits and never sends from another', async () => {
    const ws = await createTestWorkspace(engine.app);
    const full = await addMailbox(engine, ws, sink, {
      name: 'Full',
      fromEmail: 'full@sender.test',
      dailyLimit: 1,
    });
    const free = await addMailbox(engine, ws, sink, {
      name: 'Free',
      fromEmail: 'free@other.test',
      dailyLimit: 10,
    });
    const seq = await storeSequence(engine, ws.id, {
      steps: [
        { type: 'email', subject: 'Hi', body: 'Hello' },
        { type: 'email', subject: 'x', body: 'Following up', thread: 'reply' },
      ],
    });
    const claimed = await claimedContext(engine, ws.id, seq);
    await engine.deps.db
      .update(enrollments)
      .set({ mailboxId: full.id })
      .where(eq(enrollments.id, claimed.enrollment.id));
    const first = await reload(engine, claimed);
    const sent = await channel.send(first);
    expect(sent.kind === 'sent' && sent.data?.mailboxId).toBe(full.id);
    await applyEnrollmentPatch(engine, first, sent);

    const followUp = await claimedContext(engine, ws.id, seq, {
      stepIndex: 1,
      enrollmentId: first.enrollment.id,
    });
    expect(followUp.enrollment.mailboxId).toBe(full.id);
    expect(await channel.send(followUp)).toMatchObject({ kind: 'retry_later', reason: 'capacity' });
    expect(await sentFrom(free.id)).toBe(0);
    expect(await sentFrom(full.id)).toBe(1);
    expect(sink.mailTo(first.lead.email)).toHaveLength(1);
  });

  it('reuses the slot of a take whose reply was lost once the run is retried, and sends once', async () => {
    const ws = await createTestWorkspace(engine.app);
    const box = await addMailbox(engine, ws, sink, { dailyLimit: 10 });
    const seq = await storeSequence(engine, ws.id, oneEmail);
    const ctx = await claimedContext(engine, ws.id, seq);
    // The take commits, and the connection dies before its reply: the channel saw only an error
    // (a prepare failure, so a retry) while the row stands as `sending` with its slot counted.
    const taken = await (await readThenTake(engine, ctx))();
    expect(taken?.mailbox.id).toBe(box.id);
    const rowsOfRun = () =>
      engine.deps.db
        .select({ id: messages.id, status: messages.status })
        .from(messages)
        .where(eq(messages.stepRunId, ctx.run.id));

    // Under the same claim, the row may belong to an attempt still on the wire: nothing is sent.
    expect(await channel.send(ctx)).toEqual({
      kind: 'failed',
      reason: 'ambiguous: an earlier attempt may have been delivered',
    });
    expect(sink.mailTo(ctx.lead.email)).toHaveLength(0);

    // Rescheduled by the engine, the run's retry takes the row back and sends once, on one slot.
    const retried = await nextAttempt(engine, ctx);
    expect(await channel.send(retried)).toMatchObject({
      kind: 'sent',
      sentMessageRowId: taken?.messageRowId,
    });
    expect(sink.mailTo(ctx.lead.email)).toHaveLength(1);
    expect(await rowsOfRun()).toEqual([{ id: taken?.messageRowId, status: 'sending' }]);
    expect((await mailboxRow(box.id)).daySlots).toBe(1);
    expect(await countedToday(box.id, 'UTC')).toBe(1);
  });

  it('refuses a slot when the mailbox changed between the read and the take', async () => {
    const ws = await createTestWorkspace(engine.app);
    const box = await addMailbox(engine, ws, sink, { dailyLimit: 10, minIntervalSeconds: 600 });
    const seq = await storeSequence(engine, ws.id, oneEmail);
    const ctx = await claimedContext(engine, ws.id, seq);
    const now = new Date();
    const day = dayBounds(now, 'UTC');
    const take = async () => {
      const slot = await readThenTake(engine, ctx, { now, day });
      return (edit: () => Promise<unknown>) => edit().then(slot);
    };
    const rowsOfRun = () => engine.deps.db.select().from(messages).where(eq(messages.stepRunId, ctx.run.id));

    // Its limit lowered meanwhile.
    const afterLimitChange = await take();
    expect(
      await afterLimitChange(() =>
        engine.app.inject({
          method: 'PATCH',
          url: `/v1/mailboxes/${box.id}`,
          headers: ws.auth,
          payload: { dailyLimit: 5 },
        }),
      ),
    ).toBeNull();
    // Paused meanwhile.
    const afterPause = await take();
    expect(
      await afterPause(() =>
        engine.app.inject({
          method: 'PATCH',
          url: `/v1/mailboxes/${box.id}`,
          headers: ws.auth,
          payload: { status: 'paused' },
        }),
      ),
    ).toBeNull();
    await engine.app.inject({
      method: 'PATCH',
      url: `/v1/mailboxes/${box.id}`,
      headers: ws.auth,
      payload: { status: 'active' },
    });
    // Another sender took the spaced slot meanwhile.
    const afterOtherSend = await take();
    expect(
      await afterOtherSend(async () =>
        expect((await channel.send(await claimedContext(engine, ws.id, seq))).kind).toBe('sent'),
      ),
    ).toBeNull();
    expect(await rowsOfRun()).toEqual([]);
    expect((await mailboxRow(box.id)).daySlots).toBe(1);

    // Nothing changed: the slot is taken and the message written as `sending`.
    await engine.deps.db.update(mailboxes).set({ lastSlotAt: null }).where(eq(mailboxes.id, box.id));
    const unchanged = await take();
    const reserved = await unchanged(async () => undefined);
    expect(reserved?.mailbox.id).toBe(box.id);
    expect((await rowsOfRun()).map((r) => r.status)).toEqual(['sending']);
    expect((await mailboxRow(box.id)).daySlots).toBe(2);
  });
});
