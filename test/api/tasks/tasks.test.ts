import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enrollments, events, webhookDeliveries } from '../../../src/db/schema/index';
import { channelMap, recordingChannel } from '../../helpers/channels';
import {
  createTestWorkspace,
  startTestEngine,
  type TestEngine,
  type TestWorkspace,
  waitFor,
} from '../../helpers/engine';
import { createActiveSequence, enrollLeads } from '../../helpers/sequences';

type Task = {
  id: string;
  leadId: string;
  title: string;
  kind: string;
  done: boolean;
  assignee: string | null;
  dueAt: string | null;
  doneAt: string | null;
};
type TaskPage = { data: Task[]; nextCursor: string | null };

describe('tasks: GET /v1/tasks and PATCH /v1/tasks/:id', () => {
  let engine: TestEngine;
  let ws: TestWorkspace;
  let other: TestWorkspace;
  let tasks: Task[];
  let leadIds: string[];

  const list = async (query = '', auth = ws.auth) => {
    const res = await engine.app.inject({ method: 'GET', url: `/v1/tasks${query}`, headers: auth });
    expect(res.statusCode).toBe(200);
    return res.json<TaskPage>();
  };
  const patch = (id: string, payload: object, auth = ws.auth) =>
    engine.app.inject({ method: 'PATCH', url: `/v1/tasks/${id}`, headers: auth, payload });

  beforeAll(async () => {
    engine = await startTestEngine({
      workers: true,
      channels: channelMap(recordingChannel()),
      env: { MAINTENANCE_INTERVAL_SECONDS: '0.5' },
    });
    ws = await createTestWorkspace(engine.app);
    other = await createTestWorkspace(engine.app, 'Other');
    const hook = await engine.app.inject({
      method: 'POST',
      url: '/v1/webhook-endpoints',
      headers: ws.auth,
      payload: { url: 'https://hooks.example.com/tasks', events: ['task.created', 'task.completed'] },
    });
    expect(hook.statusCode).toBe(201);
    leadIds = [];
    for (const [i, name] of ['Ada', 'Grace', 'Linus'].entries()) {
      const res = await engine.app.inject({
        method: 'POST',
        url: '/v1/leads',
        headers: ws.auth,
        payload: { email: `task-${i}@example.com`, firstName: name, company: `Co ${i}` },
      });
      leadIds.push(res.json<{ id: string }>().id);
    }
    const sequenceId = await createActiveSequence(engine.app, ws, {
      steps: [{ type: 'task', kind: 'call', title: 'Call {{ firstName }} at {{ company | default: "?" }}' }],
    });
    await enrollLeads(engine.app, ws, sequenceId, leadIds);
    await waitFor(
      async () => {
        const rows = await engine.deps.db
          .select()
          .from(enrollments)
          .where(eq(enrollments.sequenceId, sequenceId));
        return rows.length === 3 && rows.every((r) => r.status === 'completed');
      },
      { what: 'completed enrollments' },
    );
    tasks = (await list()).data;
  });
  afterAll(() => engine.close());

  it('lists the tasks the task step wrote, with titles rendered over the lead', async () => {
    expect(tasks).toHaveLength(3);
    expect(tasks.map((t) => t.title).sort()).toEqual([
      'Call Ada at Co 0',
      'Call Grace at Co 1',
      'Call Linus at Co 2',
    ]);
    expect(tasks.every((t) => t.kind === 'call' && !t.done && t.assignee === null && t.dueAt === null)).toBe(
      true,
    );
    const created = await engine.deps.db
      .select()
      .from(events)
      .where(and(eq(events.workspaceId, ws.id), eq(events.type, 'task.created')));
    expect(created.map((e) => e.data.title).sort()).toEqual(tasks.map((t) => t.title).sort());
  });

  it('pages with a cursor, newest first, without repeats', async () => {
    const first = await list('?limit=2');
    expect(first.data).toHaveLength(2);
    expect(first.nextCursor).not.toBeNull();
    const second = await list(`?limit=2&cursor=${first.nextCursor}`);
    expect(second.data).toHaveLength(1);
    expect(second.nextCursor).toBeNull();
    expect(new Set([...first.data, ...second.data].map((t) => t.id)).size).toBe(3);
  });

  it('assigns, reschedules and completes a task, recording task.completed once, for webhooks too', async () => {
    const [a, b] = tasks;
    if (!a || !b) throw new Error('expected tasks');
    const due = '2030-01-02T09:00:00.000Z';
    const assigned = await patch(a.id, { assignee: 'sam@acme.test', dueAt: due });
    expect(assigned.statusCode).toBe(200);
    expect(assigned.json()).toMatchObject({ assignee: 'sam@acme.test', dueAt: due, done: false });
    await patch(b.id, { assignee: 'kim@acme.test', dueAt: '2030-02-01T09:00:00Z' });

    expect((await list('?assignee=sam%40acme.test')).data.map((t) => t.id)).toEqual([a.id]);
    expect((await list('?unassigned=true')).data).toHaveLength(1);
    expect((await list('?dueBefore=2030-01-15T00:00:00Z')).data.map((t) => t.id)).toEqual([a.id]);
    expect((await list('?dueAfter=2030-01-15T00:00:00Z')).data.map((t) => t.id)).toEqual([b.id]);
    expect((await list(`?leadId=${a.leadId}`)).data.map((t) => t.id)).toEqual([a.id]);

    const done = await patch(a.id, { done: true });
    expect(done.statusCode).toBe(200);
    expect(done.json<Task>().done).toBe(true);
    expect(done.json<Task>().doneAt).not.toBeNull();
    await patch(a.id, { done: true }); // a repeat changes nothing and records nothing
    expect((await list('?done=true')).data.map((t) => t.id)).toEqual([a.id]);
    expect((await list('?done=false')).data).toHaveLength(2);

    const completed = await engine.deps.db
      .select()
      .from(events)
      .where(and(eq(events.workspaceId, ws.id), eq(events.type, 'task.completed')));
    expect(completed).toHaveLength(1);
    expect(completed[0]?.data).toMatchObject({ taskId: a.id, assignee: 'sam@acme.test' });
    const deliveries = await engine.deps.db
      .select()
      .from(webhookDeliveries)
      .where(eq(webhookDeliveries.workspaceId, ws.id));
    expect(deliveries.filter((d) => d.eventType === 'task.created')).toHaveLength(3);
    expect(deliveries.filter((d) => d.eventType === 'task.completed')).toHaveLength(1);

    const reopened = await patch(a.id, { done: false, dueAt: null });
    expect(reopened.json()).toMatchObject({ done: false, doneAt: null, dueAt: null });
  });

  it('refuses bad input with its path, and hides other workspaces’ tasks', async () => {
    const [a] = tasks;
    if (!a) throw new Error('expected a task');
    expect((await patch(a.id, {})).statusCode).toBe(400);
    expect((await patch(a.id, { title: 'x' })).statusCode).toBe(400);
    expect((await patch(a.id, { dueAt: 'tomorrow' })).statusCode).toBe(400);
    expect((await patch(a.id, { dueAt: '0000-01-01T00:00:00Z' })).statusCode).toBe(400);
    expect((await patch(a.id, { dueAt: '9999-12-31T23:59:59-14:00' })).statusCode).toBe(400);
    const early = await engine.app.inject({
      method: 'GET',
      url: '/v1/tasks?dueBefore=0000-06-01T00:00:00Z',
      headers: ws.auth,
    });
    expect(early.statusCode).toBe(400);
    expect((await patch(a.id, { assignee: 'x'.repeat(201) })).statusCode).toBe(400);
    const bad = await engine.app.inject({ method: 'GET', url: '/v1/tasks?done=maybe', headers: ws.auth });
    expect(bad.statusCode).toBe(400);
    const cursor = await engine.app.inject({ method: 'GET', url: '/v1/tasks?cursor=nope', headers: ws.auth });
    expect(cursor.statusCode).toBe(400);

    expect((await patch(a.id, { done: true }, other.auth)).statusCode).toBe(404);
    expect((await list('', other.auth)).data).toEqual([]);
  });
});
