import { and, eq, gt } from 'drizzle-orm';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stepRuns } from '../../src/db/schema/index';
import { waitFor } from '../helpers/engine';
import { insertLeads } from '../helpers/factories';
import { addMailbox } from '../helpers/mailboxes';
import { createActiveSequence, enrollLeads } from '../helpers/sequences';
import { type SmtpSink, startSmtpSink } from '../helpers/smtp-sink';
import { signedPost } from '../api/inbound-webhooks/support';
import { expectAccessible, screenshot, signIn, startWebRig, type WebRig } from './support';

/** A reply as the lead's mail client writes it, threaded on the message it answers. */
const rawReply = (from: string, inReplyTo: string) =>
  [
    `From: <${from}>`,
    'To: sales@sender.test',
    'Subject: Re: Hello',
    `Message-ID: <reply-${Math.random().toString(36).slice(2)}@lead.test>`,
    `In-Reply-To: ${inReplyTo}`,
    `References: ${inReplyTo}`,
    'Content-Type: text/plain; charset=utf-8',
    '',
    'Sounds interesting, can we talk on Thursday?',
    '',
  ].join('\r\n');

type StepStats = {
  stepId: string;
  sent: number;
  failed: number;
  ambiguous: number;
  replies: number;
  replyRate: number;
  variants: { label: string; sent: number; replies: number; replyRate: number }[];
};

const steps = [
  {
    id: 'opener',
    type: 'email',
    subject: 'Hello A',
    body: 'Body A for {{ firstName }}',
    variants: [{ subject: 'Hello B', body: 'Body B for {{ firstName }}' }],
  },
  { type: 'wait', days: 3 },
  { id: 'follow_up', type: 'email', subject: 'Following up', body: 'Any thoughts, {{ firstName }}?' },
];

