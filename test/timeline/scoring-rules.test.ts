import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { leads, stageEvents } from '../../src/db/schema/index';
import { recordEvent } from '../../src/timeline/events';
import { createTestWorkspace, startTestEngine, type TestEngine, type TestWorkspace } from '../helpers/engine';

type Lead = { id: string; stage: string; score: number };

const rules = {
  events: { 'email.opened': 1, 'email.clicked': 3, 'lead.replied': 10 },
  attributes: [{ field: 'title', contains: 'Head of', points: 5 }],
  qualifyThreshold: 12,
};

describe('lead scoring over the API', () => {
  let engine: TestEngine;
  beforeAll(async () => {
    engine = await startTestEngine();
  });
  afterAll(() => engine.close());

  const putRules = (ws: TestWorkspace, payload: object) =>
    engine.app.inject({ method: 'PUT', url: '/v1/pipeline/scoring', headers: ws.auth, payload });
  const create = async (ws: TestWorkspace, payload: object) =>
    (await engine.app.inject({ method: 'POST', url: '/v1/leads', headers: ws.auth, payload })).json<Lead>();
  const read = async (ws: TestWorkspace, id: string) =>
    (await engine.app.inject({ method: 'GET', url: `/v1/leads/${id}`, headers: ws.auth })).json<Lead>();
  const event = (ws: TestWorkspace, leadId: string, type: string) =>
    recordEvent(engine.deps.db, { workspaceId: ws.id, leadId, type });

  it('has no rules by default, and stores the rules it is given', async () => {
    const ws = await createTestWorkspace(engine.app);
    const empty = await engine.app.inject({ method: 'GET', url: '/v1/pipeline/scoring', headers: ws.auth });
    expect(empty.json()).toEqual({
      events: {},
      attributes: [],
      qualifyThreshold: null,
      qualifyFrom: null,
      qualifyTo: null,
    });
    const saved = await putRules(ws, rules);
    expect(saved.statusCode).toBe(200);
    const read = await engine.app.inject({ method: 'GET', url: '/v1/pipeline/scoring', headers: ws.auth });
    expect(read.json()).toEqual({ ...rules, qualifyFrom: null, qualifyTo: null });
  });

  it('rejects rules it cannot apply, naming the field', async () => {
    const ws = await createTestWorkspace(engine.app);
    const cases: [object, string][] = [
      [{ events: { 'lead.stage_changed': 5 } }, 'body.events'],
      [{ events: { 'email.opened': 1.5 } }, 'body.events'],
      [{ attributes: [{ field: 'password', contains: 'x', points: 1 }] }, 'body.attributes.0.field'],
      [{ attributes: [{ field: 'title', contains: '', points: 1 }] }, 'body.attributes.0.contains'],
      [{ qualifyThreshold: 0 }, 'body.qualifyThreshold'],
      [{ qualifyThreshold: 5, qualifyTo: 'nowhere' }, 'body.qualifyTo'],
      [{ qualifyThreshold: 5, qualifyFrom: 'won', qualifyTo: 'lead' }, 'body.qualifyFrom'],
    ];
    for (const [payload, path] of cases) {
      const res = await putRules(ws, payload);
      expect(res.statusCode, JSON.stringify(payload)).toBe(400);
      expect(JSON.stringify(res.json().error.details), JSON.stringify(payload)).toContain(path);
    }
  });

  it('adds points per event and attribute, and promotes an open lead at the threshold with reason score', async () => {
    const ws = await createTestWorkspace(engine.app);
    await putRules(ws, rules);
    const head = await create(ws, { email: 'head@example.com', title: 'Head of Growth' });
    expect(head.score).toBe(5);
    const contacted = await create(ws, {
      email: 'busy@example.com',
      title: 'Head of Ops',
      stage: 'contacted',
    });

    await event(ws, head.id, 'email.opened');
    await event(ws, head.id, 'email.clicked');
    await event(ws, head.id, 'message.sent');
    expect(await read(ws, head.id)).toMatchObject({ score: 9, stage: 'lead' });
    await event(ws, head.id, 'email.clicked');
    expect(await read(ws, head.id)).toMatchObject({ score: 12, stage: 'qualified' });
    const history = await engine.deps.db
      .select()
      .from(stageEvents)
      .where(and(eq(stageEvents.leadId, head.id), eq(stageEvents.toStage, 'qualified')));
    expect(history).toHaveLength(1);
    expect(history[0]).toMatchObject({ fromStage: 'lead', reason: 'score', source: 'score' });

    // Past the threshold, but not at `lead`: the score moves, the stage does not.
    await event(ws, contacted.id, 'lead.replied');
    expect(await read(ws, contacted.id)).toMatchObject({ score: 15, stage: 'contacted' });
  });

  it("promotes by the pipeline's order when the stages are renamed, or between the stages the rules name", async () => {
    const ws = await createTestWorkspace(engine.app);
    const renamed = await engine.app.inject({
      method: 'PUT',
      url: '/v1/pipeline/stages',
      headers: ws.auth,
      payload: {
        stages: [
          { key: 'inbox', name: 'Inbox', kind: 'open' },
          { key: 'mql', name: 'MQL', kind: 'open' },
          { key: 'sql', name: 'SQL', kind: 'open' },
          { key: 'won', name: 'Won', kind: 'won' },
          { key: 'lost', name: 'Lost', kind: 'lost' },
        ],
        moveLeadsTo: { lead: 'inbox', qualified: 'mql', contacted: 'sql', proposal: 'sql', retention: 'won' },
      },
    });
    expect(renamed.statusCode, renamed.body).toBe(200);
    await putRules(ws, { events: { 'email.clicked': 5 }, qualifyThreshold: 5 });
    const first = await create(ws, { email: 'first@example.com', stage: 'inbox' });
    await event(ws, first.id, 'email.clicked');
    expect(await read(ws, first.id)).toMatchObject({ score: 5, stage: 'mql' });

    await putRules(ws, {
      events: { 'email.clicked': 5 },
      qualifyThreshold: 10,
      qualifyFrom: 'mql',
      qualifyTo: 'sql',
    });
    await event(ws, first.id, 'email.clicked');
    expect(await read(ws, first.id)).toMatchObject({ score: 10, stage: 'sql' });
  });

  it('rescores on edits and on rule changes, promoting whom the new rules qualify', async () => {
    const ws = await createTestWorkspace(engine.app);
    await putRules(ws, rules);
    const eng = await create(ws, { email: 'eng@example.com', title: 'Engineer' });
    await event(ws, eng.id, 'lead.replied');
    expect((await read(ws, eng.id)).score).toBe(10);
    const patched = await engine.app.inject({
      method: 'PATCH',
      url: `/v1/leads/${eng.id}`,
      headers: ws.auth,
      payload: { title: 'Head of Engineering' },
    });
    expect(patched.json()).toMatchObject({ score: 15, stage: 'qualified' });

    const other = await create(ws, { email: 'other@example.com' });
    await event(ws, other.id, 'email.clicked');
    await event(ws, other.id, 'email.opened');
    expect((await read(ws, other.id)).score).toBe(4);
    const changed = await putRules(ws, {
      ...rules,
      events: { 'email.clicked': 6, 'email.opened': 1 },
      qualifyThreshold: 7,
    });
    expect(changed.json()).toMatchObject({ promoted: 1 });
    expect(await read(ws, other.id)).toMatchObject({ score: 7, stage: 'qualified' });
    // The replied event no longer scores under the new rules: 0 + 5 for the title.
    expect(await read(ws, eng.id)).toMatchObject({ score: 5, stage: 'qualified' });
  });

  it('scores leads created in bulk and promotes those already above the threshold', async () => {
    const ws = await createTestWorkspace(engine.app);
    await putRules(ws, {
      ...rules,
      events: { ...rules.events, 'lead.created': 3 },
      attributes: [{ field: 'custom.segment', contains: 'enterprise', points: 20 }],
    });
    const res = await engine.app.inject({
      method: 'POST',
      url: '/v1/leads/bulk',
      headers: ws.auth,
      payload: {
        leads: [
          { email: 'e1@example.com', customFields: { segment: 'Enterprise' } },
          { email: 'e2@example.com', customFields: { segment: 'SMB' } },
        ],
      },
    });
    const [big, small] = res.json<{ ids: string[] }>().ids;
    const rows = await engine.deps.db.select().from(leads).where(eq(leads.workspaceId, ws.id));
    // 3 for its lead.created event, plus 20 for the segment.
    expect(rows.find((r) => r.id === big)).toMatchObject({ score: 23, stage: 'qualified' });
    expect(rows.find((r) => r.id === small)).toMatchObject({ score: 3, stage: 'lead' });
    // Recomputing from scratch (a rule change) agrees with the score the import wrote.
    await putRules(ws, { ...rules, events: { 'lead.created': 3 }, qualifyThreshold: 100 });
    expect(await read(ws, small ?? '')).toMatchObject({ score: 3 });
  });
});
