import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { and, asc, eq, sql } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { type SimResult, simulate as simulatePlan } from '../../src/api/sequences/simulate';
import type { SimulateOutcome } from '../../src/api/sequences/simulate.service';
import { createEmailChannel, type EmailChannel } from '../../src/channels/email/email.channel';
import {
  enrollments,
  linkedinAccounts,
  linkedinActions,
  messages,
  stepRuns,
  workspaces,
} from '../../src/db/schema/index';
import type { Channel } from '../../src/engine/channel';
import { renderChart } from '../../src/api/sequences/simulate.cli';
import { channelMap } from '../helpers/channels';
import { runCli } from '../helpers/cli';
import {
  bringRunsDue,
  createTestWorkspace,
  startTestEngine,
  type TestEngine,
  type TestWorkspace,
  waitFor,
} from '../helpers/engine';
import { insertLeads } from '../helpers/factories';
import { addMailbox } from '../helpers/mailboxes';
import { createActiveSequence, enrollLeads } from '../helpers/sequences';
import { type SmtpSink, startSmtpSink } from '../helpers/smtp-sink';

type Executed = { stepId: string; at: string; mailboxId: string | null; deferrals: number };

/**
 * The simulation against the workers. The engine reads the time with `new Date()`: only Date is
 * faked (timers and I/O run as usual) and frozen at each run's scheduled instant while that one run
 * is brought due and executed, through the real email channel and an SMTP sink. So every run
 * executes at exactly its `run_at`, which is also what the simulation assumes; runs due at the same
 * instant go one at a time in lead id order, as the simulation orders them.
 */