/** A real run through the SMTP sink and a signed reply, read on the sequence page and the dashboard. */
describe('web app: sequence results and operations', () => {
  let rig: WebRig;
  let sink: SmtpSink;
  let page: Page;
  let sequenceId: string;
  let people: { id: string; email: string | null }[];
  let enrollmentIds: Map<string, string>;

  const runsOf = (enrollmentId: string) =>
    rig.engine.deps.db.select().from(stepRuns).where(eq(stepRuns.enrollmentId, enrollmentId));

  beforeAll(async () => {
    sink = await startSmtpSink();
    rig = await startWebRig({
      workers: true,
      env: { MAINTENANCE_INTERVAL_SECONDS: '0.3', STEP_CONCURRENCY: '10' },
    });
    await addMailbox(rig.engine, rig.ws, sink, { dailyLimit: 1000 });
    sequenceId = await createActiveSequence(rig.engine.app, rig.ws, { name: 'Launch <outreach>', steps });
    people = await insertLeads(rig.engine.deps.db, rig.ws.id, 6);
    const { enrolled } = await enrollLeads(
      rig.engine.app,
      rig.ws,
      sequenceId,
      people.map((p) => p.id),
    );
    expect(enrolled).toHaveLength(6);
    enrollmentIds = new Map(enrolled.map((e) => [e.leadId, e.enrollmentId]));
    // Each opener sent and recorded, and each follow-up scheduled behind its wait.
    await waitFor(
      async () => {
        for (const e of enrolled) {
          const runs = await runsOf(e.enrollmentId);
          if (!runs.some((r) => r.stepId === 'opener' && r.status === 'sent')) return false;
          if (!runs.some((r) => r.stepId === 'follow_up')) return false;
        }
        return people.every((p) => sink.mailTo(p.email ?? '').length === 1);
      },
      { timeoutMs: 45_000, what: 'the openers' },
    );
    const first = people[0];
    const mail = sink.mailTo(first?.email ?? '')[0];
    const reply = await signedPost(
      rig.engine,
      rig.ws,
      'email/raw',
      rawReply(first?.email ?? '', mail?.parsed.messageId ?? ''),
    );
    expect(reply.json()).toMatchObject({ status: 'matched', classification: 'human' });
    ({ page } = await signIn(rig));
  });
  afterAll(async () => {
    await rig?.close();
    await sink?.close();
  });

  const apiStats = async () => {
    const res = await rig.engine.app.inject({
      method: 'GET',
      url: `/v1/sequences/${sequenceId}/stats`,
      headers: rig.ws.auth,
    });
    expect(res.statusCode).toBe(200);
    return res.json<{ enrolled: number; steps: StepStats[] }>();
  };

  it('shows per step and variant the numbers of GET /v1/sequences/:id/stats, with the formula', async () => {
    const stats = await apiStats();
    expect(stats.steps.find((s) => s.stepId === 'opener')).toMatchObject({ sent: 6, replies: 1 });
    await page.goto('/app/sequences');
    await page.getByRole('link', { name: 'Launch <outreach>' }).click();
    await page.waitForURL(`**/app/sequences/${sequenceId}`);
    expect(await page.locator('data.enrolled').getAttribute('value')).toBe(String(stats.enrolled));
    for (const step of stats.steps) {
      const row = page.locator(`tr.step[data-step-id="${step.stepId}"]`);
      const cell = (name: string) => row.locator(`td.${name}`).textContent();
      expect(await cell('sent'), step.stepId).toBe(String(step.sent));
      expect(await cell('failed')).toBe(String(step.failed));
      expect(await cell('ambiguous')).toBe(String(step.ambiguous));
      expect(await cell('replies')).toBe(String(step.replies));
      expect(await row.locator('td.reply-rate data').getAttribute('value')).toBe(String(step.replyRate));
      for (const variant of step.variants) {
        const v = page.locator(`tr.variant[data-step-id="${step.stepId}"][data-variant="${variant.label}"]`);
        expect(await v.locator('td.sent').textContent()).toBe(String(variant.sent));
        expect(await v.locator('td.replies').textContent()).toBe(String(variant.replies));
        expect(await v.locator('td.reply-rate data').getAttribute('value')).toBe(String(variant.replyRate));
      }
    }
    expect(await page.locator('p.help').first().textContent()).toContain(
      'Reply rate = replies credited to the step',
    );
    await screenshot(page, 'sequence', 'docs/sequence.png');
    await expectAccessible(page);
    await page.goto('/app/sequences');
    await expectAccessible(page);
  });

  it('pauses and activates the sequence from its page', async () => {
    await page.goto(`/app/sequences/${sequenceId}`);
    await Promise.all([
      page.waitForURL(`**/app/sequences/${sequenceId}`),
      page.getByRole('button', { name: 'Pause' }).click(),
    ]);
    await page.getByRole('button', { name: 'Activate' }).waitFor();
    const paused = await rig.engine.app.inject({
      method: 'GET',
      url: `/v1/sequences/${sequenceId}`,
      headers: rig.ws.auth,
    });
    expect(paused.json<{ status: string }>().status).toBe('paused');
    await page.getByRole('button', { name: 'Activate' }).click();
    await page.getByRole('button', { name: 'Pause' }).waitFor();
    const active = await rig.engine.app.inject({
      method: 'GET',
      url: `/v1/sequences/${sequenceId}`,
      headers: rig.ws.auth,
    });
    expect(active.json<{ status: string }>().status).toBe('active');
  });

  it('resolves an ambiguous step from the dashboard, and the cadence moves on', async () => {
    // What a crash during the SMTP hand-off leaves: the opener `ambiguous`, its follow-up not yet
    // scheduled. Made from a finished send, so nothing of it is still in flight.
    const lead = people[1];
    const [run] = await rig.engine.deps.db
      .select()
      .from(stepRuns)
      .where(
        and(
          eq(stepRuns.enrollmentId, enrollmentIds.get(lead?.id ?? '') ?? ''),
          eq(stepRuns.stepId, 'opener'),
        ),
      );
    if (!run) throw new Error('no opener run');
    await rig.engine.deps.db
      .delete(stepRuns)
      .where(and(eq(stepRuns.enrollmentId, run.enrollmentId), gt(stepRuns.stepIndex, 0)));
    await rig.engine.deps.db
      .update(stepRuns)
      .set({ status: 'ambiguous', reason: 'lease_expired', updatedAt: new Date() })
      .where(eq(stepRuns.id, run.id));

    await page.goto('/app');
    const item = page.locator(`li[data-step-run-id="${run.id}"]`);
    await item.waitFor();
    await screenshot(page, 'dashboard');
    await expectAccessible(page);
    await Promise.all([
      page.waitForURL('**/app#ambiguous'),
      item.getByRole('button', { name: 'Mark sent' }).click(),
    ]);
    expect(await page.locator(`li[data-step-run-id="${run.id}"]`).count()).toBe(0);

    const res = await rig.engine.app.inject({
      method: 'GET',
      url: '/v1/step-runs?status=ambiguous',
      headers: rig.ws.auth,
    });
    expect(res.json<{ data: { id: string }[] }>().data.map((r) => r.id)).not.toContain(run.id);
    const runs = await runsOf(run.enrollmentId);
    expect(runs.find((r) => r.id === run.id)?.status).toBe('sent');
    expect(runs.find((r) => r.stepId === 'follow_up')?.status).toBe('scheduled');
    // Nothing was sent again: at most once.
    expect(sink.mailTo(lead?.email ?? '')).toHaveLength(1);
  });
});
