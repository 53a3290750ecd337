import { and, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enrollments, events, leads, stepRuns, suppressions } from '../../../src/db/schema/index';
import {
  addSuppression,
  bounceLead,
  isSuppressed,
  suppressedLeadIds,
  unsubscribeLead,
} from '../../../src/engine/suppressions';
import { createTestWorkspace, startTestEngine, type TestEngine } from '../../helpers/engine';
import { insertLeads } from '../../helpers/factories';
import { allPages } from '../../helpers/pages';
import { storeSequence } from '../../helpers/step-context';

describe('suppressions', () => {
  let engine: TestEngine;
  beforeAll(async () => {
    engine = await startTestEngine();
  });
  afterAll(() => engine.close());

  const post = (auth: { authorization: string }, payload: Record<string, unknown>) =>
    engine.app.inject({ method: 'POST', url: '/v1/suppressions', headers: auth, payload });

  it('adds by email or domain (normalised), once: 201 then 200 with the same row', async () => {
    const ws = await createTestWorkspace(engine.app);
    const first = await post(ws.auth, { email: ' Jane@Example.COM ', reason: 'asked by phone' });
    expect(first.statusCode).toBe(201);
    expect(first.json()).toMatchObject({
      kind: 'email',
      value: 'jane@example.com',
      reason: 'asked by phone',
    });
    const again = await post(ws.auth, { email: 'jane@example.com' });
    expect(again.statusCode).toBe(200);
    expect(again.json().id).toBe(first.json().id);
    const domain = await post(ws.auth, { domain: '@Competitor.IO' });
    expect(domain.statusCode).toBe(201);
    expect(domain.json()).toMatchObject({ kind: 'domain', value: 'competitor.io', reason: 'manual' });
    const profile = await post(ws.auth, { linkedinUrl: 'linkedin.com/in/Jane-Doe/?utm=x' });
    expect(profile.json()).toMatchObject({ kind: 'linkedin', value: 'https://www.linkedin.com/in/jane-doe' });
  });

  it.each([
    ['nothing', {}, 'body.email'],
    ['two targets', { email: 'a@b.test', domain: 'b.test' }, 'body.email'],
    ['a bad email', { email: 'nope' }, 'body.email'],
    ['a bad domain', { domain: 'not a domain' }, 'body.domain'],
    ['a non-LinkedIn URL', { linkedinUrl: 'https://example.com/in/x' }, 'body.linkedinUrl'],
  ])('rejects %s with 400 and the path', async (_name, payload, path) => {
    const ws = await createTestWorkspace(engine.app);
    const res = await post(ws.auth, payload);
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('validation_failed');
    expect(res.json().error.details.map((d: { path: string }) => d.path)).toContain(path);
  });

  it('lists with a kind filter and a cursor', async () => {
    const ws = await createTestWorkspace(engine.app);
    for (const email of ['a@x.test', 'b@x.test', 'c@x.test']) await post(ws.auth, { email });
    await post(ws.auth, { domain: 'x.test' });
    const seen = await allPages<{ value: string }>(
      engine.app,
      ws.auth,
      '/v1/suppressions?kind=email&limit=2',
    );
    expect(seen.map((s) => s.value).sort()).toEqual(['a@x.test', 'b@x.test', 'c@x.test']);
  });

  it('pages rows created in the same millisecond exactly once each', async () => {
    const ws = await createTestWorkspace(engine.app);
    // One statement, one created_at; the sub-millisecond part is what a millisecond cursor cannot carry.
    const createdAt = sql`date_trunc('milliseconds', now()) + interval '123 microseconds'`;
    const values = Array.from({ length: 7 }, (_, i) => `same-ms-${i}@x.test`);
    const inserted = await engine.deps.db
      .insert(suppressions)
      .values(values.map((value) => ({ workspaceId: ws.id, kind: 'email' as const, value, createdAt })))
      .returning();
    expect(new Set(inserted.map((r) => r.createdAt.getTime())).size).toBe(1);
    const seen = await allPages<{ value: string }>(engine.app, ws.auth, '/v1/suppressions?limit=3');
    expect(seen.map((s) => s.value).sort()).toEqual([...values].sort());
  });

  it('deletes by value or by id, only in its own workspace', async () => {
    const ws = await createTestWorkspace(engine.app);
    const other = await createTestWorkspace(engine.app);
    await post(ws.auth, { email: 'gone@x.test' });
    const { id } = (await post(ws.auth, { domain: 'kept.test' })).json();
    const byValue = await engine.app.inject({
      method: 'DELETE',
      url: '/v1/suppressions?email=GONE@x.test',
      headers: ws.auth,
    });
    expect(byValue.statusCode).toBe(204);
    expect(
      (
        await engine.app.inject({
          method: 'DELETE',
          url: '/v1/suppressions?email=gone@x.test',
          headers: ws.auth,
        })
      ).statusCode,
    ).toBe(404);
    expect(
      (await engine.app.inject({ method: 'DELETE', url: `/v1/suppressions/${id}`, headers: other.auth }))
        .statusCode,
    ).toBe(404);
    expect(
      (await engine.app.inject({ method: 'DELETE', url: `/v1/suppressions/${id}`, headers: ws.auth }))
        .statusCode,
    ).toBe(204);
    expect(
      (await engine.app.inject({ method: 'DELETE', url: '/v1/suppressions', headers: ws.auth })).statusCode,
    ).toBe(400);
  });

  it('isSuppressed matches the email case-insensitively, parent domains and profiles, per workspace', async () => {
    const ws = await createTestWorkspace(engine.app);
    const other = await createTestWorkspace(engine.app);
    const db = engine.deps.db;
    await addSuppression(db, { workspaceId: ws.id, kind: 'email', value: 'jane@one.test' });
    await addSuppression(db, { workspaceId: ws.id, kind: 'domain', value: 'acme.test' });
    await addSuppression(db, {
      workspaceId: ws.id,
      kind: 'linkedin',
      value: 'https://www.linkedin.com/in/jo',
    });
    const cases: [{ email?: string | null; linkedinUrl?: string | null }, boolean][] = [
      [{ email: 'JANE@one.test' }, true],
      [{ email: 'john@one.test' }, false],
      [{ email: 'x@acme.test' }, true],
      [{ email: 'x@mail.eu.acme.test' }, true],
      [{ email: 'x@notacme.test' }, false],
      [{ linkedinUrl: 'https://www.linkedin.com/in/jo' }, true],
      [{ email: 'free@ok.test', linkedinUrl: 'https://www.linkedin.com/in/jo' }, true],
      [{ email: null, linkedinUrl: null }, false],
    ];
    for (const [who, expected] of cases) {
      expect(await isSuppressed(db, ws.id, who), JSON.stringify(who)).toBe(expected);
      expect(await isSuppressed(db, other.id, who)).toBe(false);
    }
    const found = await suppressedLeadIds(db, ws.id, [
      { id: 'a', email: 'jane@one.test' },
      { id: 'b', email: 'x@sub.acme.test' },
      { id: 'c', email: 'free@ok.test' },
      { id: 'd', linkedinUrl: 'https://www.linkedin.com/in/jo' },
    ]);
    expect([...found].sort()).toEqual(['a', 'b', 'd']);
    // A bulk enrollment's worth: the suppressed leads are found wherever they sit in the batch.
    const many = Array.from({ length: 2500 }, (_, i) => ({ id: `n${i}`, email: `n${i}@fine.test` }));
    many[1700] = { id: 'jane', email: 'Jane@One.test' };
    many[2499] = { id: 'acme', email: 'y@acme.test' };
    expect([...(await suppressedLeadIds(db, ws.id, many))].sort()).toEqual(['acme', 'jane']);
  });

  async function enrolledLead(workspaceId: string) {
    const db = engine.deps.db;
    const [lead] = await insertLeads(db, workspaceId, 1, () => ({
      linkedinUrl: `https://www.linkedin.com/in/l-${Date.now()}`,
    }));
    const ids: { enrollmentId: string; runId: string }[] = [];
    for (let i = 0; i < 2; i++) {
      const seq = await storeSequence(engine, workspaceId, {
        steps: [{ type: 'email', subject: 'x', body: 'y' }],
      });
      const [e] = await db
        .insert(enrollments)
        .values({ workspaceId, sequenceId: seq.sequenceId, version: 1, leadId: lead?.id ?? '' })
        .returning();
      const [r] = await db
        .insert(stepRuns)
        .values({
          workspaceId,
          enrollmentId: e?.id ?? '',
          stepId: 's1',
          stepIndex: 0,
          stepType: 'email',
          runAt: new Date(),
          dueAt: new Date(),
        })
        .returning();
      ids.push({ enrollmentId: e?.id ?? '', runId: r?.id ?? '' });
    }
    if (!lead) throw new Error('no lead');
    return { lead, ids };
  }

  const state = async (leadId: string, ids: { enrollmentId: string; runId: string }[], type: string) => {
    const db = engine.deps.db;
    const [lead] = await db.select().from(leads).where(eq(leads.id, leadId));
    const es = await Promise.all(
      ids.map(
        async (i) =>
          (await db.select().from(enrollments).where(eq(enrollments.id, i.enrollmentId)))[0]?.status,
      ),
    );
    const rs = await Promise.all(
      ids.map(async (i) => (await db.select().from(stepRuns).where(eq(stepRuns.id, i.runId)))[0]?.status),
    );
    const evs = await db
      .select()
      .from(events)
      .where(and(eq(events.leadId, leadId), eq(events.type, type)));
    const sup = await db
      .select()
      .from(suppressions)
      .where(eq(suppressions.workspaceId, lead?.workspaceId ?? ''));
    return {
      status: lead?.status,
      enrollments: es,
      runs: rs,
      events: evs.length,
      suppressions: sup.map((s) => s.kind).sort(),
    };
  };

  it('bounceLead: bounced, email suppressed, every enrollment stopped, one event, idempotent', async () => {
    const ws = await createTestWorkspace(engine.app);
    const { lead, ids } = await enrolledLead(ws.id);
    for (let i = 0; i < 2; i++) {
      const result = await engine.deps.db.transaction((tx) =>
        bounceLead(tx, { workspaceId: ws.id, leadId: lead.id, reason: 'smtp_550: no such user' }),
      );
      expect(result).toMatchObject({ ok: true, changed: i === 0 });
    }
    expect(await state(lead.id, ids, 'lead.bounced')).toEqual({
      status: 'bounced',
      enrollments: ['bounced', 'bounced'],
      runs: ['canceled', 'canceled'],
      events: 1,
      suppressions: ['email'],
    });
  });

  it('unsubscribeLead: unsubscribed, email and profile suppressed, enrollments stopped, one event', async () => {
    const ws = await createTestWorkspace(engine.app);
    const { lead, ids } = await enrolledLead(ws.id);
    await engine.deps.db.transaction((tx) =>
      unsubscribeLead(tx, { workspaceId: ws.id, leadId: lead.id, source: 'api' }),
    );
    expect(await state(lead.id, ids, 'lead.unsubscribed')).toEqual({
      status: 'unsubscribed',
      enrollments: ['unsubscribed', 'unsubscribed'],
      runs: ['canceled', 'canceled'],
      events: 1,
      suppressions: ['email', 'linkedin'],
    });
    const other = await createTestWorkspace(engine.app);
    const missing = await engine.deps.db.transaction((tx) =>
      unsubscribeLead(tx, { workspaceId: other.id, leadId: lead.id, source: 'api' }),
    );
    expect(missing).toEqual({ ok: false, error: 'lead_not_found' });
  });
});
