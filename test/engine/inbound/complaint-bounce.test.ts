import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enrollments, events, leads, stepRuns, suppressions } from '../../../src/db/schema/index';
import {
  createTestWorkspace,
  startTestEngine,
  type TestEngine,
  type TestWorkspace,
} from '../../helpers/engine';
import { enrolledLeads, signedPost } from '../../api/inbound-webhooks/support';

type Result = { status: string; classification: string | null; leadId: string | null };

const fixtures = fileURLToPath(new URL('../../fixtures/inbox/', import.meta.url));

/**
 * A fixture from the inbox corpus, re-addressed to a lead of this test: `replace` maps the fixture's
 * Message-IDs and addresses to the lead's.
 */
const fixture = (name: string, replace: Record<string, string>) =>
  Object.entries(replace).reduce(
    (raw, [from, to]) => raw.replaceAll(from, to),
    readFileSync(`${fixtures}${name}`, 'utf8'),
  );

/** Complaints and soft bounces posted as raw MIME to the signed inbound webhook of a running engine. */
describe('complaints and soft bounces from the inbound webhook', () => {
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
  const eventsOf = (leadId: string) =>
    db().select({ type: events.type, data: events.data }).from(events).where(eq(events.leadId, leadId));
  const suppressionsOf = (email: string) =>
    db()
      .select({ kind: suppressions.kind, reason: suppressions.reason })
      .from(suppressions)
      .where(and(eq(suppressions.workspaceId, ws.id), eq(suppressions.value, email)));
  const oneLead = async () => {
    const { leads: [lead] = [] } = await enrolledLeads(engine, ws, { count: 1 });
    if (!lead) throw new Error('no lead enrolled');
    return lead;
  };

  it('an ARF complaint suppresses the address with reason "complaint" and stops the enrollment', async () => {
    const lead = await oneLead();
    const raw = fixture('complaint-arf-abuse.eml', {
      '<run-f1a8c3e6-2d9b-4e57-a0c4-9b6e8d1f3a27@ourco.example>': lead.messageId,
      'wei.zhang@mailbox-provider.example': lead.email,
    });
    const res = await signedPost(engine, ws, 'email/raw', raw);
    expect(res.statusCode).toBe(200);
    expect(res.json<Result>()).toMatchObject({
      status: 'matched',
      classification: 'complaint',
      leadId: lead.id,
    });
    expect(await suppressionsOf(lead.email)).toEqual([{ kind: 'email', reason: 'complaint' }]);
    expect((await enrollmentOf(lead.id))?.status).toBe('unsubscribed');
    expect((await leadRow(lead.id))?.status).toBe('unsubscribed');
    expect(await eventsOf(lead.id)).toEqual(
      expect.arrayContaining([{ type: 'lead.unsubscribed', data: { source: 'complaint' } }]),
    );
  });

  it('a complaint quoting a message we did not store is matched on its Original-Rcpt-To', async () => {
    const lead = await oneLead();
    const raw = fixture('complaint-arf-abuse.eml', {
      'wei.zhang@mailbox-provider.example': lead.email.toUpperCase(),
      'fbl.20260212031409': 'fbl.second',
    });
    const res = await signedPost(engine, ws, 'email/raw', raw);
    expect(res.json<Result>()).toMatchObject({
      status: 'matched',
      classification: 'complaint',
      leadId: lead.id,
    });
    expect((await enrollmentOf(lead.id))?.status).toBe('unsubscribed');
  });

  it('a soft bounce records email.soft_bounced and the enrollment keeps running', async () => {
    const lead = await oneLead();
    const raw = fixture('bounce-postfix-delayed.eml', {
      '<run-c3f6a0d8-5b9e-4c21-a7d4-e2b1f9c8d057@ourco.example>': lead.messageId,
      'f.oyelaran@baobab-telecom.example': lead.email,
    });
    const res = await signedPost(engine, ws, 'email/raw', raw);
    expect(res.json<Result>()).toMatchObject({
      status: 'matched',
      classification: 'bounce',
      leadId: lead.id,
    });
    const recorded = await eventsOf(lead.id);
    expect(recorded.filter((e) => e.type === 'email.soft_bounced')).toEqual([
      {
        type: 'email.soft_bounced',
        data: { recipient: lead.email, messageId: res.json<{ messageId: string }>().messageId },
      },
    ]);
    expect(recorded.map((e) => e.type)).not.toContain('lead.bounced');
    const enrollment = await enrollmentOf(lead.id);
    expect(enrollment?.status).toBe('active');
    const runs = await db()
      .select({ status: stepRuns.status })
      .from(stepRuns)
      .where(eq(stepRuns.enrollmentId, enrollment?.id ?? ''));
    expect(runs.map((r) => r.status)).toContain('scheduled');
    expect((await leadRow(lead.id))?.status).toBe('active');
    expect(await suppressionsOf(lead.email)).toEqual([]);
  });

  it('an Exim bounce without a report part is permanent: the lead bounces', async () => {
    const lead = await oneLead();
    const raw = fixture('bounce-exim-no-header.eml', {
      '<run-e8b1d5a3-7f2c-4e69-8d04-b5a9c3e1f726@ourco.example>': lead.messageId,
      'info@casa-lumiere-bnb.example': lead.email,
    });
    const res = await signedPost(engine, ws, 'email/raw', raw);
    expect(res.json<Result>()).toMatchObject({
      status: 'matched',
      classification: 'bounce',
      leadId: lead.id,
    });
    expect((await leadRow(lead.id))?.status).toBe('bounced');
    expect((await enrollmentOf(lead.id))?.status).toBe('bounced');
    expect(await suppressionsOf(lead.email)).toEqual([
      { kind: 'email', reason: `bounce: dsn: ${lead.email}` },
    ]);
  });
});
