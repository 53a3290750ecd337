import { and, eq, inArray } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createEmailChannel, type EmailChannel } from '../../../src/channels/email/email.channel';
import type { Channel } from '../../../src/engine/channel';
import { enrollments, leads, messages, stepRuns } from '../../../src/db/schema/index';
import { channelMap } from '../../helpers/channels';
import {
  createTestWorkspace,
  startTestEngine,
  type TestEngine,
  type TestWorkspace,
  bringRunsDue,
  waitFor,
} from '../../helpers/engine';
import { insertLeads } from '../../helpers/factories';
import { createActiveSequence, enrollLeads } from '../../helpers/sequences';
import { type SmtpSink, startSmtpSink } from '../../helpers/smtp-sink';
import { addMailbox } from '../../helpers/mailboxes';
import { header } from './support';

const fast = { MAINTENANCE_INTERVAL_SECONDS: '0.3', STEP_CONCURRENCY: '20' };

describe('email sequences through the engine and a real SMTP server', () => {
  let engine: TestEngine;
  let sink: SmtpSink;
  let email: EmailChannel | null = null;
  // The channel needs the engine's deps, which exist only once it starts: create it on first use.
  const channel: Channel = {
    stepTypes: ['email'],
    send: (ctx) => {
      email ??= createEmailChannel(ctx.deps);
      return email.send(ctx);
    },
    close: async () => email?.close(),
  };
  beforeAll(async () => {
    sink = await startSmtpSink();
    engine = await startTestEngine({ workers: true, env: fast, channels: channelMap(channel) });
  });
  afterEach(() => sink.setBehaviour(undefined));
  afterAll(async () => {
    await engine.close();
    await sink.close();
  });

  const sequence = (ws: TestWorkspace, steps: Record<string, unknown>[]) =>
    createActiveSequence(engine.app, ws, { steps });
  async function enroll(ws: TestWorkspace, sequenceId: string, leadIds: string[]) {
    const { enrolled } = await enrollLeads(engine.app, ws, sequenceId, leadIds);
    expect(enrolled).toHaveLength(leadIds.length);
  }
  const statusOf = async (sequenceId: string, status: 'completed' | 'active') =>
    engine.deps.db
      .select({ id: enrollments.id })
      .from(enrollments)
      .where(and(eq(enrollments.sequenceId, sequenceId), eq(enrollments.status, status)));

  it('delivers a 3-step sequence to 20 leads: 60 messages, threaded, personal, with unsubscribe headers', async () => {
    const ws = await createTestWorkspace(engine.app);
    await addMailbox(engine, ws, sink, { dailyLimit: 100 });
    const people = await insertLeads(engine.deps.db, ws.id, 20);
    const id = await sequence(ws, [
      { type: 'email', subject: 'Hello {{ firstName }}', body: 'Hi {{ firstName }} from {{ company }}' },
      { type: 'wait', seconds: 1 },
      { type: 'email', subject: 'x', body: 'Second note for {{ firstName }}', thread: 'reply' },
      { type: 'wait', seconds: 1 },
      { type: 'email', subject: 'x', body: 'Last note for {{ firstName }}', thread: 'reply' },
    ]);
    await enroll(
      ws,
      id,
      people.map((l) => l.id),
    );
    await waitFor(async () => (await statusOf(id, 'completed')).length === 20, {
      timeoutMs: 50_000,
      what: '20 completed',
    });

    const all = people.flatMap((l) => sink.mailTo(l.email));
    expect(all).toHaveLength(60);
    for (const lead of people) {
      const [first, second, third] = sink.mailTo(lead.email);
      const root = first?.parsed.messageId;
      expect(root).toMatch(/^<[0-9a-f-]{36}@sender\.test>$/);
      expect(first?.parsed.subject).toBe(`Hello ${lead.firstName}`);
      expect(first?.parsed.text?.trim()).toBe(`Hi ${lead.firstName} from ${lead.company}`);
      for (const [mail, word] of [
        [second, 'Second'],
        [third, 'Last'],
      ] as const) {
        expect(mail?.parsed.subject).toBe(`Re: Hello ${lead.firstName}`);
        expect(mail?.parsed.inReplyTo).toBe(root);
        expect(mail?.parsed.references).toBe(root);
        expect(mail?.parsed.text?.trim()).toBe(`${word} note for ${lead.firstName}`);
      }
      for (const mail of [first, second, third]) {
        expect(header(mail?.raw, 'List-Unsubscribe')).toMatch(
          /^<http:\/\/localhost:3000\/u\/[^>]+>, <mailto:[^>]+>$/,
        );
        expect(header(mail?.raw, 'List-Unsubscribe-Post')).toBe('List-Unsubscribe=One-Click');
      }
    }
    // The advance that records each send marks its message `sent`: the first two through the
    // one-statement advance, the last (no step after it) through the general one.
    const rows = await engine.deps.db
      .select({ status: messages.status })
      .from(messages)
      .where(eq(messages.workspaceId, ws.id));
    expect(rows.map((r) => r.status)).toEqual(Array(60).fill('sent'));
  });

  it('with dailyLimit 5 sends 5 of 12 today, defers the rest to the next day, and sends them later once', async () => {
    const ws = await createTestWorkspace(engine.app);
    const box = await addMailbox(engine, ws, sink, { dailyLimit: 5 });
    const people = await insertLeads(engine.deps.db, ws.id, 12);
    const id = await sequence(ws, [{ type: 'email', subject: 'Hi', body: 'Hello {{ firstName }}' }]);
    await enroll(
      ws,
      id,
      people.map((l) => l.id),
    );
    const runsOf = () =>
      engine.deps.db
        .select()
        .from(stepRuns)
        .innerJoin(enrollments, eq(enrollments.id, stepRuns.enrollmentId))
        .where(eq(enrollments.sequenceId, id));
    const tomorrow = new Date();
    tomorrow.setUTCHours(24, 0, 0, 0);

    for (const expectedSent of [5, 10, 12]) {
      await waitFor(
        async () => {
          const runs = await runsOf();
          const sent = runs.filter((r) => r.step_runs.status === 'sent').length;
          const deferred = runs.filter(
            (r) => r.step_runs.status === 'scheduled' && r.step_runs.reason === 'capacity',
          );
          return (
            sent === expectedSent &&
            deferred.length === 12 - expectedSent &&
            deferred.every((r) => r.step_runs.runAt >= tomorrow)
          );
        },
        { timeoutMs: 30_000, what: `${expectedSent} sent and the rest deferred to tomorrow` },
      );
      expect(people.flatMap((l) => sink.mailTo(l.email))).toHaveLength(expectedSent);
      // A day passes: today's messages become yesterday's, and the deferred runs fall due.
      await engine.deps.db
        .update(messages)
        .set({ createdAt: new Date(Date.now() - 86400_000) })
        .where(eq(messages.mailboxId, box.id));
      const waiting = (await runsOf())
        .filter((r) => r.step_runs.status === 'scheduled')
        .map((r) => r.step_runs.id);
      // Within the queue horizon of 00:00 UTC, "tomorrow" is near enough to have a delayed job.
      if (waiting.length > 0) await bringRunsDue(engine.deps.db, inArray(stepRuns.id, waiting));
    }
    await waitFor(async () => (await statusOf(id, 'completed')).length === 12, { what: '12 completed' });
    for (const lead of people) expect(sink.mailTo(lead.email)).toHaveLength(1);
  });

  it('a 550 bounces the lead and stops its other enrollments', async () => {
    const ws = await createTestWorkspace(engine.app);
    await addMailbox(engine, ws, sink);
    const [lead] = await insertLeads(engine.deps.db, ws.id, 1);
    if (!lead) throw new Error('no lead');
    sink.setBehaviour(({ envelopeTo }) =>
      envelopeTo.includes(lead.email ?? '') ? { code: 550, message: 'no such user' } : undefined,
    );
    const later = await sequence(ws, [
      { type: 'wait', hours: 1 },
      { type: 'email', subject: 'Later', body: 'x' },
    ]);
    await enroll(ws, later, [lead.id]);
    const now = await sequence(ws, [{ type: 'email', subject: 'Now', body: 'x' }]);
    await enroll(ws, now, [lead.id]);
    await waitFor(
      async () =>
        (await engine.deps.db.select().from(leads).where(eq(leads.id, lead.id)))[0]?.status === 'bounced',
      { what: 'the lead bounced' },
    );
    const mine = await engine.deps.db.select().from(enrollments).where(eq(enrollments.leadId, lead.id));
    expect(mine.map((e) => e.status).sort()).toEqual(['bounced', 'bounced']);
    expect(sink.mailTo(lead.email)).toHaveLength(0);
    expect(sink.attempts.get(lead.email ?? '')).toBe(1);
  });

  it('a one-click POST stops the next step: it never sends; a GET changes nothing', async () => {
    const ws = await createTestWorkspace(engine.app);
    await addMailbox(engine, ws, sink);
    const [lead] = await insertLeads(engine.deps.db, ws.id, 1);
    if (!lead) throw new Error('no lead');
    const id = await sequence(ws, [
      { type: 'email', subject: 'One', body: 'x' },
      { type: 'wait', seconds: 3 },
      { type: 'email', subject: 'Two', body: 'y', thread: 'reply' },
    ]);
    await enroll(ws, id, [lead.id]);
    const first = await waitFor(async () => sink.mailTo(lead.email)[0], { what: 'the first email' });
    const link = /<(http[^>]+)>/.exec(header(first.raw, 'List-Unsubscribe') ?? '')?.[1] ?? '';
    const path = new URL(link).pathname;
    expect((await engine.app.inject({ method: 'GET', url: path })).statusCode).toBe(200);
    const secondRun = async () => {
      const [row] = await engine.deps.db
        .select({ run: stepRuns })
        .from(stepRuns)
        .innerJoin(enrollments, eq(enrollments.id, stepRuns.enrollmentId))
        .where(and(eq(enrollments.leadId, lead.id), eq(stepRuns.stepId, 's3')));
      return row?.run;
    };
    const next = await waitFor(secondRun, { what: 'the second step scheduled' });
    expect(next.status).toBe('scheduled');
    const post = await engine.app.inject({
      method: 'POST',
      url: path,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'List-Unsubscribe=One-Click',
    });
    expect(post.statusCode).toBe(200);
    // Let the second step's time come and go (plus the engine's polling), then look.
    await waitFor(async () => Date.now() > next.runAt.getTime() + 2000, {
      what: 'the second step to fall due',
    });
    const [run] = await engine.deps.db.select().from(stepRuns).where(eq(stepRuns.id, next.id));
    expect(run?.status).toBe('canceled');
    expect(sink.mailTo(lead.email)).toHaveLength(1);
    const [enrollment] = await engine.deps.db
      .select()
      .from(enrollments)
      .where(eq(enrollments.leadId, lead.id));
    expect(enrollment?.status).toBe('unsubscribed');
  });
});
