import { and, eq, inArray } from 'drizzle-orm';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { wilsonInterval } from '../../../src/core/ab-test';
import { abWinners, enrollments, events } from '../../../src/db/schema/index';
import { promoteAbWinners } from '../../../src/engine/ab-winners';
import { outboundPayloadSchema } from '../../../src/timeline/outbox/event-schemas';
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
import { signedPost, startReceiver } from '../inbound-webhooks/support';

/** A reply as the lead's mail client writes it, threaded on the message it answers. */
const rawReply = (from: string, inReplyTo: string) =>
  [
    `From: <${from}>`,
    'To: sales@sender.test',
    'Subject: Re: Version B',
    `Message-ID: <reply-${Math.random().toString(36).slice(2)}@lead.test>`,
    `In-Reply-To: ${inReplyTo}`,
    `References: ${inReplyTo}`,
    'Content-Type: text/plain; charset=utf-8',
    '',
    'Sounds interesting, can we talk on Thursday?',
    '',
  ].join('\r\n');

type VariantView = {
  label: string;
  sent: number;
  replies: number;
  replyRate: number;
  interval: { low: number; high: number };
};
type Decision = {
  status: string;
  winner?: string;
  confidence: number;
  pValue?: number;
  minSample: number;
  promoted: { winner: string; at: string } | null;
};
type StepView = { stepId: string; replies: number; variants: VariantView[]; decision: Decision | null };

const opener = {
  id: 'opener',
  type: 'email',
  subject: 'Version A',
  body: 'Body A for {{ firstName }}',
  variants: [{ subject: 'Version B', body: 'Body B for {{ firstName }}' }],
};

/**
 * The whole loop on the running engine: sends over SMTP to a sink, signed human replies to B,
 * the decision in the stats, then promotion under `abAutoPromote` and only B for new leads.
 */
