import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enrollments, tasks } from '../../src/db/schema/index';
import { recordEvent } from '../../src/timeline/events';
import { channelMap, recordingChannel } from '../helpers/channels';
import {
  createTestWorkspace,
  startTestEngine,
  type TestEngine,
  type TestWorkspace,
  waitFor,
} from '../helpers/engine';
import { createActiveSequence } from '../helpers/sequences';

type Lead = { id: string; stage: string };
type TimelineItem = { type: string; event?: string; data: Record<string, unknown> };

/** `POST /v1/automations`: rules that act on leads when they enter a stage, reach a score or are created. */
describe('automation rules', () => {
  let engine: TestEngine;
  beforeAll(async () => {
    engine = await startTestEngine({ workers: true, channels: channelMap(recordingChannel()) });
  });
  afterAll(() => engine.close());

  const post = (ws: TestWorkspace, url: string, payload: unknown) =>
    engine.app.inject({ method: 'POST', url, headers: ws.auth, payload: payload as object });
  const rule = async (ws: TestWorkspace, body: object) => {
    const res = await post(ws, '/v1/automations', body);
    expect(res.statusCode, res.body).toBe(201);
    return res.json<{ id: string }>().id;
  };
  const createLead = async (ws: TestWorkspace, body: object) =>
    (await post(ws, '/v1/leads', body)).json<Lead>();
  const stageOf = async (ws: TestWorkspace, id: string) =>
    (await engine.app.inject({ method: 'GET', url: `/v1/leads/${id}`, headers: ws.auth })).json<Lead>().stage;
  const timeline = async (ws: TestWorkspace, id: string) =>
    (
      await engine.app.inject({ method: 'GET', url: `/v1/leads/${id}/timeline?limit=100`, headers: ws.auth })
    ).json<{ data: TimelineItem[] }>().data;
  const enrollmentsOf = (leadId: string) =>
    engine.deps.db.select().from(enrollments).where(eq(enrollments.leadId, leadId));

  it('enrolls a lead that enters a stage, once per lead, and shows it on the timeline', async () => {
    const ws = await createTestWorkspace(engine.app);
    const sequenceId = await createActiveSequence(engine.app, ws, {
      steps: [
        { type: 'wait', days: 2 },
        { type: 'email', subject: 'Hi', body: 'Hello' },
      ],
    });
    const ruleId = await rule(ws, {
      name: 'Qualified leads get the follow-up cadence',
      trigger: { type: 'stage_entered', stage: 'qualified' },
      action: { type: 'enroll', sequenceId },
    });
    const lead = await createLead(ws, { email: 'ada@example.com', firstName: 'Ada' });
    expect((await post(ws, `/v1/leads/${lead.id}/stage`, { stage: 'qualified' })).statusCode).toBe(200);
    await waitFor(async () => (await enrollmentsOf(lead.id)).length === 1, { what: 'the enrollment' });
    const applied = await waitFor(
      async () =>
        (await timeline(ws, lead.id)).find((e) => e.type === 'event' && e.event === 'automation.applied'),
      { what: 'automation.applied on the timeline' },
    );
    expect(applied.data).toMatchObject({
      automationId: ruleId,
      action: 'enroll',
      status: 'applied',
      sequenceId,
    });

    // Back and forth through the stage: the rule has acted for this lead already.
    await post(ws, `/v1/leads/${lead.id}/stage`, { stage: 'lead' });
    await post(ws, `/v1/leads/${lead.id}/stage`, { stage: 'qualified' });
    const other = await createLead(ws, { email: 'bob@example.com' });
    await post(ws, `/v1/leads/${other.id}/stage`, { stage: 'qualified' });
    await waitFor(async () => (await enrollmentsOf(other.id)).length === 1, { what: 'the second lead' });
    expect(await enrollmentsOf(lead.id)).toHaveLength(1);
    // The enrollment commits before its run is settled: wait for nothing pending, then count.
    const view = await waitFor(
      async () => {
        const res = await engine.app.inject({
          method: 'GET',
          url: `/v1/automations/${ruleId}`,
          headers: ws.auth,
        });
        const body = res.json<{ runs: { pending: number } }>();
        return body.runs.pending === 0 && body;
      },
      { what: 'settled automation runs' },
    );
    expect(view.runs).toEqual({ pending: 0, applied: 2, skipped: 0, failed: 0 });
  });

  it('gives someone a task when a lead reaches a score, with the title rendered for the lead', async () => {
    const ws = await createTestWorkspace(engine.app);
    await engine.app.inject({
      method: 'PUT',
      url: '/v1/pipeline/scoring',
      headers: ws.auth,
      payload: { events: { 'email.clicked': 6 } },
    });
    await rule(ws, {
      name: 'Hot lead: call',
      trigger: { type: 'score_reached', threshold: 10 },
      action: {
        type: 'task',
        title: 'Call {{ firstName }} now',
        kind: 'call',
        assignee: 'sam@ourco.test',
        dueInDays: 1,
      },
    });
    const lead = await createLead(ws, { email: 'cleo@example.com', firstName: 'Cleo' });
    await recordEvent(engine.deps.db, { workspaceId: ws.id, leadId: lead.id, type: 'email.clicked' });
    await recordEvent(engine.deps.db, { workspaceId: ws.id, leadId: lead.id, type: 'email.clicked' });
    await recordEvent(engine.deps.db, { workspaceId: ws.id, leadId: lead.id, type: 'email.clicked' });
    const created = await waitFor(
      async () => {
        const rows = await engine.deps.db
          .select()
          .from(tasks)
          .where(and(eq(tasks.workspaceId, ws.id), eq(tasks.leadId, lead.id)));
        return rows.length > 0 && rows;
      },
      { what: 'the task' },
    );
    expect(created).toHaveLength(1);
    expect(created[0]).toMatchObject({ title: 'Call Cleo now', kind: 'call', assignee: 'sam@ourco.test' });
    expect(created[0]?.dueAt).not.toBeNull();
  });

  it('acts on leads created from a given source, and rules chain (import → qualified → cadence)', async () => {
    const ws = await createTestWorkspace(engine.app);
    const sequenceId = await createActiveSequence(engine.app, ws, {
      steps: [
        { type: 'wait', days: 2 },
        { type: 'email', subject: 'Hi', body: 'Hello' },
      ],
    });
    await rule(ws, {
      name: 'Imported leads are qualified',
      trigger: { type: 'lead_created', source: 'import' },
      action: { type: 'move', stage: 'qualified' },
    });
    await rule(ws, {
      name: 'Qualified leads get the cadence',
      trigger: { type: 'stage_entered', stage: 'qualified' },
      action: { type: 'enroll', sequenceId },
    });
    const imported = await engine.app.inject({
      method: 'POST',
      url: '/v1/leads/import',
      headers: { ...ws.auth, 'content-type': 'text/csv' },
      payload: 'email,first_name\nimported@example.com,Ida\n',
    });
    expect(imported.statusCode, imported.body).toBeLessThan(300);
    const byApi = await createLead(ws, { email: 'typed@example.com' });
    const list = (
      await engine.app.inject({ method: 'GET', url: '/v1/leads?limit=10', headers: ws.auth })
    ).json<{ data: (Lead & { email: string })[] }>().data;
    const fromCsv = list.find((l) => l.email === 'imported@example.com');
    if (!fromCsv) throw new Error('imported lead missing');
    await waitFor(async () => (await enrollmentsOf(fromCsv.id)).length === 1, {
      what: 'the chained enrollment',
    });
    expect(await stageOf(ws, fromCsv.id)).toBe('qualified');
    expect(await stageOf(ws, byApi.id)).toBe('lead');
    expect(await enrollmentsOf(byApi.id)).toHaveLength(0);
  });

  it('refuses a rule naming what the workspace lacks, with the field; rules are listed, changed and deleted', async () => {
    const ws = await createTestWorkspace(engine.app);
    const elsewhere = await createTestWorkspace(engine.app, 'Other');
    const foreign = await createActiveSequence(engine.app, elsewhere, {
      steps: [{ type: 'email', subject: 'Hi', body: 'x' }],
    });
    const cases: [object, string][] = [
      [
        { trigger: { type: 'stage_entered', stage: 'nowhere' }, action: { type: 'move', stage: 'lost' } },
        'body.trigger.stage',
      ],
      [
        { trigger: { type: 'lead_created' }, action: { type: 'move', stage: 'nowhere' } },
        'body.action.stage',
      ],
      [
        { trigger: { type: 'lead_created' }, action: { type: 'enroll', sequenceId: foreign } },
        'body.action.sequenceId',
      ],
      [
        { trigger: { type: 'score_reached', threshold: 0 }, action: { type: 'move', stage: 'lost' } },
        'body.trigger.threshold',
      ],
      [{ trigger: { type: 'whenever' }, action: { type: 'move', stage: 'lost' } }, 'body.trigger'],
      [{ trigger: { type: 'lead_created' }, action: { type: 'task', title: '' } }, 'body.action.title'],
      [
        { trigger: { type: 'lead_created' }, action: { type: 'task', title: "{% include '/etc/passwd' %}" } },
        'body.action.title',
      ],
    ];
    for (const [body, path] of cases) {
      const res = await post(ws, '/v1/automations', { name: 'bad', ...body });
      expect(res.statusCode, res.body).toBe(400);
      expect(JSON.stringify(res.json().error), res.body).toContain(path);
    }
    const id = await rule(ws, {
      name: 'Lost on creation',
      trigger: { type: 'lead_created' },
      action: { type: 'move', stage: 'lost' },
    });
    const off = await engine.app.inject({
      method: 'PATCH',
      url: `/v1/automations/${id}`,
      headers: ws.auth,
      payload: { enabled: false },
    });
    expect(off.json()).toMatchObject({ enabled: false });
    const lead = await createLead(ws, { email: 'kept@example.com' });
    const listed = (
      await engine.app.inject({ method: 'GET', url: '/v1/automations', headers: ws.auth })
    ).json();
    expect(listed.data.map((r: { id: string }) => r.id)).toEqual([id]);
    expect(listed.data[0].runs.pending + listed.data[0].runs.applied).toBe(0);
    expect(await stageOf(ws, lead.id)).toBe('lead');
    const gone = await engine.app.inject({
      method: 'DELETE',
      url: `/v1/automations/${id}`,
      headers: ws.auth,
    });
    expect(gone.statusCode).toBe(204);
    const again = await engine.app.inject({
      method: 'GET',
      url: `/v1/automations/${id}`,
      headers: elsewhere.auth,
    });
    expect(again.statusCode).toBe(404);
  });
});
