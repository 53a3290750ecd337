import { and, eq, inArray } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enrollments, leads, stepRuns } from '../../../src/db/schema/index';
import {
  createTestWorkspace,
  startTestEngine,
  type TestEngine,
  type TestWorkspace,
  waitFor,
} from '../../helpers/engine';
import { insertLeads } from '../../helpers/factories';
import { addMailbox } from '../../helpers/mailboxes';
import { createActiveSequence, enrollLeads } from '../../helpers/sequences';
import { type SmtpSink, startSmtpSink } from '../../helpers/smtp-sink';
import { signedPost } from '../../api/inbound-webhooks/support';

/** A reply as the lead's mail client writes it: a raw MIME message threaded on what we sent. */
const rawReply = (from: string, inReplyTo: string, text: string) =>
  [
    `From: <${from}>`,
    'To: sales@sender.test',
    'Subject: Re: Hello',
    `Message-ID: <reply-${Math.random().toString(36).slice(2)}@lead.test>`,
    `In-Reply-To: ${inReplyTo}`,
    `References: ${inReplyTo}`,
    'Content-Type: text/plain; charset=utf-8',
    '',
    text,
    '',
    `On Mon, someone <sales@sender.test> wrote:`,
    '> Hello there. Unsubscribe: https://example.test/u/x',
    '',
  ].join('\r\n');

/**
 * The whole path on the real engine (its own workers and channels): step worker, email channel over
 * SMTP to a sink, signed inbound reply webhooks, stop rules and stage rules.
 */
