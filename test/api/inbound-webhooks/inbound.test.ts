import { randomBytes } from 'node:crypto';
import { and, eq, inArray } from 'drizzle-orm';
import { DateTime } from 'luxon';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enrollments, events, leads, messages, stepRuns, suppressions } from '../../../src/db/schema/index';
import { resumeEnrollments } from '../../../src/engine/pause';
import {
  createTestWorkspace,
  startTestEngine,
  type TestEngine,
  type TestWorkspace,
} from '../../helpers/engine';
import { allPages } from '../../helpers/pages';
import { insertLeads } from '../../helpers/factories';
import { enrolledLeads, signedPost } from './support';

type Result = {
  status: string;
  classification: string | null;
  leadId: string | null;
  messageId: string | null;
};

describe('inbound replies: matching and effects', () => {
  let engine: TestEngine;
  let ws: TestWorkspace;
  beforeAll(async () => {
    engine = await startTestEngine();
    ws = await createTestWorkspace(engine.app);
  });
  afterAll(() => engine.close());

  const db = () => engine.deps.db;
  const enrollmentOf = async (leadId: string) =>
    (await db().select().from(enrollments).where(eq(enrollments.leadId, leadId)))[0];
  const leadRow = async (leadId: string) => (await db().select().from(leads).where(eq(leads.id, leadId)))[0];
  const eventTypes = async (leadId: string) =>
    (await db().select({ type: events.type }).from(events).where(eq(events.leadId, leadId))).map(
      (e) => e.type,
    );

  it('matches on In-Reply-To even from another address, stops the cadence and applies onReply', async () => {
    const { leads: [lead] = [] } = await enrolledLeads(engine, ws, {
      count: 1,
      settings: { onReply: { stage: 'proposal' } },
    });
    if (!lead) throw new Error('no lead');
    const res = await signedPost(engine, ws, 'email', {
      from: 'Assistant <assistant@elsewhere.test>',
      to: 'sales@sender.test',
      subject: 'Re: Quick question',
      text: 'Jane asked me to set up a call.',
      inReplyTo: lead.messageId.slice(1, -1), // providers sometimes drop the brackets
    });
    expect(res.json<Result>()).toMatchObject({ status: 'matched', classification: 'human', leadId: lead.id });
    const enrollment = await enrollmentOf(lead.id);
    expect(enrollment).toMatchObject({ status: 'replied', nextRunAt: null });
    const runs = await db()
      .select()
      .from(stepRuns)
      .where(eq(stepRuns.enrollmentId, enrollment?.id ?? ''));
    expect(runs.filter((r) => r.status === 'scheduled')).toEqual([]);
    expect((await leadRow(lead.id))?.stage).toBe('proposal');
    expect(await eventTypes(lead.id)).toEqual(
      expect.arrayContaining(['lead.replied', 'enrollment.stopped', 'lead.stage_changed']),
    );
    const timeline = await engine.app.inject({
      method: 'GET',
      url: `/v1/leads/${lead.id}/timeline`,
      headers: ws.auth,
    });
    expect(JSON.stringify(timeline.json())).toContain('Jane asked me to set up a call.');
  });

  it('matches on References alone, and on the sender address alone (any case), moving lead → contacted', async () => {
    const { leads: pair } = await enrolledLeads(engine, ws, { count: 2 });
    const [a, b] = pair;
    if (!a || !b) throw new Error('no leads');
    const byRefs = await signedPost(engine, ws, 'email', {
      from: 'someone@else.test',
      references: `<unknown@x.test> ${a.messageId}`,
      text: 'Interested.',
    });
    expect(byRefs.json<Result>().leadId).toBe(a.id);
    const byAddress = await signedPost(engine, ws, 'email', {
      from: `B Lead <${b.email.toUpperCase()}>`,
      text: 'Yes!',
    });
    expect(byAddress.json<Result>().leadId).toBe(b.id);
    for (const lead of [a, b]) {
      expect((await enrollmentOf(lead.id))?.status).toBe('replied');
      expect((await leadRow(lead.id))?.stage).toBe('contacted');
    }
  });

  it('records a reply from a lead with no enrollment, and leaves a later stage alone', async () => {
    const [lead] = await insertLeads(db(), ws.id, 1, () => ({ stage: 'proposal' }));
    const res = await signedPost(engine, ws, 'email', { from: lead?.email, text: 'Checking in.' });
    expect(res.json<Result>()).toMatchObject({ status: 'matched', leadId: lead?.id });
    expect(await eventTypes(lead?.id ?? '')).toEqual(['lead.replied']);
    expect((await leadRow(lead?.id ?? ''))?.stage).toBe('proposal');
  });

  it('stops colleagues on the same company domain when the sequence says so (never on free mail)', async () => {
    const domain = `acme-${Date.now()}.test`;
    const { leads: team } = await enrolledLeads(engine, ws, {
      count: 3,
      settings: { stopCompanyOnReply: true },
      lead: (i) => ({ email: `p${i}@${domain}`, emailKey: `p${i}@${domain}`, companyDomain: domain }),
    });
    const { leads: gmail } = await enrolledLeads(engine, ws, {
      count: 2,
      settings: { stopCompanyOnReply: true },
      lead: (i) => ({
        email: `g${i}.${domain}@gmail.com`,
        emailKey: `g${i}.${domain}@gmail.com`,
        companyDomain: 'gmail.com',
      }),
    });
    await signedPost(engine, ws, 'email', { from: team[0]?.email, text: 'Talk to me, not my colleagues.' });
    await signedPost(engine, ws, 'email', { from: gmail[0]?.email, text: 'Sure.' });
    const statuses = async (ids: string[]) =>
      (await db().select().from(enrollments).where(inArray(enrollments.leadId, ids))).map((e) => [
        e.status,
        e.reason,
      ]);
    expect(await statuses(team.slice(1).map((l) => l.id))).toEqual([
      ['stopped', 'company_replied'],
      ['stopped', 'company_replied'],
    ]);
    expect(await statuses([gmail[1]?.id ?? ''])).toEqual([['active', null]]);
  });

  it('pauses on an out-of-office until the return date at 09:00 lead time, and resumes after', async () => {
    const { leads: [lead] = [] } = await enrolledLeads(engine, ws, {
      count: 1,
      lead: () => ({ timezone: 'Europe/Paris' }),
    });
    if (!lead) throw new Error('no lead');
    const back = new Date(Date.now() + 10 * 86_400_000);
    const day = back.getUTCDate();
    const month = back.toLocaleString('en-US', { month: 'long', timeZone: 'UTC' });
    const res = await signedPost(engine, ws, 'email', {
      from: lead.email,
      subject: 'Automatic reply: Quick question',
      headers: { 'Auto-Submitted': 'auto-replied' },
      text: `I am out of the office and will be back on ${day} ${month}.`,
      inReplyTo: lead.messageId,
    });
    expect(res.json<Result>().classification).toBe('auto_reply');
    const paused = await enrollmentOf(lead.id);
    expect(paused).toMatchObject({ status: 'paused', reason: 'out_of_office' });
    const local = DateTime.fromJSDate(paused?.resumeAt ?? new Date(0), { zone: 'Europe/Paris' });
    expect({ day: local.day, hour: local.hour, minute: local.minute }).toEqual({ day, hour: 9, minute: 0 });
    expect(await eventTypes(lead.id)).not.toContain('lead.replied');
    // The maintenance loop resumes enrollments whose resume time has come; here that time is "later".
    const resumed = await resumeEnrollments(engine.deps, {
      workspaceId: ws.id,
      dueBy: new Date((paused?.resumeAt?.getTime() ?? 0) + 1000),
    });
    expect(resumed).toContain(paused?.id);
    expect((await enrollmentOf(lead.id))?.status).toBe('active');
  });

  it('pauses for 7 days when the out-of-office names no date', async () => {
    const { leads: [lead] = [] } = await enrolledLeads(engine, ws, { count: 1 });
    const before = Date.now();
    await signedPost(engine, ws, 'email', {
      from: lead?.email,
      subject: 'Out of Office',
      headers: { 'X-Autoreply': 'yes' },
      text: 'Away.',
    });
    const resumeAt = (await enrollmentOf(lead?.id ?? ''))?.resumeAt?.getTime() ?? 0;
    expect(resumeAt - before).toBeGreaterThanOrEqual(7 * 86_400_000 - 60_000);
    expect(resumeAt - before).toBeLessThanOrEqual(7 * 86_400_000 + 60_000);
  });

  it('bounces the lead on a raw DSN, matched through the quoted original Message-ID', async () => {
    const { leads: [lead] = [] } = await enrolledLeads(engine, ws, { count: 1 });
    if (!lead) throw new Error('no lead');
    const dsn = [
      'From: Mail Delivery System <MAILER-DAEMON@mx.example.net>',
      'To: sales@sender.test',
      'Subject: Undelivered Mail Returned to Sender',
      `Message-ID: <dsn-${lead.id}@mx.example.net>`,
      'MIME-Version: 1.0',
      'Content-Type: multipart/report; report-type=delivery-status; boundary="B"',
      '',
      '--B',
      'Content-Type: text/plain',
      '',
      'Your message could not be delivered.',
      '--B',
      'Content-Type: message/delivery-status',
      '',
      'Reporting-MTA: dns; mx.example.net',
      '',
      'Final-Recipient: rfc822; moved-away@nowhere.test',
      'Action: failed',
      'Status: 5.1.1',
      '--B',
      'Content-Type: text/rfc822-headers',
      '',
      'From: sales@sender.test',
      `Message-ID: ${lead.messageId}`,
      '--B--',
      '',
    ].join('\r\n');
    const res = await signedPost(engine, ws, 'email/raw', dsn);
    expect(res.json<Result>()).toMatchObject({
      status: 'matched',
      classification: 'bounce',
      leadId: lead.id,
    });
    expect((await leadRow(lead.id))?.status).toBe('bounced');
    expect((await enrollmentOf(lead.id))?.status).toBe('bounced');
    const suppressed = await db()
      .select()
      .from(suppressions)
      .where(and(eq(suppressions.workspaceId, ws.id), eq(suppressions.value, lead.email)));
    expect(suppressed).toHaveLength(1);
  });

  it('unsubscribes a lead who asks to be removed', async () => {
    const { leads: [lead] = [] } = await enrolledLeads(engine, ws, { count: 1 });
    const res = await signedPost(engine, ws, 'email', {
      from: lead?.email,
      subject: 'Re: Quick question',
      text: 'Please remove me from your list.',
    });
    expect(res.json<Result>().classification).toBe('unsubscribe');
    expect((await leadRow(lead?.id ?? ''))?.status).toBe('unsubscribed');
    expect((await enrollmentOf(lead?.id ?? ''))?.status).toBe('unsubscribed');
  });

  it('stores unmatched mail and lists it under ?status=unmatched, never dropping it', async () => {
    const res = await signedPost(engine, ws, 'email', {
      from: 'stranger@unknown.test',
      subject: 'Hello?',
      text: 'Who is this?',
    });
    expect(res.json<Result>()).toMatchObject({ status: 'unmatched', leadId: null });
    const list = await engine.app.inject({
      method: 'GET',
      url: '/v1/inbound?status=unmatched',
      headers: ws.auth,
    });
    expect(list.statusCode).toBe(200);
    const found = list.json<{ data: { id: string; from: string; subject: string; status: string }[] }>().data;
    expect(found).toContainEqual(
      expect.objectContaining({
        id: res.json<Result>().messageId,
        from: 'stranger@unknown.test',
        subject: 'Hello?',
        status: 'unmatched',
      }),
    );
    const matched = await engine.app.inject({
      method: 'GET',
      url: '/v1/inbound?status=matched&limit=500',
      headers: ws.auth,
    });
    expect(matched.json<{ data: { id: string }[] }>().data.map((m) => m.id)).not.toContain(
      res.json<Result>().messageId,
    );
    const other = await createTestWorkspace(engine.app, 'Other');
    const theirs = await engine.app.inject({ method: 'GET', url: '/v1/inbound', headers: other.auth });
    expect(theirs.json()).toEqual({ data: [], nextCursor: null });
  });

  it('keeps an email whose Message-ID is too long to be one, without that Message-ID', async () => {
    // Random, so it does not compress: 3,000 bytes could not be indexed, and the insert would fail.
    const longId = `<${randomBytes(2250).toString('base64url')}@junk.test>`;
    const res = await signedPost(engine, ws, 'email', {
      from: 'stranger@unknown.test',
      subject: 'Long id',
      text: 'Hello',
      headers: { 'message-id': longId },
    });
    expect(res.statusCode).toBe(200);
    const [stored] = await db()
      .select()
      .from(messages)
      .where(eq(messages.id, res.json<Result>().messageId ?? ''));
    expect(stored).toMatchObject({ subject: 'Long id', messageId: null });
    expect(stored?.headers?.['message-id']).toBe(longId);
  });

  it('pages through inbound messages without skipping or repeating', async () => {
    const fresh = await createTestWorkspace(engine.app, 'Paging');
    for (let i = 0; i < 5; i++)
      await signedPost(engine, fresh, 'email', { from: `x${i}@unknown.test`, text: `n${i}` });
    const seen = (await allPages<{ id: string }>(engine.app, fresh.auth, '/v1/inbound?limit=2')).map(
      (m) => m.id,
    );
    expect(seen).toHaveLength(5);
    expect(new Set(seen).size).toBe(5);
  });

  it('matches LinkedIn events on the normalised profile URL; an acceptance is recorded once', async () => {
    const slug = `li-${Date.now()}`;
    const { leads: [lead] = [] } = await enrolledLeads(engine, ws, {
      count: 1,
      lead: () => ({ linkedinUrl: `https://www.linkedin.com/in/${slug}` }),
    });
    if (!lead) throw new Error('no lead');
    const variant = `https://linkedin.com/in/${slug.toUpperCase()}/?trk=abc`;
    for (let i = 0; i < 2; i++) {
      const accepted = await signedPost(engine, ws, 'linkedin', {
        type: 'invite_accepted',
        linkedinUrl: variant,
      });
      expect(accepted.json<Result>()).toMatchObject({
        status: 'matched',
        classification: 'invite_accepted',
        leadId: lead.id,
      });
    }
    expect((await eventTypes(lead.id)).filter((t) => t === 'linkedin.invite_accepted')).toHaveLength(1);
    const reply = await signedPost(engine, ws, 'linkedin', {
      type: 'reply',
      linkedinUrl: variant,
      text: 'Happy to chat',
    });
    expect(reply.json<Result>()).toMatchObject({
      status: 'matched',
      classification: 'human',
      leadId: lead.id,
    });
    expect((await enrollmentOf(lead.id))?.status).toBe('replied');
    const [stored] = await db()
      .select()
      .from(messages)
      .where(eq(messages.id, reply.json<Result>().messageId ?? ''));
    expect(stored).toMatchObject({ channel: 'linkedin', direction: 'inbound', bodyText: 'Happy to chat' });
    const stranger = await signedPost(engine, ws, 'linkedin', {
      type: 'reply',
      linkedinUrl: 'https://www.linkedin.com/in/nobody-known',
      text: 'hi',
    });
    expect(stranger.json<Result>().status).toBe('unmatched');
    const bad = await signedPost(engine, ws, 'linkedin', {
      type: 'reply',
      linkedinUrl: 'https://example.com/in/x',
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.details[0].path).toBe('body.linkedinUrl');
  });

  it('POST /v1/replies marks a reply by email or lead id; 404 for nobody, 400 without either', async () => {
    const { leads: pair } = await enrolledLeads(engine, ws, { count: 2 });
    const post = (payload: object) =>
      engine.app.inject({ method: 'POST', url: '/v1/replies', headers: ws.auth, payload });
    const byEmail = await post({
      email: pair[0]?.email.toUpperCase(),
      channel: 'email',
      text: 'Replied in our CRM',
    });
    expect(byEmail.statusCode).toBe(200);
    expect(byEmail.json()).toMatchObject({ leadId: pair[0]?.id, stage: 'contacted' });
    expect(byEmail.json().stoppedEnrollmentIds).toHaveLength(1);
    const byId = await post({ leadId: pair[1]?.id, channel: 'linkedin' });
    expect(byId.json().leadId).toBe(pair[1]?.id);
    expect((await enrollmentOf(pair[1]?.id ?? ''))?.status).toBe('replied');
    expect((await post({ email: 'nobody@nowhere.test', channel: 'email' })).statusCode).toBe(404);
    const neither = await post({ channel: 'email' });
    expect(neither.statusCode).toBe(400);
    expect(neither.json().error.details[0].path).toBe('body.leadId');
    const noKey = await engine.app.inject({
      method: 'POST',
      url: '/v1/replies',
      payload: { leadId: pair[0]?.id, channel: 'email' },
    });
    expect(noKey.statusCode).toBe(401);
  });
});
