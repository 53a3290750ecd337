import { and, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { events, stageEvents } from '../../src/db/schema/index';
import { runScheduledCleanups } from '../../src/timeline/cleanup';
import { startCleanupLoop } from '../../workers/cleanup';
import {
  createTestWorkspace,
  startTestEngine,
  type TestEngine,
  type TestWorkspace,
  waitFor,
} from '../helpers/engine';

type Lead = { id: string; stage: string };

describe('clean-up of stale leads', () => {
  let engine: TestEngine;
  beforeAll(async () => {
    engine = await startTestEngine();
  });
  afterAll(() => engine.close());

  /** Leads with a given stage and days since their last activity. */
  const seed = async (ws: TestWorkspace, rows: { email: string; stage: string; idleDays: number }[]) => {
    const res = await engine.app.inject({
      method: 'POST',
      url: '/v1/leads/bulk',
      headers: ws.auth,
      payload: { leads: rows.map(({ email, stage }) => ({ email, stage })) },
    });
    const ids = res.json<{ ids: string[] }>().ids;
    for (const [i, row] of rows.entries()) {
      await engine.deps.pool.query(
        `update leads set last_activity_at = now() - make_interval(days => $2) where id = $1`,
        [ids[i], row.idleDays],
      );
    }
    return ids;
  };
  const stageOf = async (ws: TestWorkspace, id: string | undefined) =>
    (await engine.app.inject({ method: 'GET', url: `/v1/leads/${id}`, headers: ws.auth })).json<Lead>().stage;
  const cleanupRuns = async (ws: TestWorkspace) =>
    engine.deps.db
      .select()
      .from(events)
      .where(and(eq(events.workspaceId, ws.id), eq(events.type, 'pipeline.cleanup')));

  it('moves stale open leads in one call, with stage events, and leaves the rest', async () => {
    const ws = await createTestWorkspace(engine.app);
    const [stale, staleContacted, fresh, won] = await seed(ws, [
      { email: 'stale@example.com', stage: 'lead', idleDays: 40 },
      { email: 'stale2@example.com', stage: 'contacted', idleDays: 31 },
      { email: 'fresh@example.com', stage: 'lead', idleDays: 5 },
      { email: 'won@example.com', stage: 'won', idleDays: 90 },
    ]);
    const res = await engine.app.inject({
      method: 'POST',
      url: '/v1/pipeline/cleanup',
      headers: ws.auth,
      payload: { staleDays: 30, toStage: 'lost' },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ moved: 2 });
    expect(await stageOf(ws, stale)).toBe('lost');
    expect(await stageOf(ws, staleContacted)).toBe('lost');
    expect(await stageOf(ws, fresh)).toBe('lead');
    expect(await stageOf(ws, won)).toBe('won');
    const history = await engine.deps.db
      .select()
      .from(stageEvents)
      .where(and(eq(stageEvents.workspaceId, ws.id), eq(stageEvents.source, 'cleanup')));
    expect(history.map((h) => [h.fromStage, h.toStage, h.reason]).sort()).toEqual([
      ['contacted', 'lost', 'stale_30d'],
      ['lead', 'lost', 'stale_30d'],
    ]);
    const again = await engine.app.inject({
      method: 'POST',
      url: '/v1/pipeline/cleanup',
      headers: ws.auth,
      payload: { staleDays: 30, toStage: 'lost' },
    });
    expect(again.json()).toEqual({ moved: 0 });
  });

  it('rejects an unknown target stage and a bad staleDays', async () => {
    const ws = await createTestWorkspace(engine.app);
    for (const [payload, path] of [
      [{ staleDays: 30, toStage: 'nowhere' }, 'body.toStage'],
      [{ staleDays: 0, toStage: 'lost' }, 'body.staleDays'],
    ] as const) {
      const res = await engine.app.inject({
        method: 'POST',
        url: '/v1/pipeline/cleanup',
        headers: ws.auth,
        payload,
      });
      expect(res.statusCode).toBe(400);
      expect(res.json().error.details[0].path).toBe(path);
    }
  });

  it('runs on a per-workspace schedule exactly once per period, even with two workers at once', async () => {
    const ws = await createTestWorkspace(engine.app);
    const [stale] = await seed(ws, [{ email: 'sched@example.com', stage: 'qualified', idleDays: 20 }]);
    const none = await engine.app.inject({
      method: 'GET',
      url: '/v1/pipeline/cleanup/schedule',
      headers: ws.auth,
    });
    expect(none.json()).toEqual({ schedule: null, lastRunAt: null });
    const bad = await engine.app.inject({
      method: 'PUT',
      url: '/v1/pipeline/cleanup/schedule',
      headers: ws.auth,
      payload: { staleDays: 14, toStage: 'nowhere', everyHours: 24 },
    });
    expect(bad.statusCode).toBe(400);
    const set = await engine.app.inject({
      method: 'PUT',
      url: '/v1/pipeline/cleanup/schedule',
      headers: ws.auth,
      payload: { staleDays: 14, toStage: 'lost', everyHours: 24 },
    });
    expect(set.statusCode).toBe(200);
    expect(set.json()).toMatchObject({ schedule: { staleDays: 14, toStage: 'lost', everyHours: 24 } });

    const now = new Date();
    await Promise.all([runScheduledCleanups(engine.deps.db, now), runScheduledCleanups(engine.deps.db, now)]);
    expect(await cleanupRuns(ws)).toHaveLength(1);
    expect(await stageOf(ws, stale)).toBe('lost');
    const moves = await engine.deps.db
      .select({ n: sql<number>`count(*)::int` })
      .from(stageEvents)
      .where(and(eq(stageEvents.leadId, stale ?? ''), eq(stageEvents.source, 'cleanup')));
    expect(moves[0]?.n).toBe(1);

    await runScheduledCleanups(engine.deps.db, new Date(now.getTime() + 3_600_000));
    expect(await cleanupRuns(ws)).toHaveLength(1);
    await runScheduledCleanups(engine.deps.db, new Date(now.getTime() + 25 * 3_600_000));
    expect(await cleanupRuns(ws)).toHaveLength(2);
    const view = await engine.app.inject({
      method: 'GET',
      url: '/v1/pipeline/cleanup/schedule',
      headers: ws.auth,
    });
    expect(view.json().lastRunAt).toBe(new Date(now.getTime() + 25 * 3_600_000).toISOString());

    const off = await engine.app.inject({
      method: 'DELETE',
      url: '/v1/pipeline/cleanup/schedule',
      headers: ws.auth,
    });
    expect(off.statusCode).toBe(204);
    await runScheduledCleanups(engine.deps.db, new Date(now.getTime() + 100 * 3_600_000));
    expect(await cleanupRuns(ws)).toHaveLength(2);
  });

  it('is run by the workers’ maintenance loop', async () => {
    const ws = await createTestWorkspace(engine.app);
    const [stale] = await seed(ws, [{ email: 'loop@example.com', stage: 'lead', idleDays: 10 }]);
    await engine.app.inject({
      method: 'PUT',
      url: '/v1/pipeline/cleanup/schedule',
      headers: ws.auth,
      payload: { staleDays: 7, toStage: 'lost', everyHours: 1 },
    });
    const loop = startCleanupLoop(engine.deps, 50);
    try {
      await waitFor(async () => (await stageOf(ws, stale)) === 'lost', {
        timeoutMs: 10_000,
        what: 'the loop',
      });
    } finally {
      await loop.stop();
    }
    expect(await cleanupRuns(ws)).toHaveLength(1);
  });
});