describe('replies stop cadences on the running engine', () => {
  let engine: TestEngine;
  let sink: SmtpSink;
  let ws: TestWorkspace;
  beforeAll(async () => {
    engine = await startTestEngine({
      workers: true,
      env: { MAINTENANCE_INTERVAL_SECONDS: '0.5', STEP_CONCURRENCY: '20' },
    });
    sink = await startSmtpSink();
    ws = await createTestWorkspace(engine.app);
    await addMailbox(engine, ws, sink, { dailyLimit: 10_000 });
  });
  afterAll(async () => {
    await engine.close();
    await sink.close();
  });

  const startSequence = (steps: object[], settings: object = {}) =>
    createActiveSequence(engine.app, ws, { steps, settings });
  const enroll = async (sequenceId: string, count: number) => {
    const rows = await insertLeads(engine.deps.db, ws.id, count);
    const { enrolled } = await enrollLeads(
      engine.app,
      ws,
      sequenceId,
      rows.map((l) => l.id),
    );
    expect(enrolled).toHaveLength(count);
    return rows.map((l) => ({ id: l.id, email: l.email ?? '' }));
  };

  it('3 emails 10 s apart to 10 leads; 5 reply after step 1: they get nothing more and move stage, 5 complete', async () => {
    const sequenceId = await startSequence(
      [
        { type: 'email', subject: 'Hello {{ firstName }}', body: 'Hi {{ firstName }}' },
        { type: 'wait', seconds: 10 },
        { type: 'email', subject: 'x', body: 'Following up', thread: 'reply' },
        { type: 'wait', seconds: 10 },
        { type: 'email', subject: 'x', body: 'Last note', thread: 'reply' },
      ],
      { onReply: { stage: 'proposal' } },
    );
    const people = await enroll(sequenceId, 10);
    await waitFor(async () => people.every((p) => sink.mailTo(p.email).length >= 1), {
      timeoutMs: 20_000,
      what: 'step 1 to all 10 leads',
    });
    const repliers = people.slice(0, 5);
    for (const p of repliers) {
      const first = sink.mailTo(p.email)[0]?.parsed.messageId ?? '';
      const res = await signedPost(engine, ws, 'email/raw', rawReply(p.email, first, 'Interested, call me.'));
      expect(res.json()).toMatchObject({ status: 'matched', classification: 'human', leadId: p.id });
    }
    const others = people.slice(5);
    const completed = async () =>
      engine.deps.db
        .select()
        .from(enrollments)
        .where(and(eq(enrollments.sequenceId, sequenceId), eq(enrollments.status, 'completed')));
    await waitFor(async () => (await completed()).length === 5, { timeoutMs: 45_000, what: '5 completed' });
    for (const p of others) expect(sink.mailTo(p.email)).toHaveLength(3);
    for (const p of repliers) expect(sink.mailTo(p.email)).toHaveLength(1);
    const all = await engine.deps.db.select().from(enrollments).where(eq(enrollments.sequenceId, sequenceId));
    const statusOf = (leadId: string) => all.find((e) => e.leadId === leadId)?.status;
    expect(repliers.map((p) => statusOf(p.id))).toEqual(Array(5).fill('replied'));
    expect(others.map((p) => statusOf(p.id))).toEqual(Array(5).fill('completed'));
    const stages = await engine.deps.db
      .select({ id: leads.id, stage: leads.stage })
      .from(leads)
      .where(
        inArray(
          leads.id,
          repliers.map((p) => p.id),
        ),
      );
    expect(stages.map((s) => s.stage)).toEqual(Array(5).fill('proposal'));
  }, 90_000);

  /** The `second` step's run of each of these leads. */
  const secondRuns = (people: { id: string }[]) =>
    engine.deps.db
      .select({
        leadId: enrollments.leadId,
        runAt: stepRuns.runAt,
        status: stepRuns.status,
        claimedAt: stepRuns.claimedAt,
      })
      .from(stepRuns)
      .innerJoin(enrollments, eq(enrollments.id, stepRuns.enrollmentId))
      .where(
        and(
          eq(stepRuns.stepId, 'second'),
          inArray(
            enrollments.leadId,
            people.map((p) => p.id),
          ),
        ),
      );

  it('a reply committed before a due step is claimed always prevents it (replies race due steps, 3 × 15 leads)', async () => {
    const sequenceId = await startSequence([
      { type: 'email', subject: 'Hello', body: 'Hi' },
      { type: 'wait', seconds: 2 },
      { id: 'second', type: 'email', subject: 'x', body: 'Again', thread: 'reply' },
    ]);
    for (let round = 0; round < 3; round++) {
      const people = await enroll(sequenceId, 15);
      await waitFor(async () => people.every((p) => sink.mailTo(p.email).length >= 1), { timeoutMs: 20_000 });
      // The second run is written by the advance that follows the first send, a moment after the
      // sink has the mail: wait for all of them, so each reply can be timed to its run's due time.
      await waitFor(async () => (await secondRuns(people)).length === people.length, {
        timeoutMs: 20_000,
        what: 'every second step scheduled',
      });
      const pending = await secondRuns(people);
      // Each reply is posted at the moment its lead's second step falls due.
      const answered = await Promise.all(
        people.map(async (p) => {
          const due = pending.find((r) => r.leadId === p.id)?.runAt.getTime() ?? Date.now();
          await new Promise((r) => setTimeout(r, Math.max(0, due - Date.now())));
          const first = sink.mailTo(p.email)[0]?.parsed.messageId ?? '';
          const res = await signedPost(
            engine,
            ws,
            'email/raw',
            rawReply(p.email, first, 'Stop, I answered.'),
          );
          expect(res.statusCode).toBe(200);
          return { lead: p, committedBy: new Date() };
        }),
      );
      await waitFor(
        async () => {
          const live = await engine.deps.db
            .select({ id: stepRuns.id })
            .from(stepRuns)
            .innerJoin(enrollments, eq(enrollments.id, stepRuns.enrollmentId))
            .where(
              and(
                inArray(
                  enrollments.leadId,
                  people.map((p) => p.id),
                ),
                inArray(stepRuns.status, ['scheduled', 'claimed']),
              ),
            );
          return live.length === 0;
        },
        { timeoutMs: 20_000, what: 'every second step settled' },
      );
      const runs = await secondRuns(people);
      for (const { lead, committedBy } of answered) {
        const run = runs.find((r) => r.leadId === lead.id);
        const sent = sink.mailTo(lead.email).length - 1;
        // Sent only when claimed before the reply's commit was visible; then exactly once.
        if (run?.status === 'sent') {
          expect(run.claimedAt?.getTime()).toBeLessThanOrEqual(committedBy.getTime());
          expect(sent).toBe(1);
        } else {
          expect(run?.status).toBe('canceled');
          expect(sent).toBe(0);
        }
      }
    }
  }, 120_000);
});
