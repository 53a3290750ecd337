import { and, eq, inArray } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enrollments, stepRuns } from '../../../src/db/schema/index';
import {
  bringRunsDue,
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
import { rawDsn, rawMessage, signedPost } from '../inbound-webhooks/support';

type Figures = {
  sent: number;
  delivered: number;
  replies: number;
  autoReplies: number;
  bounces: number;
  unsubscribes: number;
  replyRate: number;
};
type StepView = Figures & { stepId: string; failed: number; variants: (Figures & { label: string })[] };

const zero = { sent: 0, delivered: 0, replies: 0, autoReplies: 0, bounces: 0, unsubscribes: 0, replyRate: 0 };

/**
 * A real run (SMTP sink, signed inbound messages, the unsubscribe link) where each outcome lands on
 * a known step and variant: the figures of GET /v1/sequences/:id/stats are exact.
 */
describe('sequence stats: replies, auto-replies, bounces and unsubscribes per step and variant', () => {
  let engine: TestEngine;
  let sink: SmtpSink;
  let ws: TestWorkspace;
  beforeAll(async () => {
    sink = await startSmtpSink();
    engine = await startTestEngine({
      workers: true,
      env: { MAINTENANCE_INTERVAL_SECONDS: '0.3', STEP_CONCURRENCY: '10' },
    });
    ws = await createTestWorkspace(engine.app);
    await addMailbox(engine, ws, sink, { dailyLimit: 1000 });
  });
  afterAll(async () => {
    await engine?.close();
    await sink?.close();
  });

  it('credits each outcome to the send it answers, and counts each once', async () => {
    const sequenceId = await createActiveSequence(engine.app, ws, {
      steps: [
        {
          id: 'opener',
          type: 'email',
          subject: 'Hello A',
          body: 'Body A for {{ firstName }}',
          variants: [{ subject: 'Hello B', body: 'Body B for {{ firstName }}' }],
        },
        { type: 'wait', days: 3 },
        { id: 'follow_up', type: 'email', subject: 'Following up', body: 'Any thoughts?' },
      ],
    });
    const people = await insertLeads(engine.deps.db, ws.id, 8);
    const [human, autoOpener, dsn, unsubReply, autoFollowUp, unsubLink, , refused] = people.map(
      (p) => p.email ?? '',
    );
    // The server refuses the follow-up to one address for good (its second message).
    sink.setBehaviour(({ envelopeTo, attempt }) =>
      envelopeTo.includes(refused ?? '') && attempt >= 2
        ? { code: 550, message: '5.1.1 mailbox unavailable' }
        : undefined,
    );
    const { enrolled } = await enrollLeads(
      engine.app,
      ws,
      sequenceId,
      people.map((p) => p.id),
    );
    const ids = enrolled.map((e) => e.enrollmentId);
    const runs = () => engine.deps.db.select().from(stepRuns).where(inArray(stepRuns.enrollmentId, ids));
    await waitFor(
      async () => {
        const all = await runs();
        return all.filter((r) => r.stepId === 'follow_up' && r.status === 'scheduled').length === 8;
      },
      { timeoutMs: 45_000, what: 'the openers' },
    );
    await bringRunsDue(
      engine.deps.db,
      and(inArray(stepRuns.enrollmentId, ids), eq(stepRuns.stepId, 'follow_up')),
    );
    await waitFor(
      async () => {
        const done = await engine.deps.db
          .select({ id: enrollments.id })
          .from(enrollments)
          .where(and(inArray(enrollments.id, ids), inArray(enrollments.status, ['completed', 'bounced'])));
        return done.length === 8;
      },
      { timeoutMs: 45_000, what: 'the follow-ups' },
    );

    const mail = (to: string | undefined, n: number) => sink.mailTo(to)[n]?.parsed;
    const post = async (raw: string, classification: string) => {
      const res = await signedPost(engine, ws, 'email/raw', raw);
      expect(res.json()).toMatchObject({ status: 'matched', classification });
    };
    const opener = (to: string | undefined) => mail(to, 0)?.messageId ?? '';
    const followUp = (to: string | undefined) => mail(to, 1)?.messageId ?? '';
    await post(rawMessage(human ?? '', opener(human), 'Sounds good, call me Thursday.'), 'human');
    await post(
      rawMessage(autoOpener ?? '', opener(autoOpener), 'I am out of the office.', [
        'Auto-Submitted: auto-replied',
      ]),
      'auto_reply',
    );
    await post(rawDsn(dsn ?? '', opener(dsn)), 'bounce');
    await post(
      rawMessage(unsubReply ?? '', followUp(unsubReply), 'Please remove me from your list.'),
      'unsubscribe',
    );
    await post(
      rawMessage(autoFollowUp ?? '', followUp(autoFollowUp), 'Away until Monday.', [
        'Auto-Submitted: auto-replied',
      ]),
      'auto_reply',
    );
    // The second auto-reply to the same send counts once.
    await post(
      rawMessage(autoFollowUp ?? '', followUp(autoFollowUp), 'Still away.', ['Auto-Submitted: auto-replied']),
      'auto_reply',
    );
    // One-click unsubscribe through the link of the last message: credited to the follow-up.
    const header = sink
      .mailTo(unsubLink)[1]
      ?.raw.match(/^List-Unsubscribe:[^<]*<https?:\/\/[^/>]+(\/u\/[^>]+)>/im);
    const path = header?.[1] ?? 'no link';
    const clicked = await engine.app.inject({
      method: 'POST',
      url: path,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'List-Unsubscribe=One-Click',
    });
    expect(clicked.statusCode).toBe(200);

    const all = await runs();
    const leadOf = new Map(enrolled.map((e) => [e.enrollmentId, e.leadId]));
    const variantOf = (email: string | undefined) => {
      const lead = people.find((p) => p.email === email)?.id;
      return all.find((r) => r.stepId === 'opener' && leadOf.get(r.enrollmentId) === lead)?.variant;
    };
    const res = await engine.app.inject({
      method: 'GET',
      url: `/v1/sequences/${sequenceId}/stats`,
      headers: ws.auth,
    });
    expect(res.statusCode).toBe(200);
    const steps = res.json<{ steps: StepView[] }>().steps;
    const pick = ({ sent, delivered, replies, autoReplies, bounces, unsubscribes, replyRate }: Figures) => ({
      sent,
      delivered,
      replies,
      autoReplies,
      bounces,
      unsubscribes,
      replyRate,
    });
    const openerStats = steps.find((s) => s.stepId === 'opener');
    const followUpStats = steps.find((s) => s.stepId === 'follow_up');
    expect(pick(openerStats ?? { ...zero })).toEqual({
      sent: 8,
      delivered: 7,
      replies: 1,
      autoReplies: 1,
      bounces: 1,
      unsubscribes: 0,
      replyRate: 0.125,
    });
    // The refused follow-up is no send: it failed, and is the step's bounce.
    expect(followUpStats?.failed).toBe(1);
    expect(pick(followUpStats ?? { ...zero })).toEqual({
      sent: 7,
      delivered: 7,
      replies: 0,
      autoReplies: 1,
      bounces: 1,
      unsubscribes: 2,
      replyRate: 0,
    });
    expect(followUpStats?.variants).toEqual([]);

    // Per variant of the opener: what each lead's run picked decides where its outcome lands.
    const expected = [0, 1].map((variant) => {
      const sent = all.filter((r) => r.stepId === 'opener' && r.variant === variant).length;
      const on = (email: string | undefined) => (variantOf(email) === variant ? 1 : 0);
      return {
        sent,
        delivered: sent - on(dsn),
        replies: on(human),
        autoReplies: on(autoOpener),
        bounces: on(dsn),
        unsubscribes: 0,
        replyRate: sent > 0 ? Math.round((on(human) / sent) * 10_000) / 10_000 : 0,
      };
    });
    expect(openerStats?.variants.map(pick)).toEqual(expected);
    expect(openerStats?.variants.map((v) => v.label)).toEqual(['A', 'B']);
  });
});
