import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EmailChannel } from '../../../src/channels/email/email.channel';
import { enrollments, events, leads, stepRuns, suppressions } from '../../../src/db/schema/index';
import { createSecrets } from '../../../src/lib/crypto';
import { isSuppressed } from '../../../src/engine/suppressions';
import { resolveUnsubscribeToken } from '../../../src/api/unsubscribe/unsubscribe.service';
import { unsubscribeToken, unsubscribeUrl } from '../../../src/channels/email/unsubscribe-tokens';
import { createTestWorkspace, type TestEngine, type TestWorkspace } from '../../helpers/engine';
import { type SmtpSink } from '../../helpers/smtp-sink';
import { insertLeads } from '../../helpers/factories';
import { addMailbox } from '../../helpers/mailboxes';
import { claimedContext, storeSequence } from '../../helpers/step-context';
import { header, startEmailChannelTest } from './support';

const oneStep = { steps: [{ type: 'email' as const, subject: 'Hi', body: 'Hello' }] };

describe('unsubscribe (RFC 8058)', () => {
  let engine: TestEngine;
  let sink: SmtpSink;
  let channel: EmailChannel;
  let close: () => Promise<void>;
  beforeAll(async () => {
    ({ engine, sink, channel, close } = await startEmailChannelTest());
  });
  afterAll(() => close());

  /** A lead who got one email and sits in a second sequence with a step scheduled. */
  async function leadWithMail(ws: TestWorkspace) {
    await addMailbox(engine, ws, sink);
    const ctx = await claimedContext(engine, ws.id, await storeSequence(engine, ws.id, oneStep));
    expect((await channel.send(ctx)).kind).toBe('sent');
    const [mail] = sink.mailTo(ctx.lead.email);
    const url = /<(http[^>]+)>/.exec(header(mail?.raw, 'List-Unsubscribe') ?? '')?.[1] ?? '';
    const other = await storeSequence(engine, ws.id, oneStep);
    const [enrollment] = await engine.deps.db
      .insert(enrollments)
      .values({ workspaceId: ws.id, sequenceId: other.sequenceId, version: 1, leadId: ctx.lead.id })
      .returning();
    const [pending] = await engine.deps.db
      .insert(stepRuns)
      .values({
        workspaceId: ws.id,
        enrollmentId: enrollment?.id ?? '',
        stepId: 's1',
        stepIndex: 0,
        stepType: 'email',
        runAt: new Date(Date.now() + 86400_000),
        dueAt: new Date(Date.now() + 86400_000),
      })
      .returning();
    return {
      lead: ctx.lead,
      path: new URL(url).pathname,
      enrollmentId: enrollment?.id ?? '',
      pendingRunId: pending?.id ?? '',
    };
  }

  const leadStatus = async (id: string) =>
    (await engine.deps.db.select({ status: leads.status }).from(leads).where(eq(leads.id, id)))[0]?.status;
  const unsubscribeEvents = async (leadId: string) =>
    engine.deps.db
      .select()
      .from(events)
      .where(and(eq(events.leadId, leadId), eq(events.type, 'lead.unsubscribed')));

  it('GET shows a confirm page and changes nothing', async () => {
    const ws = await createTestWorkspace(engine.app);
    const { lead, path } = await leadWithMail(ws);
    const res = await engine.app.inject({ method: 'GET', url: path });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toContain('text/html');
    expect(res.body).toContain('<form method="post"');
    expect(res.body).toContain('<button');
    expect(await leadStatus(lead.id)).toBe('active');
    expect(await isSuppressed(engine.deps.db, ws.id, { email: lead.email })).toBe(false);
  });

  it('a one-click POST unsubscribes at once: status, suppression, every enrollment stopped, one event', async () => {
    const ws = await createTestWorkspace(engine.app);
    const { lead, path, enrollmentId, pendingRunId } = await leadWithMail(ws);
    const res = await engine.app.inject({
      method: 'POST',
      url: path,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'List-Unsubscribe=One-Click',
    });
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('unsubscribed');
    expect(await leadStatus(lead.id)).toBe('unsubscribed');
    expect(await isSuppressed(engine.deps.db, ws.id, { email: lead.email?.toUpperCase() })).toBe(true);
    const [enrollment] = await engine.deps.db
      .select()
      .from(enrollments)
      .where(eq(enrollments.id, enrollmentId));
    expect(enrollment?.status).toBe('unsubscribed');
    // The next step will not send: its run is canceled before any worker can claim it.
    const [pending] = await engine.deps.db.select().from(stepRuns).where(eq(stepRuns.id, pendingRunId));
    expect(pending?.status).toBe('canceled');
    expect(await unsubscribeEvents(lead.id)).toHaveLength(1);

    const again = await engine.app.inject({
      method: 'POST',
      url: path,
      payload: 'List-Unsubscribe=One-Click',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(again.statusCode).toBe(200);
    expect(await unsubscribeEvents(lead.id)).toHaveLength(1);
    const rows = await engine.deps.db.select().from(suppressions).where(eq(suppressions.workspaceId, ws.id));
    expect(rows.map((r) => r.kind)).toEqual(['email']);
  });

  it('accepts the POST as multipart/form-data too, and from the page button without a body', async () => {
    const ws = await createTestWorkspace(engine.app);
    const first = await leadWithMail(ws);
    const boundary = 'xYzZY';
    const multipart = await engine.app.inject({
      method: 'POST',
      url: first.path,
      headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
      payload: `--${boundary}\r\nContent-Disposition: form-data; name="List-Unsubscribe"\r\n\r\nOne-Click\r\n--${boundary}--\r\n`,
    });
    expect(multipart.statusCode).toBe(200);
    expect(await leadStatus(first.lead.id)).toBe('unsubscribed');

    const second = await leadWithMail(ws);
    const bare = await engine.app.inject({ method: 'POST', url: second.path });
    expect(bare.statusCode).toBe(200);
    expect(await leadStatus(second.lead.id)).toBe('unsubscribed');
  });

  it('refuses forged, tampered and foreign tokens without touching anything', async () => {
    const ws = await createTestWorkspace(engine.app);
    const { lead, path } = await leadWithMail(ws);
    const token = path.slice('/u/'.length);
    const tampered = `${token.slice(0, -2)}${token.endsWith('AA') ? 'BB' : 'AA'}`;
    const foreign = unsubscribeToken(createSecrets('11'.repeat(32)), { workspaceId: ws.id, leadId: lead.id });
    for (const bad of [tampered, foreign, 'not-a-token', `${lead.id}`]) {
      for (const method of ['GET', 'POST'] as const) {
        const res = await engine.app.inject({ method, url: `/u/${encodeURIComponent(bad)}` });
        expect(res.statusCode).toBe(404);
      }
    }
    expect(await leadStatus(lead.id)).toBe('active');
  });

  it('tokens are short, signed, bound to the workspace, and do not show the lead or workspace id', async () => {
    const ws = await createTestWorkspace(engine.app);
    const other = await createTestWorkspace(engine.app);
    const [lead] = await insertLeads(engine.deps.db, ws.id, 1);
    const target = { workspaceId: ws.id, leadId: lead?.id ?? '' };
    const url = unsubscribeUrl(engine.deps, target);
    const token = url.split('/u/')[1] ?? '';
    expect(token.length).toBeLessThan(100);
    for (const id of [target.leadId, target.workspaceId]) {
      expect(token).not.toContain(id);
      expect(token).not.toContain(id.replace(/-/g, ''));
      const hex = id.replace(/-/g, '');
      for (const part of token.split('.'))
        expect(Buffer.from(part, 'base64url').toString('hex')).not.toContain(hex);
    }
    expect(await resolveUnsubscribeToken(engine.deps, token)).toEqual(target);
    // Two links for one lead differ, so links cannot be matched up to tell leads apart.
    expect(unsubscribeUrl(engine.deps, target)).not.toBe(url);
    // Signed for another workspace: refused, even though it names a real lead.
    const crossed = unsubscribeToken(engine.deps.secrets, { workspaceId: other.id, leadId: target.leadId });
    expect(await resolveUnsubscribeToken(engine.deps, crossed)).toBeNull();
    const res = await engine.app.inject({ method: 'POST', url: `/u/${crossed}` });
    expect(res.statusCode).toBe(404);
    expect(await leadStatus(target.leadId)).toBe('active');
  });
});
