import { and, eq, inArray } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enrollments, events, stepRuns } from '../../../src/db/schema/index';
import type { StepContext } from '../../../src/engine/channel';
import { channelMap, type RecordingChannel, recordingChannel } from '../../helpers/channels';
import {
  bringRunsDue,
  createTestWorkspace,
  startTestEngine,
  type TestEngine,
  type TestWorkspace,
  waitFor,
} from '../../helpers/engine';
import { insertLeads } from '../../helpers/factories';
import { createActiveSequence, createSequence, enrollLeads } from '../../helpers/sequences';

const fast = { MAINTENANCE_INTERVAL_SECONDS: '0.3', STEP_CONCURRENCY: '10' };

const cadence = (followUp: string, last = 'Last note') => [
  { type: 'email', subject: 'Hello', body: 'First note' },
  { type: 'wait', days: 2 },
  { type: 'email', subject: 'x', body: followUp, thread: 'reply' },
  { type: 'wait', days: 2 },
  { type: 'email', subject: 'x', body: last, thread: 'reply' },
];

/** Versions, clone, delete and migration of sequences, through the public API with real workers. */
describe('sequence versions, clone, delete and migrate', () => {
  let engine: TestEngine;
  let channel: RecordingChannel;
  let ws: TestWorkspace;
  /** What each send carried: the step as the runner read it from the enrollment's version. */
  const bodies: { leadId: string; stepId: string; body: unknown }[] = [];
  beforeAll(async () => {
    channel = recordingChannel();
    channel.respond = (ctx: StepContext) => {
      bodies.push({
        leadId: ctx.lead.id,
        stepId: ctx.step.id,
        body: 'body' in ctx.step ? ctx.step.body : null,
      });
      return { kind: 'sent' };
    };
    engine = await startTestEngine({ workers: true, env: fast, channels: channelMap(channel) });
    ws = await createTestWorkspace(engine.app);
  });
  afterAll(() => engine.close());

  const api = (method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, payload?: object) =>
    engine.app.inject({ method, url: `/v1${url}`, headers: ws.auth, payload });
  const runsOf = (sequenceId: string) =>
    engine.deps.db
      .select({ run: stepRuns, enrollment: enrollments })
      .from(stepRuns)
      .innerJoin(enrollments, eq(enrollments.id, stepRuns.enrollmentId))
      .where(eq(enrollments.sequenceId, sequenceId));
  /** An active sequence whose leads have each been sent the first email, waiting 2 days for s3. */
  async function midCadence(count: number) {
    const id = await createActiveSequence(engine.app, ws, { steps: cadence('Folow up (typo)') });
    const leads = await insertLeads(engine.deps.db, ws.id, count);
    await enrollLeads(
      engine.app,
      ws,
      id,
      leads.map((l) => l.id),
    );
    await waitFor(
      async () =>
        (await runsOf(id)).filter((r) => r.run.stepId === 's3' && r.run.status === 'scheduled').length ===
        count,
      { what: 'every lead waiting for the follow-up' },
    );
    return { id, leads };
  }

  it('lists versions newest first, with the live enrollments pinned to each, and pages them', async () => {
    const { id } = await midCadence(2);
    expect((await api('PUT', `/sequences/${id}`, { steps: cadence('Follow up') })).statusCode).toBe(200);
    expect((await api('PUT', `/sequences/${id}`, { steps: cadence('Follow up!') })).statusCode).toBe(200);
    const first = await api('GET', `/sequences/${id}/versions?limit=2`);
    expect(first.statusCode).toBe(200);
    const page1 = first.json<{
      data: { version: number; current: boolean; liveEnrollments: number }[];
      nextCursor: string;
    }>();
    expect(page1.data.map((v) => [v.version, v.current, v.liveEnrollments])).toEqual([
      [3, true, 0],
      [2, false, 0],
    ]);
    const second = await api('GET', `/sequences/${id}/versions?limit=2&cursor=${page1.nextCursor}`);
    expect(second.json()).toMatchObject({
      data: [{ version: 1, current: false, liveEnrollments: 2 }],
      nextCursor: null,
    });
    expect(second.json().data[0].steps[2]).toMatchObject({ id: 's3', body: 'Folow up (typo)' });
    expect((await api('GET', `/sequences/${id}/versions?cursor=nonsense`)).statusCode).toBe(400);
    const other = await createTestWorkspace(engine.app, 'Other');
    const foreign = await engine.app.inject({
      method: 'GET',
      url: `/v1/sequences/${id}/versions`,
      headers: other.auth,
    });
    expect(foreign.statusCode).toBe(404);
  });

  it('migrates mid-cadence enrollments to a corrected version: nothing re-sent, runs keep their time', async () => {
    const { id, leads } = await midCadence(3);
    const before = await runsOf(id);
    await api('PUT', `/sequences/${id}`, { steps: cadence('Follow up (fixed)') });
    const moved = await api('POST', `/sequences/${id}/migrate`, { fromVersion: 1, toVersion: 2 });
    expect(moved.statusCode).toBe(200);
    expect(moved.json()).toEqual({ migrated: 3, skipped: [] });
    const after = await runsOf(id);
    for (const { run, enrollment } of after.filter((r) => r.run.status === 'scheduled')) {
      expect(enrollment.version).toBe(2);
      const was = before.find((r) => r.run.id === run.id);
      expect(run.runAt).toEqual(was?.run.runAt);
      expect(run.stepId).toBe('s3');
    }
    // Idempotent: nothing is left on version 1.
    expect((await api('POST', `/sequences/${id}/migrate`, { fromVersion: 1, toVersion: 2 })).json()).toEqual({
      migrated: 0,
      skipped: [],
    });
    const migratedEvents = await engine.deps.db
      .select()
      .from(events)
      .where(
        and(
          eq(events.type, 'enrollment.migrated'),
          inArray(
            events.leadId,
            leads.map((l) => l.id),
          ),
        ),
      );
    expect(migratedEvents).toHaveLength(3);
    expect(migratedEvents[0]?.data).toMatchObject({
      sequenceId: id,
      fromVersion: 1,
      toVersion: 2,
      fromStepId: 's3',
      toStepId: 's3',
    });

    await bringRunsDue(
      engine.deps.db,
      inArray(
        stepRuns.id,
        after.map((r) => r.run.id),
      ),
    );
    await waitFor(
      async () =>
        bodies.filter((b) => leads.some((l) => l.id === b.leadId) && b.stepId === 's3').length === 3,
      {
        what: 'the follow-ups',
      },
    );
    const mine = bodies.filter((b) => leads.some((l) => l.id === b.leadId));
    // Each lead got the first email once (before) and the corrected follow-up.
    expect(mine.filter((b) => b.stepId === 's1')).toHaveLength(3);
    expect(mine.filter((b) => b.stepId === 's3').map((b) => b.body)).toEqual(
      Array(3).fill('Follow up (fixed)'),
    );
  });

  it('names the steps the new version lacks, then re-points runs through stepMap', async () => {
    const { id } = await midCadence(2);
    // Version 2 drops the follow-up: s3 no longer exists (ids are by position, so give them).
    await api('PUT', `/sequences/${id}`, {
      steps: [
        { id: 's1', type: 'email', subject: 'Hello', body: 'First note' },
        { id: 'w', type: 'wait', days: 2 },
        { id: 'final', type: 'email', subject: 'x', body: 'Last note', thread: 'reply' },
      ],
    });
    const refused = await api('POST', `/sequences/${id}/migrate`, { fromVersion: 1, toVersion: 2 });
    expect(refused.statusCode).toBe(400);
    expect(refused.json().error).toMatchObject({
      code: 'unmapped_steps',
      details: [{ path: 'body.stepMap.s3' }],
    });
    expect(refused.json().error.message).toContain('s3');
    for (const [stepMap, path] of [
      [{ s3: 'nope' }, 'body.stepMap.s3'],
      [{ s3: 'w' }, 'body.stepMap.s3'],
      [{ zz: 'final' }, 'body.stepMap.zz'],
    ] as const) {
      const bad = await api('POST', `/sequences/${id}/migrate`, { fromVersion: 1, toVersion: 2, stepMap });
      expect(bad.statusCode).toBe(400);
      expect(bad.json().error.details.map((d: { path: string }) => d.path)).toContain(path);
    }
    for (const [body, path] of [
      [{ fromVersion: 1, toVersion: 9 }, 'body.toVersion'],
      [{ fromVersion: 7, toVersion: 2 }, 'body.fromVersion'],
      [{ fromVersion: 2, toVersion: 2 }, 'body.toVersion'],
      [{ fromVersion: 0, toVersion: 2 }, 'body.fromVersion'],
    ] as const) {
      const bad = await api('POST', `/sequences/${id}/migrate`, body);
      expect(bad.statusCode).toBe(400);
      expect(bad.json().error.details.map((d: { path: string }) => d.path)).toContain(path);
    }
    // Nothing moved while refused.
    expect((await runsOf(id)).every((r) => r.enrollment.version === 1)).toBe(true);
    const moved = await api('POST', `/sequences/${id}/migrate`, {
      fromVersion: 1,
      toVersion: 2,
      stepMap: { s3: 'final' },
    });
    expect(moved.json()).toEqual({ migrated: 2, skipped: [] });
    const open = (await runsOf(id)).filter((r) => r.run.status === 'scheduled');
    expect(open.map((r) => [r.run.stepId, r.run.stepIndex, r.enrollment.currentStepId])).toEqual([
      ['final', 2, 'final'],
      ['final', 2, 'final'],
    ]);
  });

  it('does not re-point a run at a step that became a wait, whatever the step is called', async () => {
    const id = await createActiveSequence(engine.app, ws, {
      steps: [
        { id: 'hello', type: 'email', subject: 'Hello', body: 'First note' },
        { id: 'pause', type: 'wait', days: 2 },
        { id: 'constructor', type: 'email', subject: 'x', body: 'Follow', thread: 'reply' },
      ],
    });
    const [lead] = await insertLeads(engine.deps.db, ws.id, 1);
    await enrollLeads(engine.app, ws, id, [lead?.id ?? '']);
    await waitFor(async () =>
      (await runsOf(id)).some((r) => r.run.stepId === 'constructor' && r.run.status === 'scheduled'),
    );
    await api('PUT', `/sequences/${id}`, {
      steps: [
        { id: 'hello', type: 'email', subject: 'Hello', body: 'First note' },
        { id: 'constructor', type: 'wait', days: 1 },
        { id: 'last', type: 'email', subject: 'x', body: 'Last', thread: 'reply' },
      ],
    });
    const refused = await api('POST', `/sequences/${id}/migrate`, { fromVersion: 1, toVersion: 2 });
    expect(refused.statusCode).toBe(400);
    expect(refused.json().error).toMatchObject({
      code: 'unmapped_steps',
      details: [{ path: 'body.stepMap.constructor' }],
    });
    const moved = await api('POST', `/sequences/${id}/migrate`, {
      fromVersion: 1,
      toVersion: 2,
      stepMap: { constructor: 'last' },
    });
    expect(moved.json()).toEqual({ migrated: 1, skipped: [] });
    const open = (await runsOf(id)).filter((r) => r.run.status === 'scheduled');
    expect(open.map((r) => [r.run.stepId, r.run.stepIndex, r.run.stepType])).toEqual([['last', 2, 'email']]);
  });

  it('leaves an enrollment whose step is being sent on its version and says so', async () => {
    const { id } = await midCadence(2);
    await api('PUT', `/sequences/${id}`, { steps: cadence('Follow up (fixed)') });
    const [busy] = (await runsOf(id)).filter((r) => r.run.status === 'scheduled');
    if (!busy) throw new Error('no scheduled run');
    // A run another worker holds right now (claimed): the migration must not change it under the send.
    await engine.deps.db
      .update(stepRuns)
      .set({ status: 'claimed', claimedAt: new Date(), leaseUntil: new Date(Date.now() + 600_000) })
      .where(eq(stepRuns.id, busy.run.id));
    const moved = await api('POST', `/sequences/${id}/migrate`, { fromVersion: 1, toVersion: 2 });
    expect(moved.json()).toEqual({
      migrated: 1,
      skipped: [{ enrollmentId: busy.enrollment.id, reason: 'in_flight' }],
    });
    const [still] = await engine.deps.db
      .select()
      .from(enrollments)
      .where(eq(enrollments.id, busy.enrollment.id));
    expect(still?.version).toBe(1);
  });

  it('clones the current version into a new draft, named "(copy)" or as asked', async () => {
    const id = await createSequence(engine.app, ws, { name: 'Outbound Q3', steps: cadence('Follow up') });
    const copy = await api('POST', `/sequences/${id}/clone`);
    expect(copy.statusCode).toBe(201);
    expect(copy.json()).toMatchObject({ name: 'Outbound Q3 (copy)', status: 'draft', version: 1 });
    expect(copy.json().steps).toEqual((await api('GET', `/sequences/${id}`)).json().steps);
    expect((await api('POST', `/sequences/${id}/clone`)).json()).toMatchObject({
      name: 'Outbound Q3 (copy 2)',
    });
    expect((await api('POST', `/sequences/${id}/clone`, { name: 'Outbound Q4' })).json()).toMatchObject({
      name: 'Outbound Q4',
    });
    const taken = await api('POST', `/sequences/${id}/clone`, { name: 'Outbound Q4' });
    expect(taken.statusCode).toBe(409);
    expect(taken.json().error).toMatchObject({ code: 'name_taken' });
    const blank = await api('POST', `/sequences/${id}/clone`, { name: '' });
    expect(blank.statusCode).toBe(400);
    expect((await api('POST', `/sequences/${crypto.randomUUID()}/clone`)).statusCode).toBe(404);
  });

  it('deletes a draft that never had enrollments; refuses one that had, or is not a draft', async () => {
    const draft = await createSequence(engine.app, ws, { steps: cadence('x') });
    expect((await api('DELETE', `/sequences/${draft}`)).statusCode).toBe(204);
    expect((await api('GET', `/sequences/${draft}`)).statusCode).toBe(404);
    expect((await api('DELETE', `/sequences/${draft}`)).statusCode).toBe(404);

    const used = await createSequence(engine.app, ws, { steps: cadence('x') });
    const [lead] = await insertLeads(engine.deps.db, ws.id, 1);
    await enrollLeads(engine.app, ws, used, [lead?.id ?? '']);
    const refused = await api('DELETE', `/sequences/${used}`);
    expect(refused.statusCode).toBe(409);
    expect(refused.json().error).toMatchObject({ code: 'has_enrollments' });

    const live = await createActiveSequence(engine.app, ws, { steps: cadence('x') });
    const notDraft = await api('DELETE', `/sequences/${live}`);
    expect(notDraft.statusCode).toBe(409);
    expect(notDraft.json().error).toMatchObject({ code: 'not_draft' });
  });
});
