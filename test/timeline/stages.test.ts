import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stageEvents } from '../../src/db/schema/index';
import { createTestWorkspace, startTestEngine, type TestEngine, type TestWorkspace } from '../helpers/engine';

type Stage = { key: string; name: string; kind: string; position: number };
type BoardStage = Stage & { count: number; leads: { id: string }[] };

const defaults = [
  ['lead', 'open'],
  ['qualified', 'open'],
  ['contacted', 'open'],
  ['proposal', 'open'],
  ['won', 'won'],
  ['lost', 'lost'],
  ['retention', 'won'],
];

describe('pipeline stages and board', () => {
  let engine: TestEngine;
  beforeAll(async () => {
    engine = await startTestEngine();
  });
  afterAll(() => engine.close());

  const stagesOf = async (ws: TestWorkspace) =>
    (await engine.app.inject({ method: 'GET', url: '/v1/pipeline/stages', headers: ws.auth })).json<{
      data: Stage[];
    }>().data;
  const put = (ws: TestWorkspace, payload: object) =>
    engine.app.inject({ method: 'PUT', url: '/v1/pipeline/stages', headers: ws.auth, payload });
  const seed = async (ws: TestWorkspace, leads: object[]) =>
    (
      await engine.app.inject({ method: 'POST', url: '/v1/leads/bulk', headers: ws.auth, payload: { leads } })
    ).json<{ ids: string[] }>().ids;

  it('starts every workspace with the classic stages, in order, typed', async () => {
    const ws = await createTestWorkspace(engine.app);
    const stages = await stagesOf(ws);
    expect(stages.map((s) => [s.key, s.kind])).toEqual(defaults);
    expect(stages.map((s) => s.position)).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });

  it('reorders, renames and adds stages', async () => {
    const ws = await createTestWorkspace(engine.app);
    const list = (await stagesOf(ws)).map(({ key, name, kind }) => ({ key, name, kind }));
    const [lead, qualified, contacted, ...rest] = list;
    if (!lead || !qualified || !contacted) throw new Error('missing defaults');
    const next = [
      lead,
      { ...contacted, name: 'Reached out' },
      qualified,
      { key: 'meeting', name: 'Meeting scheduled', kind: 'open' },
      ...rest,
    ];
    const res = await put(ws, { stages: next });
    expect(res.statusCode).toBe(200);
    const stages = await stagesOf(ws);
    expect(stages.map((s) => s.key)).toEqual([
      'lead',
      'contacted',
      'qualified',
      'meeting',
      'proposal',
      'won',
      'lost',
      'retention',
    ]);
    expect(stages[1]).toMatchObject({ name: 'Reached out', position: 1 });
  });

  it('refuses to remove a stage holding leads (409) unless told where they go, then moves them with events', async () => {
    const ws = await createTestWorkspace(engine.app);
    const ids = await seed(ws, [
      { email: 'p1@example.com', stage: 'proposal' },
      { email: 'p2@example.com', stage: 'proposal' },
      { email: 'c1@example.com', stage: 'contacted' },
    ]);
    const without = (await stagesOf(ws))
      .filter((s) => s.key !== 'proposal' && s.key !== 'retention')
      .map(({ key, name, kind }) => ({ key, name, kind }));
    const refused = await put(ws, { stages: without });
    expect(refused.statusCode).toBe(409);
    expect(refused.json().error).toMatchObject({
      code: 'stage_has_leads',
      details: [{ stage: 'proposal', leads: 2 }],
    });
    expect((await stagesOf(ws)).map((s) => s.key)).toContain('proposal');

    const badTarget = await put(ws, { stages: without, moveLeadsTo: { proposal: 'retention' } });
    expect(badTarget.statusCode).toBe(400);
    expect(badTarget.json().error.details[0].path).toBe('body.moveLeadsTo.proposal');

    const moved = await put(ws, { stages: without, moveLeadsTo: { proposal: 'contacted' } });
    expect(moved.statusCode).toBe(200);
    expect(moved.json()).toMatchObject({ moved: 2 });
    expect((await stagesOf(ws)).map((s) => s.key)).toEqual(['lead', 'qualified', 'contacted', 'won', 'lost']);
    for (const id of ids.slice(0, 2)) {
      const history = await engine.deps.db.select().from(stageEvents).where(eq(stageEvents.leadId, id));
      expect(history.at(-1)).toMatchObject({
        fromStage: 'proposal',
        toStage: 'contacted',
        reason: 'stage_removed',
      });
    }
  });

  it('validates the stage list: duplicate keys, bad keys, bad kinds, empty list', async () => {
    const ws = await createTestWorkspace(engine.app);
    const cases: [object, string][] = [
      [
        {
          stages: [
            { key: 'a', name: 'A', kind: 'open' },
            { key: 'a', name: 'B', kind: 'won' },
          ],
        },
        'body.stages.1.key',
      ],
      [{ stages: [{ key: 'Bad Key', name: 'A', kind: 'open' }] }, 'body.stages.0.key'],
      [{ stages: [{ key: 'a', name: 'A', kind: 'maybe' }] }, 'body.stages.0.kind'],
      [{ stages: [] }, 'body.stages'],
    ];
    for (const [payload, path] of cases) {
      const res = await put(ws, payload);
      expect(res.statusCode).toBe(400);
      expect(res.json().error.details.map((d: { path: string }) => d.path)).toContain(path);
    }
    expect(await stagesOf(ws)).toHaveLength(7);
  });

  it('counts leads per stage on the board, with the most recently updated leads', async () => {
    const ws = await createTestWorkspace(engine.app);
    await seed(ws, [
      { email: 'b1@example.com' },
      { email: 'b2@example.com' },
      { email: 'b3@example.com', stage: 'won' },
      { email: 'b4@example.com', stage: 'qualified' },
    ]);
    const res = await engine.app.inject({ method: 'GET', url: '/v1/pipeline?limit=1', headers: ws.auth });
    expect(res.statusCode).toBe(200);
    const board = res.json<{ data: BoardStage[] }>().data;
    expect(board.map((s) => [s.key, s.count])).toEqual([
      ['lead', 2],
      ['qualified', 1],
      ['contacted', 0],
      ['proposal', 0],
      ['won', 1],
      ['lost', 0],
      ['retention', 0],
    ]);
    expect(board.map((s) => s.leads.length)).toEqual([1, 1, 0, 0, 1, 0, 0]);
  });
});