describe('A/B winners (issue 17)', () => {
  let engine: TestEngine;
  let sink: SmtpSink;
  let ws: TestWorkspace;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  beforeAll(async () => {
    sink = await startSmtpSink();
    receiver = await startReceiver();
    engine = await startTestEngine({
      workers: true,
      env: { MAINTENANCE_INTERVAL_SECONDS: '0.3', STEP_CONCURRENCY: '20' },
    });
    ws = await createTestWorkspace(engine.app);
    await addMailbox(engine, ws, sink, { dailyLimit: 10_000 });
  });
  afterAll(async () => {
    await engine?.close();
    await sink?.close();
    await receiver?.close();
  });

  const stepStats = async (sequenceId: string) => {
    const res = await engine.app.inject({
      method: 'GET',
      url: `/v1/sequences/${sequenceId}/stats`,
      headers: ws.auth,
    });
    expect(res.statusCode).toBe(200);
    const step = res.json<{ steps: StepView[] }>().steps.find((s) => s.stepId === 'opener');
    if (!step) throw new Error('no opener step in the stats');
    return step;
  };
  /** Enrolls `count` new leads and waits until each has its email; returns them with it. */
  const enrollAndSend = async (sequenceId: string, count: number) => {
    const people = await insertLeads(engine.deps.db, ws.id, count);
    const { enrolled } = await enrollLeads(
      engine.app,
      ws,
      sequenceId,
      people.map((p) => p.id),
    );
    expect(enrolled).toHaveLength(count);
    // Sent, and recorded as sent: the run's outcome is written just after the SMTP answer.
    const completed = async () =>
      (
        await engine.deps.db
          .select({ id: enrollments.id })
          .from(enrollments)
          .where(
            and(
              inArray(
                enrollments.leadId,
                people.map((p) => p.id),
              ),
              eq(enrollments.status, 'completed'),
            ),
          )
      ).length === count;
    await waitFor(async () => people.every((p) => sink.mailTo(p.email).length === 1) && completed(), {
      timeoutMs: 30_000,
      what: `the opener to all ${count} leads`,
    });
    return people.map((p) => {
      const mail = sink.mailTo(p.email)[0];
      return { ...p, subject: mail?.parsed.subject, text: mail?.parsed.text?.trim(), id: p.id, mail };
    });
  };
  const promotedEvents = (sequenceId: string) =>
    engine.deps.db
      .select()
      .from(events)
      .where(and(eq(events.workspaceId, ws.id), eq(events.type, 'sequence.variant_promoted')))
      .then((rows) => rows.filter((r) => r.data.sequenceId === sequenceId));

  it('decides B on human replies, promotes it once under abAutoPromote, then sends only B', async () => {
    const settings = { abMinSample: 5 };
    const sequenceId = await createActiveSequence(engine.app, ws, { steps: [opener], settings });

    const empty = await stepStats(sequenceId);
    expect(empty.variants.map((v) => [v.label, v.sent, v.interval])).toEqual([
      ['A', 0, { low: 0, high: 1 }],
      ['B', 0, { low: 0, high: 1 }],
    ]);
    expect(empty.decision).toEqual({
      status: 'collecting',
      confidence: 0.95,
      minSample: 5,
      promoted: null,
    });

    const first = await enrollAndSend(sequenceId, 40);
    const onB = first.filter((p) => p.subject === 'Version B');
    const onA = first.filter((p) => p.subject === 'Version A');
    expect(onA.length + onB.length).toBe(40);
    // 40 run ids split by hash: each side has far more than 5 (fewer would be odds of about 1e-7).
    expect(Math.min(onA.length, onB.length)).toBeGreaterThanOrEqual(5);
    for (const p of onB) expect(p.text).toBe(`Body B for ${p.firstName}`);
    const before = await stepStats(sequenceId);
    expect(before.decision).toMatchObject({ status: 'no_difference_yet', pValue: 1 });

    // Every B lead answers (after its one-step enrollment completed): a human reply each.
    for (const p of onB) {
      const res = await signedPost(
        engine,
        ws,
        'email/raw',
        rawReply(p.email ?? '', p.mail?.parsed.messageId ?? ''),
      );
      expect(res.json()).toMatchObject({ status: 'matched', classification: 'human', leadId: p.id });
    }
    // An out-of-office from an A lead is no reply.
    const away = onA[0];
    if (!away) throw new Error('no A lead');
    const ooo = await signedPost(
      engine,
      ws,
      'email/raw',
      rawReply(away.email ?? '', away.mail?.parsed.messageId ?? '')
        .replace('Subject: Re: Version B', 'Subject: Automatic reply: Out of office')
        .replace('Sounds interesting, can we talk on Thursday?', 'I am out of the office until Monday.'),
    );
    expect(ooo.json()).toMatchObject({ status: 'matched', classification: 'auto_reply' });

    const decided = await stepStats(sequenceId);
    const [a, b] = decided.variants;
    expect(a).toMatchObject({ label: 'A', sent: onA.length, replies: 0, replyRate: 0 });
    expect(b).toMatchObject({ label: 'B', sent: onB.length, replies: onB.length, replyRate: 1 });
    const expectedA = wilsonInterval(0, onA.length, 0.95);
    expect(a?.interval.low).toBe(0);
    expect(a?.interval.high).toBeCloseTo(expectedA.high, 4);
    expect(b?.interval.low).toBeCloseTo(wilsonInterval(onB.length, onB.length, 0.95).low, 4);
    expect(b?.interval.high).toBe(1);
    expect(decided.replies).toBe(onB.length);
    expect(decided.decision).toMatchObject({
      status: 'winner',
      winner: 'B',
      confidence: 0.95,
      minSample: 5,
      promoted: null,
    });
    expect(decided.decision?.pValue).toBeLessThan(0.05);

    // Without abAutoPromote the winner is reported, never acted on.
    expect(await promoteAbWinners(engine.deps)).toBe(0);
    expect(await engine.deps.db.select().from(abWinners).where(eq(abWinners.sequenceId, sequenceId))).toEqual(
      [],
    );

    // Turning it on is a new version with the same copy: the test (and its figures) carry over.
    const endpoint = await engine.app
      .inject({
        method: 'POST',
        url: '/v1/webhook-endpoints',
        headers: ws.auth,
        payload: { url: receiver.url, events: ['sequence.variant_promoted'] },
      })
      .then((res) => res.json<{ id: string; secret: string }>());
    const put = await engine.app.inject({
      method: 'PUT',
      url: `/v1/sequences/${sequenceId}`,
      headers: ws.auth,
      payload: { steps: [opener], settings: { ...settings, abAutoPromote: true } },
    });
    expect(put.statusCode).toBe(200);
    expect(await promoteAbWinners(engine.deps)).toBe(1);
    expect(await promoteAbWinners(engine.deps)).toBe(0);
    const announced = await promotedEvents(sequenceId);
    expect(announced).toHaveLength(1);
    expect(announced[0]?.data).toMatchObject({
      sequenceId,
      version: 2,
      stepId: 'opener',
      variant: 1,
      label: 'B',
      confidence: 0.95,
      variants: [
        { label: 'A', sent: onA.length, replies: 0 },
        { label: 'B', sent: onB.length, replies: onB.length },
      ],
    });
    // Delivered to a subscribed endpoint, signed, with the payload docs/webhooks.md documents.
    const hook = await waitFor(async () => receiver.received[0], { what: 'the promotion webhook' });
    const headers = Object.fromEntries(Object.entries(hook.headers).map(([k, v]) => [k, String(v)]));
    const body = new Webhook(endpoint.secret).verify(hook.body, headers) as { type: string };
    expect(body.type).toBe('sequence.variant_promoted');
    expect(outboundPayloadSchema(body.type)?.safeParse(body).success).toBe(true);
    const promoted = await stepStats(sequenceId);
    expect(promoted.decision?.promoted).toMatchObject({ winner: 'B' });

    // New leads get only B; the step's figures count them on the same test.
    const later = await enrollAndSend(sequenceId, 12);
    expect(later.map((p) => p.subject)).toEqual(Array(12).fill('Version B'));
    for (const p of later) expect(p.text).toBe(`Body B for ${p.firstName}`);
    const after = await stepStats(sequenceId);
    expect(after.variants.map((v) => [v.label, v.sent])).toEqual([
      ['A', onA.length],
      ['B', onB.length + 12],
    ]);
    expect(await promotedEvents(sequenceId)).toHaveLength(1);

    // Editing B's copy starts a new test: no winner, nothing counted yet, both versions sent again.
    const edited = { ...opener, variants: [{ subject: 'Version B2', body: 'Body B2' }] };
    const put2 = await engine.app.inject({
      method: 'PUT',
      url: `/v1/sequences/${sequenceId}`,
      headers: ws.auth,
      payload: { steps: [edited], settings: { ...settings, abAutoPromote: true } },
    });
    expect(put2.statusCode).toBe(200);
    const fresh = await stepStats(sequenceId);
    expect(fresh.variants.map((v) => [v.label, v.sent])).toEqual([
      ['A', 0],
      ['B', 0],
    ]);
    expect(fresh.decision).toMatchObject({ status: 'collecting', promoted: null });
    const third = await enrollAndSend(sequenceId, 20);
    expect(new Set(third.map((p) => p.subject))).toEqual(new Set(['Version A', 'Version B2']));
  }, 120_000);

  it.each([
    [{ abConfidence: 1 }, 'body.settings.abConfidence'],
    [{ abConfidence: 0.2 }, 'body.settings.abConfidence'],
    [{ abMinSample: 0 }, 'body.settings.abMinSample'],
    [{ abMinSample: 2.5 }, 'body.settings.abMinSample'],
    [{ abAutoPromote: 'yes' }, 'body.settings.abAutoPromote'],
  ])('refuses A/B settings %j with 400 naming the field', async (settings, path) => {
    const res = await engine.app.inject({
      method: 'POST',
      url: '/v1/sequences',
      headers: ws.auth,
      payload: { name: `ab ${Math.random().toString(36).slice(2, 10)}`, steps: [opener], settings },
    });
    expect(res.statusCode, res.body).toBe(400);
    const body = res.json<{ error: { code: string; details: { path: string }[] } }>();
    expect(body.error.code).toBe('validation_failed');
    expect(body.error.details.map((d) => d.path)).toContain(path);
  });
});