describe('POST /v1/sequences/:id/simulate', () => {
  let engine: TestEngine;
  let sink: SmtpSink;
  let email: EmailChannel | null = null;
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
    engine = await startTestEngine({
      workers: true,
      env: { MAINTENANCE_INTERVAL_SECONDS: '0.2' },
      channels: channelMap(channel),
    });
  });
  afterEach(() => {
    vi.useRealTimers();
  });
  afterAll(async () => {
    await engine.close();
    await sink.close();
  });

  const simulate = (ws: TestWorkspace, sequenceId: string, payload: Record<string, unknown>) =>
    engine.app.inject({
      method: 'POST',
      url: `/v1/sequences/${sequenceId}/simulate`,
      headers: ws.auth,
      payload,
    });

  /**
   * Runs every scheduled run of the workspace, earliest first (ties by lead id), each with the
   * clock frozen at its `run_at`; returns per lead the steps it executed and when.
   */
  async function runForReal(ws: TestWorkspace): Promise<Map<string, Executed[]>> {
    const { db } = engine.deps;
    const executed = new Map<string, Executed[]>();
    const deferrals = new Map<string, number>();
    vi.useFakeTimers({ toFake: ['Date'] });
    for (let n = 0; n < 2000; n++) {
      const [next] = await db
        .select({
          id: stepRuns.id,
          runAt: stepRuns.runAt,
          stepId: stepRuns.stepId,
          generation: stepRuns.generation,
          leadId: enrollments.leadId,
        })
        .from(stepRuns)
        .innerJoin(enrollments, eq(enrollments.id, stepRuns.enrollmentId))
        .where(and(eq(stepRuns.workspaceId, ws.id), eq(stepRuns.status, 'scheduled')))
        .orderBy(asc(stepRuns.runAt), asc(enrollments.leadId))
        .limit(1);
      if (!next) break;
      vi.setSystemTime(next.runAt);
      await bringRunsDue(db, eq(stepRuns.id, next.id));
      const brought = next.generation + 1;
      const after = await waitFor(
        async () => {
          const [row] = await db
            .select({ status: stepRuns.status, generation: stepRuns.generation })
            .from(stepRuns)
            .where(eq(stepRuns.id, next.id));
          if (!row) return null;
          if (row.status === 'scheduled' && row.generation > brought) return row;
          return ['sent', 'failed', 'canceled', 'ambiguous'].includes(row.status) ? row : null;
        },
        { what: `run ${next.id} at ${next.runAt.toISOString()}` },
      );
      if (after.status === 'scheduled') {
        deferrals.set(next.id, (deferrals.get(next.id) ?? 0) + 1);
        continue;
      }
      const [message] = await db
        .select({ mailboxId: messages.mailboxId })
        .from(messages)
        .where(eq(messages.stepRunId, next.id));
      const list = executed.get(next.leadId) ?? [];
      list.push({
        stepId: next.stepId,
        at: next.runAt.toISOString(),
        mailboxId: message?.mailboxId ?? null,
        deferrals: deferrals.get(next.id) ?? 0,
      });
      executed.set(next.leadId, list);
    }
    vi.useRealTimers();
    return executed;
  }

  const simulated = (body: SimulateOutcome) =>
    new Map(
      body.leads.map((l) => [
        l.leadId,
        l.steps.map((s) => ({
          stepId: s.stepId,
          at: s.at,
          mailboxId: s.mailboxId ?? null,
          deferrals: s.deferrals ?? 0,
        })),
      ]),
    );

  it('predicts every run to the millisecond: zones, DST, Easter holidays, business days, a daily cap with spacing and a warm-up ramp', async () => {
    const ws = await createTestWorkspace(engine.app);
    await engine.deps.db
      .update(workspaces)
      .set({ timezone: 'Europe/Berlin', country: 'DE' })
      .where(eq(workspaces.id, ws.id));
    // Two mailboxes: one capped at 3 a day with 15 minutes (and its jitter) between sends, one on a
    // warm-up ramp (2, then 3, 4… a day up to 10).
    const capped = await addMailbox(engine, ws, sink, {
      dailyLimit: 3,
      minIntervalSeconds: 900,
      fromEmail: 'capped@sender.test',
    });
    const ramped = await addMailbox(engine, ws, sink, {
      dailyLimit: 10,
      fromEmail: 'ramp@sender.test',
      warmup: { startLimit: 2, increasePerDay: 1, startedAt: '2027-03-25' },
    });
    const zones = [
      { timezone: 'Europe/Paris', country: 'FR' },
      { timezone: 'America/New_York', country: 'US' },
      { timezone: null, country: null }, // the workspace's Berlin and DE
      { timezone: 'Asia/Tokyo', country: 'JP' },
      { timezone: 'Europe/London', country: 'GB' },
    ];
    const people = await insertLeads(engine.deps.db, ws.id, 10, (i) => zones[i % zones.length] ?? {});
    const leadIds = people.map((p) => p.id);
    const sequenceId = await createActiveSequence(engine.app, ws, {
      steps: [
        { id: 'intro', type: 'email', subject: 'Hello {{ firstName }}', body: 'Hi {{ firstName }}' },
        { type: 'wait', days: 1 },
        { id: 'bump', type: 'email', body: 'Any thoughts?', thread: 'reply' },
        { type: 'wait', days: 2, businessDays: true },
        { id: 'value', type: 'email', subject: 'A case study', body: 'Here is one' },
        { type: 'wait', hours: 70 },
        { id: 'last', type: 'email', body: 'Last note', thread: 'reply' },
      ],
      schedule: { days: [1, 2, 3, 4, 5], start: '09:00', end: '17:00' },
    } as never);

    // Thursday 25 March 2027, 11:00 in Berlin: Good Friday (26th) and Easter Monday (29th) are
    // holidays in DE, FR (Monday), GB; Europe moves its clocks on Sunday 28th.
    const start = '2027-03-25T10:00:00.000Z';
    const sim = await simulate(ws, sequenceId, { leadIds, start });
    expect(sim.statusCode, sim.body).toBe(200);
    const plan = sim.json<SimulateOutcome>();
    expect(plan.skipped).toEqual([]);

    vi.useFakeTimers({ toFake: ['Date'], now: new Date(start) });
    const enrolled = await enrollLeads(engine.app, ws, sequenceId, leadIds);
    vi.useRealTimers();
    expect(enrolled.enrolled).toHaveLength(10);
    const real = await runForReal(ws);

    const predicted = simulated(plan);
    for (const id of leadIds) expect({ id, steps: predicted.get(id) }).toEqual({ id, steps: real.get(id) });
    expect(plan.leads.every((l) => l.status === 'completed')).toBe(true);
    expect(plan.finishesAt).toBe(
      [...real.values()]
        .flat()
        .map((s) => s.at)
        .sort()
        .at(-1),
    );
    // The limits did cut, and the days say so. Which mailbox a cut is put on (the first the
    // round-robin would have tried) depends on the order of the lead ids, so only the kinds are fixed.
    expect(plan.bottlenecks.length).toBeGreaterThan(0);
    for (const b of plan.bottlenecks) expect(['daily_cap', 'warmup']).toContain(b.limit);
    expect(plan.bottlenecks[0]).toMatchObject({ date: '2027-03-25', cut: 3 });
    const totalDeferrals = [...real.values()].flat().reduce((n, s) => n + s.deferrals, 0);
    expect(totalDeferrals).toBeGreaterThan(0);
    for (const day of plan.days)
      for (const m of day.mailboxes)
        expect(m.planned + m.booked, `${day.date} ${m.mailboxId}`).toBeLessThanOrEqual(m.cap);
    const firstDay = plan.days[0];
    expect(firstDay?.mailboxes).toEqual(
      expect.arrayContaining([
        { mailboxId: capped.id, planned: 3, booked: 0, cap: 3 },
        { mailboxId: ramped.id, planned: 2, booked: 0, cap: 2 },
      ]),
    );
    expect(plan.summary).toMatch(/bottleneck/);
    // A step's local time is its UTC time in the lead's zone.
    const paris = plan.leads.find((l) => l.timezone === 'Europe/Paris');
    const step = paris?.steps[0];
    expect(step?.localAt).toMatch(/\+0[12]:00$/);
    expect(Date.parse(step?.localAt ?? '')).toBe(Date.parse(step?.at ?? ''));
  });

  it('starts from what the mailboxes already have booked', async () => {
    const ws = await createTestWorkspace(engine.app);
    const mailbox = await addMailbox(engine, ws, sink, { dailyLimit: 2 });
    const people = await insertLeads(engine.deps.db, ws.id, 3);
    const sequenceId = await createActiveSequence(engine.app, ws, {
      steps: [
        { type: 'email', subject: 'Hi', body: 'Hello' },
        { type: 'wait', days: 3 },
        { type: 'email', subject: 'Hi again', body: 'Hello again' },
      ],
    });
    // Real time: enroll one lead and let it send today.
    const first = await enrollLeads(engine.app, ws, sequenceId, [people[0]?.id ?? '']);
    await waitFor(
      async () => {
        const [row] = await engine.deps.db
          .select({ id: messages.id })
          .from(messages)
          .where(and(eq(messages.mailboxId, mailbox.id), eq(messages.status, 'sent')));
        return row;
      },
      { what: 'the first send' },
    );
    expect(first.enrolled).toHaveLength(1);
    const res = await simulate(ws, sequenceId, { leadIds: [people[1]?.id, people[2]?.id] });
    expect(res.statusCode, res.body).toBe(200);
    const plan = res.json<SimulateOutcome>();
    const today = plan.days[0];
    expect(today?.mailboxes).toEqual([{ mailboxId: mailbox.id, planned: 1, booked: 1, cap: 2 }]);
    // The first lead's follow-up, already scheduled, takes its slot three days on.
    const later = plan.days.find(
      (d) => d.mailboxes.some((m) => m.booked > 0 && m.planned > 0) && d !== today,
    );
    expect(later?.mailboxes).toEqual([{ mailboxId: mailbox.id, planned: 1, booked: 1, cap: 2 }]);
    expect(plan.bottlenecks).toEqual([
      expect.objectContaining({ mailboxId: mailbox.id, limit: 'daily_cap', cut: 1 }),
    ]);
    // The lead already enrolled would be skipped, as enrollment skips it.
    const again = await simulate(ws, sequenceId, { leadIds: [people[0]?.id] });
    expect(again.json<SimulateOutcome>().skipped).toEqual([
      { leadId: people[0]?.id, reason: 'already_enrolled' },
    ]);
  });

  it('follows the assumed rates deterministically from the seed, and writes nothing', async () => {
    const ws = await createTestWorkspace(engine.app);
    await addMailbox(engine, ws, sink, { dailyLimit: 1000 });
    const people = await insertLeads(engine.deps.db, ws.id, 200);
    const sequenceId = await createActiveSequence(engine.app, ws, {
      steps: [
        { type: 'email', subject: 'Hi', body: 'Hello' },
        { type: 'wait', days: 2 },
        { type: 'email', subject: 'Again', body: 'Hello again' },
      ],
    });
    const body = {
      sample: 200,
      seed: 'q2',
      start: '2027-01-04T10:00:00Z',
      assume: { replyRate: 0.2, bounceRate: 0.05 },
    };
    const a = (await simulate(ws, sequenceId, body)).json<SimulateOutcome>();
    const b = (await simulate(ws, sequenceId, body)).json<SimulateOutcome>();
    expect(a).toEqual(b);
    const count = (status: string) => a.leads.filter((l) => l.status === status).length;
    // Lead ids are random, so the draws are too: about 66 replies and 18 bounces are expected
    // (each email bounces 5%, else is answered 20%); the bounds sit 4–5 standard deviations out.
    expect(count('replied')).toBeGreaterThan(35);
    expect(count('replied')).toBeLessThan(100);
    expect(count('bounced')).toBeGreaterThan(2);
    expect(count('bounced')).toBeLessThan(40);
    expect(count('completed') + count('replied') + count('bounced')).toBe(people.length);
    const other = (await simulate(ws, sequenceId, { ...body, seed: 'q3' })).json<SimulateOutcome>();
    expect(other.leads.map((l) => l.status)).not.toEqual(a.leads.map((l) => l.status));
    const written = await engine.deps.db.execute<{ n: number }>(
      sql`select (select count(*) from enrollments where workspace_id = ${ws.id})::int
        + (select count(*) from messages where workspace_id = ${ws.id})::int as n`,
    );
    expect(written.rows[0]?.n).toBe(0);
  });

  it('refuses bad input with a code and the field', async () => {
    const ws = await createTestWorkspace(engine.app);
    const other = await createTestWorkspace(engine.app, 'Other');
    const [mine] = await insertLeads(engine.deps.db, ws.id, 1);
    const [theirs] = await insertLeads(engine.deps.db, other.id, 1);
    const sequenceId = await createActiveSequence(engine.app, ws, {
      steps: [{ type: 'email', subject: 'Hi', body: 'Hello' }],
    });
    const unknown = '00000000-0000-4000-8000-000000000000';
    type Err = { error: { code: string; details?: { path: string; leadId?: string }[] } };

    const missing = await simulate(ws, sequenceId, { leadIds: [mine?.id, unknown, theirs?.id] });
    expect(missing.statusCode).toBe(404);
    expect(missing.json<Err>().error.code).toBe('leads_not_found');
    expect(missing.json<Err>().error.details?.map((d) => [d.path, d.leadId])).toEqual([
      ['body.leadIds.1', unknown],
      ['body.leadIds.2', theirs?.id],
    ]);

    const version = await simulate(ws, sequenceId, { leadIds: [mine?.id], version: 7 });
    expect(version.statusCode).toBe(400);
    expect(version.json<Err>().error.details?.map((d) => d.path)).toEqual(['body.version']);

    const both = await simulate(ws, sequenceId, { leadIds: [mine?.id], sample: 3 });
    expect(both.statusCode).toBe(400);
    expect(both.json<Err>().error.details?.map((d) => d.path)).toEqual(['body']);

    const rate = await simulate(ws, sequenceId, { sample: 3, assume: { replyRate: 2 } });
    expect(rate.statusCode).toBe(400);
    expect(JSON.stringify(rate.json())).toContain('assume.replyRate');

    const noSequence = await simulate(ws, unknown, { sample: 1 });
    expect(noSequence.statusCode).toBe(404);
    const notMine = await simulate(other, sequenceId, { sample: 1 });
    expect(notMine.statusCode).toBe(404);
    // An archived sequence would enroll nobody: refused as enrollment refuses it.
    const archivedId = await createActiveSequence(engine.app, ws, {
      steps: [{ type: 'email', subject: 'Old', body: 'Old' }],
    });
    const archive = await engine.app.inject({
      method: 'POST',
      url: `/v1/sequences/${archivedId}/archive`,
      headers: ws.auth,
    });
    expect(archive.statusCode).toBe(200);
    const archived = await simulate(ws, archivedId, { leadIds: [mine?.id] });
    expect(archived.statusCode).toBe(409);
    expect(archived.json<Err>().error.code).toBe('sequence_archived');

    // 10,001 leads match the filter: over the documented bound.
    await engine.deps.db.execute(sql`
      insert into leads (workspace_id, email, email_key, stage)
      select ${ws.id}, 'bulk' || g || '@example.test', 'bulk' || g || '@example.test', 'bulk'
      from generate_series(1, 10001) g`);
    const over = await simulate(ws, sequenceId, { filter: { stage: 'bulk' } });
    expect(over.statusCode).toBe(400);
    expect(over.json<Err>().error.code).toBe('too_many_leads');
    expect(over.json<Err>().error.details?.map((d) => d.path)).toEqual(['body.filter']);
    const sampled = await simulate(ws, sequenceId, { sample: 50 });
    expect(sampled.statusCode, sampled.body).toBe(200);
    expect(sampled.json<SimulateOutcome>().leads).toHaveLength(50);
    // Without a mailbox a lead cannot go on, and says why.
    expect(sampled.json<SimulateOutcome>().leads[0]).toMatchObject({
      status: 'blocked',
      reason: 'no_mailbox',
    });
    // The bound itself goes through, answer and all: 10,000 leads.
    const mailbox = await addMailbox(engine, ws, sink, { dailyLimit: 20_000 });
    const most = await simulate(ws, sequenceId, { sample: 10_000, start: '2027-01-05T10:00:00Z' });
    expect(most.statusCode).toBe(200);
    const plan = most.json<SimulateOutcome>();
    expect(plan.leads).toHaveLength(10_000);
    expect(plan.leads.every((l) => l.status === 'completed')).toBe(true);
    expect(plan.days).toEqual([
      {
        date: '2027-01-05',
        planned: 10_000,
        mailboxes: [{ mailboxId: mailbox.id, planned: 10_000, booked: 0, cap: 20_000 }],
        accounts: [],
      },
    ]);
  });

  it('stops a lead whose step would run twice: a cycle cannot be saved, and is reported if met', async () => {
    const result = await simulatePlan({
      definition: {
        steps: [
          { id: 'a', type: 'task', title: 'Call', kind: 'call' },
          { id: 'b', type: 'goto', to: 'a' },
        ],
        settings: { stopOnReply: true } as never,
      },
      leads: [
        {
          id: 'lead-1',
          timezone: null,
          country: null,
          email: null,
          linkedinUrl: null,
          stage: 'lead',
          companyDomain: null,
        },
      ],
      start: new Date('2027-01-04T09:00:00Z'),
      seed: 's',
      assume: { replyRate: 0, connectRate: 1, bounceRate: 0, openRate: 0 },
      workspaceTimezone: 'UTC',
      workspaceCountry: null,
      mailboxes: [],
      accounts: [],
      booked: [],
    });
    expect(result.leads[0]).toMatchObject({ status: 'blocked', reason: 'cycle' });
    expect(result.leads[0]?.steps.map((s) => s.stepId)).toEqual(['a', 'b']);
  });

  it('stops the colleagues of a lead who replies when the sequence says stopCompanyOnReply', async () => {
    const lead = (id: string, companyDomain: string) => ({
      id,
      timezone: null,
      country: null,
      email: `${id}@${companyDomain}`,
      linkedinUrl: null,
      stage: 'lead',
      companyDomain,
    });
    const run = (stopCompanyOnReply: boolean) =>
      simulatePlan({
        definition: {
          steps: [
            { id: 'e1', type: 'email', subject: 'Hi', body: 'Hello', thread: 'new' },
            { id: 'e2', type: 'email', subject: 'Again', body: 'Hello again', thread: 'reply' },
          ],
          settings: { stopOnReply: true, stopCompanyOnReply } as never,
        },
        // Every first email is answered; the first emails go at the same instant, in lead id order.
        leads: [
          lead('a-1', 'acme.test'),
          lead('a-2', 'acme.test'),
          lead('b-1', 'other.test'),
          lead('g-1', 'gmail.com'),
          lead('g-2', 'gmail.com'),
        ],
        start: new Date('2027-01-04T09:00:00Z'),
        seed: 'company',
        assume: { replyRate: 1, connectRate: 1, bounceRate: 0, openRate: 0 },
        workspaceTimezone: 'UTC',
        workspaceCountry: null,
        mailboxes: [
          {
            id: 'm1',
            dailyLimit: 100,
            warmup: null,
            createdAt: new Date('2026-01-01T00:00:00Z'),
            lastSlotAt: null,
            minIntervalSeconds: 0,
            status: 'active',
            bookedToday: 0,
          },
        ],
        accounts: [],
        booked: [],
      });
    const outcome = (plan: SimResult) =>
      Object.fromEntries(plan.leads.map((l) => [l.leadId, [l.status, l.reason ?? null, l.steps.length]]));
    // a-1's reply stops a-2 before its email goes; Gmail is no company, so g-2 still gets its own.
    expect(outcome(await run(true))).toEqual({
      'a-1': ['replied', null, 1],
      'a-2': ['stopped', 'company_replied', 0],
      'b-1': ['replied', null, 1],
      'g-1': ['replied', null, 1],
      'g-2': ['replied', null, 1],
    });
    expect(outcome(await run(false))['a-2']).toEqual(['replied', null, 1]);
  });

  it('runs from the CLI: the same plan as JSON on stdout, refusals on stderr', async () => {
    const ws = await createTestWorkspace(engine.app);
    await addMailbox(engine, ws, sink, { dailyLimit: 2 });
    const people = await insertLeads(engine.deps.db, ws.id, 4);
    const sequenceId = await createActiveSequence(engine.app, ws, {
      steps: [
        { type: 'email', subject: 'Hi', body: 'Hello' },
        { type: 'wait', days: 1, businessDays: true },
        { type: 'email', subject: 'Again', body: 'Hello again' },
      ],
    });
    const ids = people.map((p) => p.id);
    const file = join(tmpdir(), `simulate-${sequenceId}.csv`);
    await writeFile(file, `id\n${ids.join('\n')}\n`);
    const start = '2027-06-04T08:00:00.000Z';
    const cli = await runCli(engine.config.DATABASE_URL, [
      'sequences:simulate',
      sequenceId,
      '--leads',
      file,
      '--start',
      start,
    ]);
    expect(cli.code, cli.stderr).toBe(0);
    const api = await simulate(ws, sequenceId, { leadIds: ids, start });
    expect(JSON.parse(cli.stdout)).toEqual(api.json());
    // Not a terminal: no chart on stderr. The chart a terminal gets: a line per day, then the summary.
    expect(cli.stderr).not.toContain('planned');
    const chart = renderChart(api.json<SimulateOutcome>()).split('\n');
    expect(chart[0]).toMatch(/^date +planned$/);
    expect(chart[1]).toMatch(/^2027-06-04 +█+ +2 cap 2 {2}\(2 put off\)$/);
    expect(chart).toContain(api.json<SimulateOutcome>().summary);
    const inline = await runCli(engine.config.DATABASE_URL, [
      'sequences:simulate',
      sequenceId,
      '--leads',
      `${ids[0]},00000000-0000-4000-8000-000000000000`,
    ]);
    expect(inline.code).toBe(1);
    expect(inline.stdout).toBe('');
    expect(inline.stderr).toContain('leads_not_found');
  });

  it('holds LinkedIn invitations to the rolling week, counting the account’s earlier ones', async () => {
    const ws = await createTestWorkspace(engine.app);
    const start = new Date('2027-05-03T08:00:00.000Z'); // a Monday
    const [account] = await engine.deps.db
      .insert(linkedinAccounts)
      .values({
        workspaceId: ws.id,
        name: 'Sam',
        sessionEnc: 'sealed',
        limits: { invitesPerWeek: 3, messagesPerDay: 50, visitsPerDay: 80 },
      })
      .returning();
    if (!account) throw new Error('no account');
    const earlier = new Date(start.getTime() - 2 * 86_400_000);
    await engine.deps.db
      .insert(linkedinActions)
      .values({ accountId: account.id, kind: 'invite', profileUrl: null, at: earlier });
    const people = await insertLeads(engine.deps.db, ws.id, 6, (i) => ({
      email: null,
      emailKey: null,
      linkedinUrl: `https://www.linkedin.com/in/sim-${i}-${ws.id.slice(0, 8)}`,
    }));
    const sequenceId = await createActiveSequence(engine.app, ws, {
      steps: [
        { id: 'invite', type: 'linkedin_invite' },
        { type: 'wait', days: 1 },
        { id: 'message', type: 'linkedin_message', body: 'Thanks for connecting' },
      ],
    });
    const res = await simulate(ws, sequenceId, {
      leadIds: people.map((p) => p.id),
      start: start.toISOString(),
      assume: { connectRate: 0.5 },
    });
    expect(res.statusCode, res.body).toBe(200);
    const plan = res.json<SimulateOutcome>();
    const invites = plan.leads
      .flatMap((l) => l.steps.filter((s) => s.stepId === 'invite').map((s) => Date.parse(s.at)))
      .sort((a, b) => a - b);
    expect(invites).toHaveLength(6);
    // Never more than 3 in any 7 days, the earlier invitation included.
    const all = [earlier.getTime(), ...invites];
    for (const t of all)
      expect(all.filter((u) => u > t - 7 * 86_400_000 && u <= t).length).toBeLessThanOrEqual(3);
    // Two fit at once; the third waits for the earlier invitation to leave the window.
    expect(invites.slice(0, 2)).toEqual([start.getTime(), start.getTime()]);
    expect(invites[2]).toBe(earlier.getTime() + 7 * 86_400_000);
    expect(plan.bottlenecks[0]).toMatchObject({
      date: '2027-05-03',
      accountId: account.id,
      limit: 'linkedin_invitations',
      cut: 4,
    });
    expect(plan.days[0]?.accounts).toEqual([{ accountId: account.id, visits: 0, invites: 2, messages: 0 }]);
    // A message to a lead that did not accept fails, as the driver reports it.
    const outcomes = async (connectRate: number) => {
      const again = await simulate(ws, sequenceId, {
        leadIds: people.map((p) => p.id),
        start: start.toISOString(),
        assume: { connectRate },
      });
      return again
        .json<SimulateOutcome>()
        .leads.map((l) => l.steps.find((s) => s.stepId === 'message'))
        .map((s) => `${s?.outcome}:${s?.reason ?? ''}`);
    };
    expect(new Set(await outcomes(1))).toEqual(new Set(['sent:']));
    expect(new Set(await outcomes(0))).toEqual(new Set(['failed:not_connected']));
    expect(plan.leads.every((l) => l.steps.every((s) => !s.accountId || s.accountId === account.id))).toBe(
      true,
    );
  });
});
