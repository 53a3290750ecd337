import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stageEvents } from '../../../src/db/schema/index';
import {
  createTestWorkspace,
  startTestEngine,
  type TestEngine,
  type TestWorkspace,
} from '../../helpers/engine';
import { allPages } from '../../helpers/pages';

type LeadBody = { id: string; email: string | null; linkedinUrl: string | null; [k: string]: unknown };

describe('leads: upsert, read, edit, list', () => {
  let engine: TestEngine;
  let ws: TestWorkspace;
  beforeAll(async () => {
    engine = await startTestEngine();
    ws = await createTestWorkspace(engine.app);
  });
  afterAll(() => engine.close());

  const post = (payload: unknown, auth = ws.auth) =>
    engine.app.inject({ method: 'POST', url: '/v1/leads', headers: auth, payload: payload as object });

  it('creates a lead (201), then updates the same person by email in another case (200)', async () => {
    const created = await post({
      email: 'Jane.Doe@Example.com',
      firstName: 'Jane',
      customFields: { plan: 'pro' },
    });
    expect(created.statusCode).toBe(201);
    const lead = created.json<LeadBody>();
    expect(lead).toMatchObject({
      email: 'Jane.Doe@Example.com',
      firstName: 'Jane',
      stage: 'lead',
      status: 'active',
      score: 0,
      customFields: { plan: 'pro' },
    });
    const again = await post({
      email: '  jane.doe@EXAMPLE.com ',
      lastName: 'Doe',
      customFields: { seats: 5 },
    });
    expect(again.statusCode).toBe(200);
    expect(again.json()).toMatchObject({
      id: lead.id,
      firstName: 'Jane',
      lastName: 'Doe',
      customFields: { plan: 'pro', seats: 5 },
    });
  });

  it('dedups LinkedIn URLs in any form: host, case, trailing slash, query', async () => {
    const first = await post({ linkedinUrl: 'https://linkedin.com/in/Jane-Roe/?utm=x', firstName: 'Jane' });
    expect(first.statusCode).toBe(201);
    expect(first.json<LeadBody>().linkedinUrl).toBe('https://www.linkedin.com/in/jane-roe');
    const second = await post({
      linkedinUrl: 'https://www.linkedin.com/in/jane-roe',
      email: 'roe@example.com',
    });
    expect(second.statusCode).toBe(200);
    expect(second.json<LeadBody>()).toMatchObject({
      id: first.json<LeadBody>().id,
      email: 'roe@example.com',
    });
  });

  it('refuses a lead whose email and LinkedIn URL belong to two different leads (409)', async () => {
    await post({ email: 'a.conflict@example.com' });
    await post({ linkedinUrl: 'linkedin.com/in/b-conflict' });
    const res = await post({
      email: 'a.conflict@example.com',
      linkedinUrl: 'https://www.linkedin.com/in/b-conflict',
    });
    expect(res.statusCode).toBe(409);
    expect(res.json().error.code).toBe('lead_identity_conflict');
  });

  it('validates: bad email, no identity, bad timezone, unknown stage → 400 with the path', async () => {
    const cases: [unknown, string][] = [
      [{ email: 'not-an-email' }, 'body.email'],
      [{ firstName: 'Nobody' }, 'body.email'],
      [{ email: 'x@example.com', timezone: 'Mars/Base' }, 'body.timezone'],
      [{ linkedinUrl: 'https://example.com/in/x' }, 'body.linkedinUrl'],
      [{ email: 'x@example.com', stage: 'nowhere' }, 'body.stage'],
    ];
    for (const [payload, path] of cases) {
      const res = await post(payload);
      expect(res.statusCode, JSON.stringify(payload)).toBe(400);
      const body = res.json();
      expect(body.error.code).toBe('validation_failed');
      expect(JSON.stringify(body.error), JSON.stringify(payload)).toContain(path);
    }
  });

  it('records the first stage event when a lead is created', async () => {
    const lead = (await post({ email: 'history@example.com' })).json<LeadBody>();
    const rows = await engine.deps.db
      .select()
      .from(stageEvents)
      .where(and(eq(stageEvents.leadId, lead.id), eq(stageEvents.workspaceId, ws.id)));
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ fromStage: null, toStage: 'lead', source: 'api' });
  });

  it('patches fields, clears with null, merges custom fields, and refuses a taken email', async () => {
    const lead = (
      await post({ email: 'patch.me@example.com', title: 'CTO', customFields: { a: 1, b: 2 } })
    ).json<LeadBody>();
    await post({ email: 'taken@example.com' });
    const res = await engine.app.inject({
      method: 'PATCH',
      url: `/v1/leads/${lead.id}`,
      headers: ws.auth,
      payload: { title: null, company: 'Initech', customFields: { a: null, c: 3 }, status: 'do_not_contact' },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      title: null,
      company: 'Initech',
      customFields: { b: 2, c: 3 },
      status: 'do_not_contact',
    });
    const taken = await engine.app.inject({
      method: 'PATCH',
      url: `/v1/leads/${lead.id}`,
      headers: ws.auth,
      payload: { email: 'TAKEN@example.com' },
    });
    expect(taken.statusCode).toBe(409);
    expect(taken.json().error.code).toBe('lead_exists');
    const orphan = await engine.app.inject({
      method: 'PATCH',
      url: `/v1/leads/${lead.id}`,
      headers: ws.auth,
      payload: { email: null },
    });
    expect(orphan.statusCode).toBe(400);
    const stage = await engine.app.inject({
      method: 'PATCH',
      url: `/v1/leads/${lead.id}`,
      headers: ws.auth,
      payload: { stage: 'won' },
    });
    expect(stage.statusCode).toBe(400);
    const read = await engine.app.inject({ method: 'GET', url: `/v1/leads/${lead.id}`, headers: ws.auth });
    expect(read.json()).toMatchObject({ email: 'patch.me@example.com', company: 'Initech', stage: 'lead' });
  });

  it('lists with stage, q and staleDays filters and pages by cursor without gaps or repeats', async () => {
    const own = await createTestWorkspace(engine.app, 'lister');
    const bulk = await engine.app.inject({
      method: 'POST',
      url: '/v1/leads/bulk',
      headers: own.auth,
      payload: {
        leads: Array.from({ length: 25 }, (_, i) => ({
          email: `p${i}@example.com`,
          firstName: i % 5 === 0 ? 'Grace' : 'Alan',
          lastName: i % 5 === 0 ? 'Hopper' : 'Turing',
          company: i === 7 ? 'Bletchley 100%' : 'Acme',
        })),
      },
    });
    expect(bulk.json()).toMatchObject({ created: 25 });
    const seen = (await allPages<LeadBody>(engine.app, own.auth, '/v1/leads?limit=7')).map((l) => l.id);
    expect(seen).toHaveLength(25);
    expect(new Set(seen).size).toBe(25);

    const q = async (query: string) =>
      (await engine.app.inject({ method: 'GET', url: `/v1/leads?${query}`, headers: own.auth })).json<{
        data: LeadBody[];
      }>().data;
    expect(await q('q=grace%20hop')).toHaveLength(5);
    expect(await q('q=P3%40EXAMPLE')).toHaveLength(1);
    expect(await q('q=100%25')).toHaveLength(1);
    expect(await q('stage=qualified')).toHaveLength(0);
    expect(await q('stage=lead&limit=100')).toHaveLength(25);

    const target = bulk.json<{ ids: string[] }>().ids[3];
    await engine.deps.pool.query(
      `update leads set last_activity_at = now() - interval '40 days' where id = $1`,
      [target],
    );
    const stale = await q('staleDays=30');
    expect(stale.map((l) => l.id)).toEqual([target]);
    const bad = await engine.app.inject({ method: 'GET', url: '/v1/leads?staleDays=0', headers: own.auth });
    expect(bad.statusCode).toBe(400);
  });

  it('answers 404 for an unknown id and 400 for a malformed one', async () => {
    const missing = await engine.app.inject({
      method: 'GET',
      url: '/v1/leads/00000000-0000-4000-8000-000000000000',
      headers: ws.auth,
    });
    expect(missing.statusCode).toBe(404);
    const malformed = await engine.app.inject({ method: 'GET', url: '/v1/leads/nope', headers: ws.auth });
    expect(malformed.statusCode).toBe(400);
  });
});

