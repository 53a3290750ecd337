import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  enrollments,
  events,
  leads,
  messages,
  notes,
  sequences,
  stageEvents,
  stepRuns,
} from '../../../src/db/schema/index';
import { recordEvent } from '../../../src/timeline/events';
import {
  createTestWorkspace,
  startTestEngine,
  type TestEngine,
  type TestWorkspace,
} from '../../helpers/engine';

type Lead = { id: string; stage: string };
type Item = { type: string; at: string; [k: string]: unknown };

describe('lead notes, stage history, timeline and erase', () => {
  let engine: TestEngine;
  let ws: TestWorkspace;
  beforeAll(async () => {
    engine = await startTestEngine();
    ws = await createTestWorkspace(engine.app);
  });
  afterAll(() => engine.close());

  const newLead = async (payload: object) =>
    (await engine.app.inject({ method: 'POST', url: '/v1/leads', headers: ws.auth, payload })).json<Lead>();
  const move = (id: string, stage: string, reason?: string) =>
    engine.app.inject({
      method: 'POST',
      url: `/v1/leads/${id}/stage`,
      headers: ws.auth,
      payload: { stage, reason },
    });
  const timeline = async (id: string) =>
    (await engine.app.inject({ method: 'GET', url: `/v1/leads/${id}/timeline`, headers: ws.auth })).json<{
      data: Item[];
    }>().data;

  it('records each stage change with from, to, reason, source and time; a repeat is not a change', async () => {
    const lead = await newLead({ email: 'stages@example.com' });
    const first = await move(lead.id, 'qualified', 'good fit');
    expect(first.statusCode).toBe(200);
    expect(first.json()).toMatchObject({
      changed: true,
      from: 'lead',
      to: 'qualified',
      lead: { stage: 'qualified' },
    });
    expect((await move(lead.id, 'qualified')).json()).toMatchObject({ changed: false });
    await move(lead.id, 'proposal');
    const unknown = await move(lead.id, 'nowhere');
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json().error.details[0].path).toBe('body.stage');

    const history = await engine.deps.db
      .select()
      .from(stageEvents)
      .where(eq(stageEvents.leadId, lead.id))
      .orderBy(stageEvents.id);
    expect(history.map((h) => [h.fromStage, h.toStage, h.reason, h.source])).toEqual([
      [null, 'lead', 'created', 'api'],
      ['lead', 'qualified', 'good fit', 'api'],
      ['qualified', 'proposal', null, 'api'],
    ]);
    const stagesInTimeline = (await timeline(lead.id)).filter((i) => i.type === 'stage_changed');
    expect(stagesInTimeline.map((i) => i.to)).toEqual(['proposal', 'qualified', 'lead']);
  });

  it('shows stage changes, notes, messages both ways and events newest first', async () => {
    const lead = await newLead({ email: 'timeline@example.com' });
    const t = (minutes: number) => new Date(Date.now() + minutes * 60_000);
    await engine.deps.db.insert(messages).values([
      {
        workspaceId: ws.id,
        leadId: lead.id,
        direction: 'outbound',
        channel: 'email',
        subject: 'Hello',
        bodyText: 'Hi there',
        status: 'sent',
        createdAt: t(1),
      },
      {
        workspaceId: ws.id,
        leadId: lead.id,
        direction: 'inbound',
        channel: 'email',
        subject: 'Re: Hello',
        bodyText: 'Sounds good',
        status: 'matched',
        createdAt: t(3),
      },
    ]);
    await recordEvent(engine.deps.db, {
      workspaceId: ws.id,
      type: 'email.opened',
      leadId: lead.id,
      at: t(2),
    });
    const note = await engine.app.inject({
      method: 'POST',
      url: `/v1/leads/${lead.id}/notes`,
      headers: ws.auth,
      payload: { body: 'Called, wants a demo' },
    });
    expect(note.statusCode).toBe(201);
    expect(note.json()).toMatchObject({ leadId: lead.id, body: 'Called, wants a demo' });
    await engine.deps.db
      .update(notes)
      .set({ createdAt: t(4) })
      .where(eq(notes.leadId, lead.id));
    await engine.deps.db
      .update(stageEvents)
      .set({ at: t(0) })
      .where(eq(stageEvents.leadId, lead.id));
    await engine.deps.db
      .update(events)
      .set({ at: t(-1) })
      .where(and(eq(events.leadId, lead.id), eq(events.type, 'lead.created')));

    const items = await timeline(lead.id);
    expect(items.map((i) => [i.type, i.event ?? i.direction ?? null])).toEqual([
      ['note', null],
      ['message', 'inbound'],
      ['event', 'email.opened'],
      ['message', 'outbound'],
      ['stage_changed', null],
      ['event', 'lead.created'],
    ]);
    expect(items[1]).toMatchObject({ subject: 'Re: Hello', text: 'Sounds good', channel: 'email' });
    const empty = await engine.app.inject({
      method: 'POST',
      url: `/v1/leads/${lead.id}/notes`,
      headers: ws.auth,
      payload: { body: '  ' },
    });
    expect(empty.statusCode).toBe(400);
  });

  it('erases personal data, keeps stage history, stops enrollments and hides the lead', async () => {
    const lead = await newLead({
      email: 'erase.me@example.com',
      linkedinUrl: 'https://linkedin.com/in/erase-me',
      firstName: 'Erin',
      lastName: 'Case',
      company: 'Privacy Inc',
      title: 'DPO',
      customFields: { phone: '+33 1 23 45 67 89' },
    });
    await move(lead.id, 'contacted');
    await engine.app.inject({
      method: 'POST',
      url: `/v1/leads/${lead.id}/notes`,
      headers: ws.auth,
      payload: { body: 'Private note' },
    });
    await engine.deps.db.insert(messages).values({
      workspaceId: ws.id,
      leadId: lead.id,
      direction: 'inbound',
      channel: 'email',
      fromAddress: 'erase.me@example.com',
      subject: 'Hi Erin',
      bodyText: 'Personal reply',
      status: 'matched',
    });
    await recordEvent(engine.deps.db, {
      workspaceId: ws.id,
      type: 'lead.replied',
      leadId: lead.id,
      data: { text: 'Personal reply', channel: 'email' },
    });
    const [sequence] = await engine.deps.db
      .insert(sequences)
      .values({ workspaceId: ws.id, name: 'erase-seq' })
      .returning();
    if (!sequence) throw new Error('no sequence');
    const [enrollment] = await engine.deps.db
      .insert(enrollments)
      .values({ workspaceId: ws.id, sequenceId: sequence.id, version: 1, leadId: lead.id, status: 'active' })
      .returning();
    if (!enrollment) throw new Error('no enrollment');
    await engine.deps.db.insert(stepRuns).values({
      workspaceId: ws.id,
      enrollmentId: enrollment.id,
      stepId: 's1',
      stepIndex: 0,
      stepType: 'email',
      runAt: new Date(Date.now() + 3_600_000),
      dueAt: new Date(Date.now() + 3_600_000),
    });

    const del = await engine.app.inject({ method: 'DELETE', url: `/v1/leads/${lead.id}`, headers: ws.auth });
    expect(del.statusCode).toBe(204);

    const [row] = await engine.deps.db.select().from(leads).where(eq(leads.id, lead.id));
    expect(row).toMatchObject({
      email: null,
      emailKey: null,
      linkedinUrl: null,
      firstName: null,
      lastName: null,
      company: null,
      title: null,
      customFields: {},
      stage: 'contacted',
    });
    expect(row?.erasedAt).toBeInstanceOf(Date);
    expect(await engine.deps.db.select().from(notes).where(eq(notes.leadId, lead.id))).toHaveLength(0);
    const [message] = await engine.deps.db.select().from(messages).where(eq(messages.leadId, lead.id));
    expect(message).toMatchObject({ fromAddress: null, subject: null, bodyText: null });
    const replied = await engine.deps.db.select().from(events).where(eq(events.leadId, lead.id));
    expect(replied.find((e) => e.type === 'lead.replied')?.data).toEqual({ channel: 'email' });
    expect(
      await engine.deps.db.select().from(stageEvents).where(eq(stageEvents.leadId, lead.id)),
    ).toHaveLength(2);
    const [stopped] = await engine.deps.db
      .select()
      .from(enrollments)
      .where(eq(enrollments.id, enrollment.id));
    expect(stopped).toMatchObject({ status: 'stopped', reason: 'erased' });
    const [run] = await engine.deps.db
      .select()
      .from(stepRuns)
      .where(eq(stepRuns.enrollmentId, enrollment.id));
    expect(run?.status).toBe('canceled');

    for (const [method, url, payload] of [
      ['GET', `/v1/leads/${lead.id}`],
      ['PATCH', `/v1/leads/${lead.id}`, { firstName: 'Back' }],
      ['DELETE', `/v1/leads/${lead.id}`],
      ['GET', `/v1/leads/${lead.id}/timeline`],
      ['POST', `/v1/leads/${lead.id}/notes`, { body: 'x' }],
      ['POST', `/v1/leads/${lead.id}/stage`, { stage: 'won' }],
    ] as const) {
      const res = await engine.app.inject({ method, url, headers: ws.auth, ...(payload ? { payload } : {}) });
      expect(res.statusCode, `${method} ${url}`).toBe(404);
    }
    const list = await engine.app.inject({ method: 'GET', url: '/v1/leads?limit=500', headers: ws.auth });
    expect(list.json<{ data: Lead[] }>().data.map((l) => l.id)).not.toContain(lead.id);
    // The same address can come back later as a new, unrelated lead.
    const again = await engine.app.inject({
      method: 'POST',
      url: '/v1/leads',
      headers: ws.auth,
      payload: { email: 'erase.me@example.com' },
    });
    expect(again.statusCode).toBe(201);
    expect(again.json<Lead>().id).not.toBe(lead.id);
  });
});
