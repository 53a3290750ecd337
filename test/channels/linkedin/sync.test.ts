import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isConnected } from '../../../src/channels/linkedin/connection';
import { syncAccount } from '../../../src/channels/linkedin/sync';
import { enrollments, events, leads, linkedinAccounts, messages } from '../../../src/db/schema/index';
import type { Channel, StepContext } from '../../../src/engine/channel';
import { createTestWorkspace, type TestEngine, type TestWorkspace } from '../../helpers/engine';
import type { LinkedInSite } from '../../fixtures/linkedin-site/site';
import { claimedContext, storeSequence } from '../../helpers/step-context';
import { addAccount, startLinkedInChannelTest } from './support';

describe('LinkedIn sync: accepted invitations and inbox replies', () => {
  let site: LinkedInSite;
  let engine: TestEngine;
  let channel: Channel;
  let close: () => Promise<void>;
  beforeAll(async () => {
    ({ site, engine, channel, close } = await startLinkedInChannelTest());
  });
  afterAll(() => close());

  const account = async (id: string) => {
    const [row] = await engine.deps.db.select().from(linkedinAccounts).where(eq(linkedinAccounts.id, id));
    if (!row) throw new Error('account missing');
    return row;
  };
  /** Invites `count` fresh fixture profiles through the channel, as the invite step would. */
  const invite = async (ws: TestWorkspace, count: number) => {
    const seq = await storeSequence(engine, ws.id, { steps: [{ type: 'linkedin_invite' }] });
    const invited: { slug: string; ctx: StepContext }[] = [];
    for (let i = 0; i < count; i++) {
      const slug = `sync-${Math.random().toString(36).slice(2, 10)}`;
      const ctx = await claimedContext(engine, ws.id, seq, { lead: { linkedinUrl: site.addProfile(slug) } });
      expect(await channel.send(ctx)).toMatchObject({ kind: 'sent', data: { invited: true } });
      invited.push({ slug, ctx });
    }
    return invited;
  };
  const acceptances = (workspaceId: string) =>
    engine.deps.db
      .select()
      .from(events)
      .where(and(eq(events.workspaceId, workspaceId), eq(events.type, 'linkedin.invite_accepted')));

  it('emits linkedin.invite_accepted for accepted invitations only, once', async () => {
    const ws = await createTestWorkspace(engine.app);
    const { id } = await addAccount(engine, ws, site);
    const [a, b] = await invite(ws, 2);
    if (!a || !b) throw new Error('invites missing');
    site.markConnected(a.slug);
    await syncAccount(engine.deps, await account(id));
    await syncAccount(engine.deps, await account(id));
    expect((await acceptances(ws.id)).map((e) => e.leadId)).toEqual([a.ctx.lead.id]);
    expect(await isConnected(engine.deps.db, ws.id, a.ctx.lead.id)).toBe(true);
    expect(await isConnected(engine.deps.db, ws.id, b.ctx.lead.id)).toBe(false);
  });

  it('checks a pending profile directly when the connections list does not show it', async () => {
    const ws = await createTestWorkspace(engine.app);
    const { id } = await addAccount(engine, ws, site);
    const [a] = await invite(ws, 1);
    if (!a) throw new Error('invite missing');
    site.markConnected(a.slug);
    site.connectionsPageSize = 0;
    try {
      await syncAccount(engine.deps, await account(id));
    } finally {
      site.connectionsPageSize = 40;
    }
    expect((await acceptances(ws.id)).map((e) => e.leadId)).toEqual([a.ctx.lead.id]);
  });

  it('sends inbox replies down the reply pipeline once: stored, lead replied, enrollment stopped', async () => {
    const ws = await createTestWorkspace(engine.app);
    const { id } = await addAccount(engine, ws, site);
    const [a] = await invite(ws, 1);
    if (!a) throw new Error('invite missing');
    site.markConnected(a.slug);
    site.receiveMessage(a.slug, 'Happy to chat next week.');
    await syncAccount(engine.deps, await account(id));
    const inbound = await engine.deps.db
      .select()
      .from(messages)
      .where(and(eq(messages.leadId, a.ctx.lead.id), eq(messages.direction, 'inbound')));
    expect(inbound).toEqual([
      expect.objectContaining({
        channel: 'linkedin',
        bodyText: 'Happy to chat next week.',
        status: 'matched',
      }),
    ]);
    const [enrollment] = await engine.deps.db
      .select()
      .from(enrollments)
      .where(eq(enrollments.id, a.ctx.enrollment.id));
    expect(enrollment?.status).toBe('replied');
    const [lead] = await engine.deps.db.select().from(leads).where(eq(leads.id, a.ctx.lead.id));
    expect(lead?.stage).toBe('contacted');
    // The conversation stays unread on LinkedIn, so the next pass reads it again: ingested once.
    expect(site.unread(a.slug)).toBe(true);
    await syncAccount(engine.deps, await account(id));
    const again = await engine.deps.db
      .select()
      .from(messages)
      .where(and(eq(messages.leadId, a.ctx.lead.id), eq(messages.direction, 'inbound')));
    expect(again).toHaveLength(1);
  });

  it('a checkpoint met while syncing challenges the account', async () => {
    const ws = await createTestWorkspace(engine.app);
    const { id } = await addAccount(engine, ws, site);
    site.checkpoint = true;
    try {
      await syncAccount(engine.deps, await account(id));
    } finally {
      site.checkpoint = false;
    }
    expect(await account(id)).toMatchObject({ status: 'challenged', statusReason: 'checkpoint' });
    const challenged = await engine.deps.db
      .select()
      .from(events)
      .where(and(eq(events.workspaceId, ws.id), eq(events.type, 'linkedin.account_challenged')));
    expect(challenged).toHaveLength(1);
  });
});