describe('leads in the OpenAPI document', () => {
  it('documents every lead, pipeline and analytics route', async () => {
    const engine = await startTestEngine();
    try {
      const doc = await engine.app.inject({ method: 'GET', url: '/openapi.json' });
      expect(doc.statusCode).toBe(200);
      const paths = Object.keys(doc.json<{ paths: Record<string, unknown> }>().paths);
      expect(paths).toEqual(
        expect.arrayContaining([
          '/v1/leads',
          '/v1/leads/bulk',
          '/v1/leads/import',
          '/v1/leads/{id}',
          '/v1/leads/{id}/notes',
          '/v1/leads/{id}/stage',
          '/v1/leads/{id}/timeline',
          '/v1/pipeline',
          '/v1/pipeline/stages',
          '/v1/pipeline/cleanup',
          '/v1/pipeline/cleanup/schedule',
          '/v1/pipeline/scoring',
          '/v1/analytics/funnel',
        ]),
      );
    } finally {
      await engine.close();
    }
  });
});

describe('text Postgres cannot store', () => {
  it('is a 400 on the field, and a failed row in bulk, never a 500', async () => {
    const engine = await startTestEngine();
    try {
      const ws = await createTestWorkspace(engine.app);
      const deep = JSON.parse(`${'['.repeat(50)}${']'.repeat(50)}`);
      const cases: [string, string, object | undefined, string][] = [
        ['GET', '/v1/leads?q=a%00b', undefined, 'querystring.q'],
        ['POST', '/v1/leads', { email: 'nul@example.com', firstName: 'a\u0000b' }, 'body.firstName'],
        [
          'POST',
          '/v1/leads',
          { email: 'nul@example.com', customFields: { x: 'a\u0000b' } },
          'body.customFields',
        ],
        [
          'POST',
          '/v1/leads',
          { email: 'nul@example.com', customFields: { 'a\u0000b': 1 } },
          'body.customFields',
        ],
        ['POST', '/v1/leads', { email: 'nul@example.com', customFields: { deep } }, 'body.customFields'],
        ['POST', '/v1/leads', { email: 'nul\u0000@example.com' }, 'body.email'],
      ];
      for (const [method, url, payload, path] of cases) {
        const res = await engine.app.inject({
          method: method === 'GET' ? 'GET' : 'POST',
          url,
          headers: ws.auth,
          ...(payload ? { payload } : {}),
        });
        expect(res.statusCode, `${url} ${JSON.stringify(payload)}`).toBe(400);
        expect(res.json().error.details[0].path).toBe(path);
      }
      const bulk = await engine.app.inject({
        method: 'POST',
        url: '/v1/leads/bulk',
        headers: ws.auth,
        payload: { leads: [{ email: 'fine@example.com' }, { email: 'bad@example.com', title: '\u0000' }] },
      });
      expect(bulk.json()).toMatchObject({ created: 1, failed: [{ index: 1 }] });
    } finally {
      await engine.close();
    }
  });
});
