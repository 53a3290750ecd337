import { and, eq, gt } from 'drizzle-orm';
import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordAction } from '../../src/channels/linkedin/limits';
import { stepRuns } from '../../src/db/schema/index';
import { bringRunsDue, waitFor } from '../helpers/engine';
import { insertLeads } from '../helpers/factories';
import { addMailbox } from '../helpers/mailboxes';
import { createActiveSequence, enrollLeads } from '../helpers/sequences';
import { type SmtpSink, startSmtpSink } from '../helpers/smtp-sink';
import { rawDsn, rawMessage, signedPost } from '../api/inbound-webhooks/support';
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

type Figures = {
  sent: number;
  delivered: number;
  replies: number;
  autoReplies: number;
  bounces: number;
  unsubscribes: number;
  replyRate: number;
};
type StepStats = Figures & {
  stepId: string;
  failed: number;
  ambiguous: number;
  variants: (Figures & { label: string })[];
};
/** The figures cells of a row of the sequence page, by their class. */
const cells = {
  sent: 'sent',
  delivered: 'delivered',
  replies: 'replies',
  autoReplies: 'auto-replies',
  bounces: 'bounces',
  unsubscribes: 'unsubscribes',
} as const;

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
      // No LinkedIn account of this rig reaches linkedin.com, whatever a loop tries.
      env: {
        MAINTENANCE_INTERVAL_SECONDS: '0.3',
        STEP_CONCURRENCY: '10',
        LINKEDIN_BASE_URL: 'http://127.0.0.1:9',
      },
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
    // An auto-reply and a bounce report on two more openers; one lead is sent its follow-up and
    // unsubscribes in answer to it. The human reply, the bounce and the unsubscribe stop their leads.
    const post = async (raw: string, classification: string) => {
      const res = await signedPost(rig.engine, rig.ws, 'email/raw', raw);
      expect(res.json()).toMatchObject({ status: 'matched', classification });
    };
    const sentTo = (p: { email: string | null } | undefined, n: number) =>
      sink.mailTo(p?.email ?? '')[n]?.parsed.messageId ?? '';
    const [, , away, gone, , later] = people;
    await post(
      rawMessage(away?.email ?? '', sentTo(away, 0), 'I am out of the office.', [
        'Auto-Submitted: auto-replied',
      ]),
      'auto_reply',
    );
    await post(rawDsn(gone?.email ?? '', sentTo(gone, 0)), 'bounce');
    await bringRunsDue(
      rig.engine.deps.db,
      and(
        eq(stepRuns.enrollmentId, enrollmentIds.get(later?.id ?? '') ?? ''),
        eq(stepRuns.stepId, 'follow_up'),
      ),
    );
    await waitFor(
      async () =>
        (await runsOf(enrollmentIds.get(later?.id ?? '') ?? '')).some(
          (r) => r.stepId === 'follow_up' && r.status === 'sent',
        ),
      { timeoutMs: 30_000, what: 'the follow-up' },
    );
    await post(
      rawMessage(later?.email ?? '', sentTo(later, 1), 'Please remove me from your list.'),
      'unsubscribe',
    );
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
    const pick = (f: Figures) =>
      Object.fromEntries(Object.keys(cells).map((k) => [k, f[k as keyof Figures]]));
    const opener = stats.steps.find((s) => s.stepId === 'opener');
    const followUp = stats.steps.find((s) => s.stepId === 'follow_up');
    // Exact: each outcome on the step (and the variant) whose message it answers.
    expect(pick(opener ?? ({} as Figures))).toEqual({
      sent: 6,
      delivered: 5,
      replies: 1,
      autoReplies: 1,
      bounces: 1,
      unsubscribes: 0,
    });
    expect(pick(followUp ?? ({} as Figures))).toEqual({
      sent: 1,
      delivered: 1,
      replies: 0,
      autoReplies: 0,
      bounces: 0,
      unsubscribes: 1,
    });
    const openers = (
      await Promise.all(
        people.map(async (p) =>
          (await runsOf(enrollmentIds.get(p.id) ?? '')).find((r) => r.stepId === 'opener'),
        ),
      )
    ).map((r) => r?.variant);
    const [human, , away, gone] = openers;
    expect(opener?.variants.map(pick)).toEqual(
      [0, 1].map((variant) => {
        const on = (v: number | null | undefined) => (v === variant ? 1 : 0);
        const sent = openers.filter((v) => v === variant).length;
        return {
          sent,
          delivered: sent - on(gone),
          replies: on(human),
          autoReplies: on(away),
          bounces: on(gone),
          unsubscribes: 0,
        };
      }),
    );

    await page.goto('/app/sequences');
    await page.getByRole('link', { name: 'Launch <outreach>' }).click();
    await page.waitForURL(`**/app/sequences/${sequenceId}`);
    expect(await page.locator('data.enrolled').getAttribute('value')).toBe(String(stats.enrolled));
    const expectRow = async (row: Locator, figures: Figures, what: string) => {
      for (const [key, name] of Object.entries(cells))
        expect(await row.locator(`td.${name}`).textContent(), `${what} ${key}`).toBe(
          String(figures[key as keyof Figures]),
        );
      expect(await row.locator('td.reply-rate data').getAttribute('value')).toBe(String(figures.replyRate));
    };
    for (const step of stats.steps) {
      const row = page.locator(`tr.step[data-step-id="${step.stepId}"]`);
      await expectRow(row, step, step.stepId);
      expect(await row.locator('td.failed').textContent()).toBe(String(step.failed));
      expect(await row.locator('td.ambiguous').textContent()).toBe(String(step.ambiguous));
      for (const variant of step.variants) {
        const v = page.locator(`tr.variant[data-step-id="${step.stepId}"][data-variant="${variant.label}"]`);
        await expectRow(v, variant, `${step.stepId} ${variant.label}`);
      }
    }
    expect(await page.locator('p.help').first().textContent()).toContain('Reply rate = human replies ÷ sent');
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

  it('simulates the sequence on its page with the API simulation, and refuses a bad sample in words', async () => {
    await insertLeads(rig.engine.deps.db, rig.ws.id, 30);
    await page.goto(`/app/sequences/${sequenceId}`);
    await page.getByLabel('Leads (a sample)').fill('20');
    await Promise.all([
      page.waitForURL(`**/app/sequences/${sequenceId}?sample=20`),
      page.getByRole('button', { name: 'Simulate' }).click(),
    ]);
    const summary = await page.locator('.simulation-summary').textContent();
    const api = await rig.engine.app.inject({
      method: 'POST',
      url: `/v1/sequences/${sequenceId}/simulate`,
      headers: rig.ws.auth,
      payload: { sample: 20 },
    });
    expect(api.statusCode).toBe(200);
    const plan = api.json<{
      summary: string;
      leads: unknown[];
      days: { date: string; planned: number }[];
    }>();
    // Both start from their own "now", a moment apart: the instants in the sentence may differ.
    const sentence = (text: string) => text.trim().replace(/\d{4}-\d\d-\d\dT[\d:.]+Z/g, '<instant>');
    expect(sentence(summary ?? '')).toBe(sentence(plan.summary));
    // The bars are the API's planned sends per day.
    const bars = await page.locator('svg.chart g title').allTextContents();
    const shown: Record<string, number> = Object.fromEntries(
      bars.map((t) => t.split(': ')).map(([day, n]) => [day, Number(n)]),
    );
    const planned = Object.fromEntries(plan.days.slice(0, 45).map((d) => [d.date, d.planned]));
    expect(shown).toEqual(planned);
    expect(Object.values(shown).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    await screenshot(page, 'sequence-simulation');
    await expectAccessible(page);

    const bad = await page.goto(`/app/sequences/${sequenceId}?sample=0`);
    expect(bad?.status()).toBe(200);
    expect(await page.getByRole('alert').textContent()).toMatch(/sample/);
  });

  it("shows each LinkedIn account's usage against its rolling windows, as the API reports it", async () => {
    const created = await rig.engine.app.inject({
      method: 'POST',
      url: '/v1/linkedin-accounts',
      headers: rig.ws.auth,
      payload: {
        name: 'Sales <LinkedIn>',
        liAt: `AQED${'x'.repeat(40)}`,
        limits: { invitesPerWeek: 20, messagesPerDay: 10, visitsPerDay: 15 },
      },
    });
    expect(created.statusCode).toBe(201);
    const accountId = created.json<{ id: string }>().id;
    // Paused: no loop of the engine acts for it while the test writes its history.
    const paused = await rig.engine.app.inject({
      method: 'PATCH',
      url: `/v1/linkedin-accounts/${accountId}`,
      headers: rig.ws.auth,
      payload: { status: 'paused' },
    });
    expect(paused.statusCode).toBe(200);
    const ago = (hours: number) => new Date(Date.now() - hours * 3_600_000);
    const history: [kind: 'invite' | 'visit' | 'message', hoursAgo: number][] = [
      ['invite', 1],
      ['invite', 2],
      ['invite', 72], // inside the 7-day window
      ['invite', 8 * 24], // outside it
      ['visit', 3],
      ['visit', 48], // outside the 24-hour window
      ['message', 5],
    ];
    for (const [kind, hours] of history)
      await recordAction(rig.engine.deps.db, { accountId, kind, profileUrl: null, at: ago(hours) });

    const api = await rig.engine.app.inject({
      method: 'GET',
      url: `/v1/linkedin-accounts/${accountId}`,
      headers: rig.ws.auth,
    });
    const account = api.json<{
      usage: { invites: number; visits: number; messages: number };
      limits: { invitesPerWeek: number; visitsPerDay: number; messagesPerDay: number };
    }>();
    expect(account.usage).toEqual({ invites: 3, visits: 1, messages: 1 });

    await page.goto('/app');
    const row = (action: string) =>
      page.locator(`tr[data-account-id="${accountId}"][data-action="${action}"]`);
    const shown = async (action: string) => ({
      used: await row(action).locator('td.used').textContent(),
      limit: await row(action).locator('td.limit').textContent(),
    });
    expect(await shown('invite')).toEqual({ used: '3', limit: String(account.limits.invitesPerWeek) });
    expect(await shown('visit')).toEqual({ used: '1', limit: String(account.limits.visitsPerDay) });
    expect(await shown('message')).toEqual({ used: '1', limit: String(account.limits.messagesPerDay) });
    expect(await row('invite').textContent()).toContain('Sales <LinkedIn> (paused)');
    expect(await row('invite').textContent()).toContain('last 7 days');
    expect(await row('visit').textContent()).toContain('last 24 hours');
    expect(await row('invite').locator('meter').getAttribute('value')).toBe('3');
    await screenshot(page, 'dashboard-linkedin');
    await expectAccessible(page);
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
