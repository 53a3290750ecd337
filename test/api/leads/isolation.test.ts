import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestWorkspace,
  startTestEngine,
  type TestEngine,
  type TestWorkspace,
} from '../../helpers/engine';

type Lead = { id: string; email: string; stage: string; score: number };

/** Workspace B's key against everything workspace A owns: 404 on A's ids, nothing of A in B's lists. */
describe('workspace isolation of leads, pipeline and analytics', () => {
  let engine: TestEngine;
  let a: TestWorkspace;
  let b: TestWorkspace;
  let leadA: Lead;
  beforeAll(async () => {
    engine = await startTestEngine();
    a = await createTestWorkspace(engine.app, 'A');
    b = await createTestWorkspace(engine.app, 'B');
    const res = await engine.app.inject({
      method: 'POST',
      url: '/v1/leads',
      headers: a.auth,
      payload: { email: 'shared@example.com', firstName: 'Alice', title: 'Head of Sales' },
    });
    leadA = res.json<Lead>();
    await engine.deps.pool.query(
      `update leads set last_activity_at = now() - interval '90 days' where id = $1`,
      [leadA.id],
    );
  });
  afterAll(() => engine.close());

  const as = (
    ws: TestWorkspace,
    method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
    url: string,
    payload?: object,
  ) => engine.app.inject({ method, url, headers: ws.auth, ...(payload ? { payload } : {}) });
  const readA = async () => (await as(a, 'GET', `/v1/leads/${leadA.id}`)).json<Lead>();

  it("answers 404 to every route on A's lead, and changes nothing", async () => {
    const routes: ['GET' | 'POST' | 'PATCH' | 'DELETE', string, object?][] = [
      ['GET', `/v1/leads/${leadA.id}`],
      ['PATCH', `/v1/leads/${leadA.id}`, { firstName: 'Mallory' }],
      ['DELETE', `/v1/leads/${leadA.id}`],
      ['POST', `/v1/leads/${leadA.id}/notes`, { body: 'b was here' }],
      ['POST', `/v1/leads/${leadA.id}/stage`, { stage: 'won' }],
      ['GET', `/v1/leads/${leadA.id}/timeline`],
    ];
    for (const [method, url, payload] of routes) {
      const res = await as(b, method, url, payload);
      expect(res.statusCode, `${method} ${url}`).toBe(404);
      expect(res.json().error.code).toBe('not_found');
    }
    expect(await readA()).toMatchObject({ firstName: 'Alice', stage: 'lead' });
    const timeline = await as(a, 'GET', `/v1/leads/${leadA.id}/timeline`);
    // Only A's own history: its creation, and no trace of B's attempts.
    expect(
      timeline
        .json<{ data: { type: string }[] }>()
        .data.map((i) => i.type)
        .sort(),
    ).toEqual(['event', 'stage_changed']);
  });

  it("keeps A's leads out of B's lists and searches", async () => {
    for (const query of ['', '?q=shared', '?q=alice', '?stage=lead', '?staleDays=30']) {
      const res = await as(b, 'GET', `/v1/leads${query}`);
      expect(res.json<{ data: Lead[] }>().data, query).toEqual([]);
    }
    const board = await as(b, 'GET', '/v1/pipeline');
    expect(board.json<{ data: { count: number }[] }>().data.every((s) => s.count === 0)).toBe(true);
  });

  it("creates B's own lead for the same email, by every write path, never touching A's", async () => {
    const single = await as(b, 'POST', '/v1/leads', { email: 'SHARED@example.com', firstName: 'Bob' });
    expect(single.statusCode).toBe(201);
    expect(single.json<Lead>().id).not.toBe(leadA.id);
    const bulk = await as(b, 'POST', '/v1/leads/bulk', {
      leads: [{ email: 'shared@example.com', company: 'B Co' }],
    });
    expect(bulk.json()).toMatchObject({ created: 0, updated: 1 });
    const csv = await engine.app.inject({
      method: 'POST',
      url: '/v1/leads/import',
      headers: { ...b.auth, 'content-type': 'text/csv' },
      payload: 'email,title\nshared@example.com,Intern\n',
    });
    expect(csv.json()).toMatchObject({ created: 0, updated: 1 });
    expect(await readA()).toMatchObject({ firstName: 'Alice', title: 'Head of Sales' });
  });

  it("keeps B's pipeline settings, scoring and clean-up to B", async () => {
    const stages = (await as(b, 'GET', '/v1/pipeline/stages')).json<{
      data: { key: string; name: string; kind: string }[];
    }>();
    const renamed = stages.data.map((s) => ({ key: s.key, name: `B ${s.name}`, kind: s.kind }));
    expect((await as(b, 'PUT', '/v1/pipeline/stages', { stages: renamed })).statusCode).toBe(200);
    const aStages = (await as(a, 'GET', '/v1/pipeline/stages')).json<{ data: { name: string }[] }>();
    expect(aStages.data[0]?.name).toBe('Lead');

    const rules = { attributes: [{ field: 'title', contains: 'Head', points: 50 }], qualifyThreshold: 10 };
    expect((await as(b, 'PUT', '/v1/pipeline/scoring', rules)).statusCode).toBe(200);
    expect(await readA()).toMatchObject({ score: 0, stage: 'lead' });
    expect((await as(a, 'GET', '/v1/pipeline/scoring')).json()).toMatchObject({ qualifyThreshold: null });

    const cleanup = await as(b, 'POST', '/v1/pipeline/cleanup', { staleDays: 1, toStage: 'lost' });
    expect(cleanup.statusCode).toBe(200);
    expect(await readA()).toMatchObject({ stage: 'lead' });
    await as(b, 'PUT', '/v1/pipeline/cleanup/schedule', { staleDays: 1, toStage: 'lost', everyHours: 1 });
    expect((await as(a, 'GET', '/v1/pipeline/cleanup/schedule')).json()).toMatchObject({ schedule: null });

    const funnel = await as(b, 'GET', '/v1/analytics/funnel');
    const entered = funnel.json<{ data: { key: string; entered: number }[] }>().data;
    // B's only lead entered `lead` once; A's lead is not counted.
    expect(entered.find((s) => s.key === 'lead')?.entered).toBe(1);
  });
});
