import { and, eq } from 'drizzle-orm';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isConnected } from '../../../src/channels/linkedin/connection';
import {
  enrollments,
  events,
  linkedinAccounts,
  linkedinActions,
  messages,
} from '../../../src/db/schema/index';
import type { Channel, ChannelResult } from '../../../src/engine/channel';
import type { SequenceDefinitionInput } from '../../../src/core/sequences';
import { createTestWorkspace, type TestEngine, type TestWorkspace } from '../../helpers/engine';
import type { LinkedInSite } from '../../fixtures/linkedin-site/site';
import {
  applyEnrollmentPatch,
  claimedContext,
  nextStepContext,
  storeSequence,
} from '../../helpers/step-context';
import { addAccount, startLinkedInChannelTest } from './support';

const DAY = 24 * 3600 * 1000;

describe('LinkedIn channel: real Chromium against the fixture, real Postgres', () => {
  let site: LinkedInSite;
  let engine: TestEngine;
  let channel: Channel;
  let close: () => Promise<void>;
  beforeAll(async () => {
    ({ site, engine, channel, close } = await startLinkedInChannelTest());
  });
  afterAll(() => close());

  let n = 0;
  /** A fresh fixture profile and a claimed run of `step` for a lead pointing at it. */
  const prepare = async (
    ws: TestWorkspace,
    steps: SequenceDefinitionInput['steps'],
    profile: Parameters<LinkedInSite['addProfile']>[1] = {},
  ) => {
    n += 1;
    const slug = `lead-${n}-${Math.random().toString(36).slice(2, 6)}`;
    const linkedinUrl = site.addProfile(slug, profile);
    const seq = await storeSequence(engine, ws.id, { steps });
    const ctx = await claimedContext(engine, ws.id, seq, {
      lead: { linkedinUrl, firstName: 'Ada', company: 'Engines Ltd' },
    });
    return { slug, ctx };
  };
  const accountRow = async (id: string) => {
    const [row] = await engine.deps.db.select().from(linkedinAccounts).where(eq(linkedinAccounts.id, id));
    return row;
  };
  const eventsOf = (workspaceId: string, type: string) =>
    engine.deps.db
      .select()
      .from(events)
      .where(and(eq(events.workspaceId, workspaceId), eq(events.type, type)));

  it('visits, invites with a rendered note, then messages, from the account it assigned', async () => {
    const ws = await createTestWorkspace(engine.app);
    const account = await addAccount(engine, ws, site);
    const { slug, ctx } = await prepare(ws, [
      { type: 'linkedin_visit' },
      { type: 'linkedin_invite', note: 'Hi {{ firstName }}, fellow fan of {{ company }}?' },
      { type: 'linkedin_message', body: 'Thanks for connecting, {{ firstName }}!' },
    ]);
    const visited = await channel.send(ctx);
    expect(visited).toEqual({
      kind: 'sent',
      data: { connection: 'none' },
      enrollmentPatch: { linkedinAccountId: account.id },
    });
    await applyEnrollmentPatch(engine, ctx, visited);
    expect(site.received.visits).toContain(slug);

    const invite = await nextStepContext(engine, ctx, 1);
    expect(await channel.send(invite)).toMatchObject({ kind: 'sent', data: { invited: true } });
    expect(site.received.invites.filter((i) => i.slug === slug).map((i) => i.note)).toEqual([
      'Hi Ada, fellow fan of Engines Ltd?',
    ]);

    site.markConnected(slug);
    const message = await nextStepContext(engine, ctx, 2);
    const sent = await channel.send(message);
    expect(sent).toMatchObject({ kind: 'sent' });
    expect(site.received.messages.filter((m) => m.slug === slug).map((m) => m.text)).toEqual([
      'Thanks for connecting, Ada!',
    ]);
    const stored = await engine.deps.db.select().from(messages).where(eq(messages.stepRunId, message.run.id));
    expect(stored).toEqual([
      expect.objectContaining({
        direction: 'outbound',
        channel: 'linkedin',
        bodyText: 'Thanks for connecting, Ada!',
      }),
    ]);
    const actions = await engine.deps.db
      .select()
      .from(linkedinActions)
      .where(eq(linkedinActions.accountId, account.id));
    expect(actions.map((a) => a.kind).sort()).toEqual(['invite', 'message', 'visit']);
  });

  it('defers the 3rd invitation under a limit of 2 a week: not sent, not failed, due when a slot frees', async () => {
    const ws = await createTestWorkspace(engine.app);
    await addAccount(engine, ws, site, { limits: { invitesPerWeek: 2 } });
    const results: ChannelResult[] = [];
    const slugs: string[] = [];
    for (let i = 0; i < 3; i++) {
      const { slug, ctx } = await prepare(ws, [{ type: 'linkedin_invite', note: 'Hello {{ firstName }}' }]);
      slugs.push(slug);
      results.push(await channel.send(ctx));
    }
    expect(results.slice(0, 2).map((r) => r.kind)).toEqual(['sent', 'sent']);
    const third = results[2];
    expect(third).toMatchObject({ kind: 'retry_later', reason: 'limit' });
    const firstAt = site.received.invites.find((i) => i.slug === slugs[0])?.at ?? new Date();
    if (third?.kind !== 'retry_later') throw new Error('expected a deferral');
    // The slot frees when the first invitation leaves the 7-day window.
    expect(Math.abs(third.at.getTime() - (firstAt.getTime() + 7 * DAY))).toBeLessThan(60_000);
    expect(site.received.invites.some((i) => i.slug === slugs[2])).toBe(false);
  });

  it('defers invitations when LinkedIn shows its weekly limit, without reopening profiles to see it again', async () => {
    const ws = await createTestWorkspace(engine.app);
    const account = await addAccount(engine, ws, site);
    const first = await prepare(ws, [{ type: 'linkedin_invite' }]);
    site.weeklyLimit = true;
    try {
      expect(await channel.send(first.ctx)).toMatchObject({ kind: 'retry_later', reason: 'limit' });
    } finally {
      site.weeklyLimit = false;
    }
    expect(await eventsOf(ws.id, 'linkedin.invite_limit_reached')).toEqual([
      expect.objectContaining({ data: expect.objectContaining({ accountId: account.id }) }),
    ]);
    const second = await prepare(ws, [{ type: 'linkedin_invite' }]);
    const result = await channel.send(second.ctx);
    expect(result).toMatchObject({ kind: 'retry_later', reason: 'limit' });
    expect(site.received.profileViews).not.toContain(second.slug);
    expect(site.received.invites.some((i) => [first.slug, second.slug].includes(i.slug))).toBe(false);
  });

  it('a checkpoint challenges the account once, and every step for it waits', async () => {
    const ws = await createTestWorkspace(engine.app);
    const account = await addAccount(engine, ws, site);
    const first = await prepare(ws, [{ type: 'linkedin_visit' }]);
    site.checkpoint = true;
    try {
      expect(await channel.send(first.ctx)).toMatchObject({
        kind: 'retry_later',
        reason: 'account_challenged',
      });
    } finally {
      site.checkpoint = false;
    }
    expect(await accountRow(account.id)).toMatchObject({ status: 'challenged', statusReason: 'checkpoint' });
    expect(await eventsOf(ws.id, 'linkedin.account_challenged')).toHaveLength(1);
    const views = site.received.profileViews.length;
    // A lead whose earlier steps ran from this account waits for it; a new lead finds no usable account.
    const second = await prepare(ws, [{ type: 'linkedin_invite' }]);
    const assigned = {
      ...second.ctx,
      enrollment: { ...second.ctx.enrollment, linkedinAccountId: account.id },
    };
    expect(await channel.send(assigned)).toMatchObject({ kind: 'retry_later', reason: 'account_challenged' });
    expect(await channel.send(second.ctx)).toMatchObject({
      kind: 'retry_later',
      reason: 'no_linkedin_account',
    });
    expect(site.received.profileViews).toHaveLength(views);
    // The person clears the checkpoint and resumes the account: steps run again.
    await engine.app.inject({
      method: 'PATCH',
      url: `/v1/linkedin-accounts/${account.id}`,
      headers: ws.auth,
      payload: { status: 'active' },
    });
    expect(await channel.send(assigned)).toMatchObject({ kind: 'sent' });
  });

  it('a login wall (expired li_at) challenges the account', async () => {
    const ws = await createTestWorkspace(engine.app);
    const account = await addAccount(engine, ws, site, { liAt: 'an-expired-session-cookie' });
    const { ctx } = await prepare(ws, [{ type: 'linkedin_visit' }]);
    expect(await channel.send(ctx)).toMatchObject({ kind: 'retry_later', reason: 'account_challenged' });
    expect(await accountRow(account.id)).toMatchObject({ status: 'challenged', statusReason: 'login_wall' });
  });

  it('fails the step for good when the profile does not exist', async () => {
    const ws = await createTestWorkspace(engine.app);
    await addAccount(engine, ws, site);
    const seq = await storeSequence(engine, ws.id, { steps: [{ type: 'linkedin_visit' }] });
    const ctx = await claimedContext(engine, ws.id, seq, {
      lead: { linkedinUrl: 'https://www.linkedin.com/in/gone-for-good' },
    });
    expect(await channel.send(ctx)).toEqual({ kind: 'failed', reason: 'profile_not_found' });
  });

  it('counts an invitation to a connection as done, and records the connection', async () => {
    const ws = await createTestWorkspace(engine.app);
    await addAccount(engine, ws, site);
    const { slug, ctx } = await prepare(ws, [{ type: 'linkedin_invite', note: 'hi' }], {
      connection: 'connected',
    });
    expect(await channel.send(ctx)).toMatchObject({ kind: 'sent', data: { alreadyConnected: true } });
    expect(site.received.invites.some((i) => i.slug === slug)).toBe(false);
    expect(await isConnected(engine.deps.db, ws.id, ctx.lead.id)).toBe(true);
  });

  it('ends an invitation LinkedIn refuses its own way: email required, the note quota per the account', async () => {
    const ws = await createTestWorkspace(engine.app);
    const account = await addAccount(engine, ws, site);
    const withNote = [{ type: 'linkedin_invite' as const, note: 'Hi {{ firstName }}' }];
    const email = await prepare(ws, withNote, { emailRequired: true });
    expect(await channel.send(email.ctx)).toEqual({ kind: 'failed', reason: 'email_required' });
    site.noteQuotaExhausted = true;
    try {
      const failing = await prepare(ws, withNote);
      expect(await channel.send(failing.ctx)).toEqual({ kind: 'failed', reason: 'note_quota_exhausted' });
      await engine.app.inject({
        method: 'PATCH',
        url: `/v1/linkedin-accounts/${account.id}`,
        headers: ws.auth,
        payload: { whenNoteQuotaExhausted: 'send_without_note' },
      });
      const plain = await prepare(ws, withNote);
      expect(await channel.send(plain.ctx)).toMatchObject({
        kind: 'sent',
        data: { invited: true, note: null, noteDropped: 'note_quota_exhausted' },
      });
      expect(site.received.invites.filter((i) => i.slug === plain.slug)).toEqual([
        expect.objectContaining({ note: null }),
      ]);
      expect(site.received.invites.some((i) => [email.slug, failing.slug].includes(i.slug))).toBe(false);
    } finally {
      site.noteQuotaExhausted = false;
    }
  });

  it('the "Welcome back" chooser challenges the account; a German account’s browser asks in German', async () => {
    const ws = await createTestWorkspace(engine.app);
    const stale = await addAccount(engine, ws, site, { liAt: 'an-expired-session-cookie' });
    const { ctx } = await prepare(ws, [{ type: 'linkedin_visit' }]);
    site.accountChooser = true;
    try {
      expect(await channel.send(ctx)).toMatchObject({ kind: 'retry_later', reason: 'account_challenged' });
    } finally {
      site.accountChooser = false;
    }
    expect(await accountRow(stale.id)).toMatchObject({
      status: 'challenged',
      statusReason: 'account_chooser',
    });
    const german = await addAccount(engine, ws, site, {
      liAt: site.addMember('de', 'berlin-desk'),
      locale: 'de-DE',
    });
    const visit = await prepare(ws, [{ type: 'linkedin_visit' }]);
    expect(await channel.send(visit.ctx)).toMatchObject({
      kind: 'sent',
      enrollmentPatch: { linkedinAccountId: german.id },
    });
    const asked = site.received.acceptLanguage.filter((a) => a.member === 'berlin-desk');
    expect(asked.length).toBeGreaterThan(0);
    for (const a of asked) expect(a.value.startsWith('de-DE')).toBe(true);
  });

  it('waits when there is no usable account: none, paused, or outside working hours', async () => {
    const ws = await createTestWorkspace(engine.app);
    const { ctx } = await prepare(ws, [{ type: 'linkedin_visit' }]);
    expect(await channel.send(ctx)).toMatchObject({ kind: 'retry_later', reason: 'no_linkedin_account' });
    const account = await addAccount(engine, ws, site);
    await engine.app.inject({
      method: 'PATCH',
      url: `/v1/linkedin-accounts/${account.id}`,
      headers: ws.auth,
      payload: { status: 'paused' },
    });
    expect(await channel.send(ctx)).toMatchObject({ kind: 'retry_later', reason: 'no_linkedin_account' });
    await engine.deps.db
      .update(enrollments)
      .set({ linkedinAccountId: account.id })
      .where(eq(enrollments.id, ctx.enrollment.id));
    const assigned = { ...ctx, enrollment: { ...ctx.enrollment, linkedinAccountId: account.id } };
    expect(await channel.send(assigned)).toMatchObject({ kind: 'retry_later', reason: 'account_paused' });
    const tomorrow = (new Date().getUTCDay() + 1) % 7 || 7;
    await engine.app.inject({
      method: 'PATCH',
      url: `/v1/linkedin-accounts/${account.id}`,
      headers: ws.auth,
      payload: {
        status: 'active',
        workingHours: { timezone: 'UTC', days: [tomorrow], start: '00:00', end: '23:59' },
      },
    });
    const outside = await channel.send(assigned);
    expect(outside).toMatchObject({ kind: 'retry_later', reason: 'working_hours' });
    expect(outside.kind === 'retry_later' && outside.at.getTime()).toBeGreaterThan(Date.now());
  });

  it('answers busy while another process holds the account lock, and sends nothing', async () => {
    const ws = await createTestWorkspace(engine.app);
    const account = await addAccount(engine, ws, site);
    const { slug, ctx } = await prepare(ws, [{ type: 'linkedin_visit' }]);
    const other = new pg.Client({ connectionString: engine.config.DATABASE_URL });
    await other.connect();
    try {
      await other.query('select pg_advisory_lock(hashtextextended($1, 0))', [
        `linkedin_account:${account.id}`,
      ]);
      expect(await channel.send(ctx)).toMatchObject({ kind: 'retry_later', reason: 'account_busy' });
      expect(site.received.profileViews).not.toContain(slug);
    } finally {
      await other.end();
    }
    expect(await channel.send(ctx)).toMatchObject({ kind: 'sent' });
  });
});
