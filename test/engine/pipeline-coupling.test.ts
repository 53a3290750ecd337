import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enrollments, events, leads, stepRuns } from '../../src/db/schema/index';
import { type RecordingChannel, startRecordingEngine } from '../helpers/channels';
import {
  bringRunsDue,
  createTestWorkspace,
  type TestEngine,
  type TestWorkspace,
  waitFor,
} from '../helpers/engine';
import { insertLeads } from '../helpers/factories';
import { createActiveSequence, enrollLeads } from '../helpers/sequences';
import { signedPost } from '../api/inbound-webhooks/support';

/** The pipeline and the cadences, through the public API: closing a deal stops cadences, cadences move leads forward only. */
describe('pipeline and cadences', () => {
  let engine: TestEngine;
  let channel: RecordingChannel;
  beforeAll(async () => {
    ({ engine, channel } = await startRecordingEngine());
  });
  afterAll(() => engine.close());

  const moveTo = (ws: TestWorkspace, leadId: string, stage: string) =>
    engine.app.inject({
      method: 'POST',
      url: `/v1/leads/${leadId}/stage`,
      headers: ws.auth,
      payload: { stage },
    });
  const enrollmentOf = async (sequenceId: string, leadId: string) => {
    const [row] = await engine.deps.db
      .select()
      .from(enrollments)
      .where(and(eq(enrollments.sequenceId, sequenceId), eq(enrollments.leadId, leadId)));
    return row;
  };
  const stageOf = async (leadId: string) =>
    (await engine.deps.db.select({ stage: leads.stage }).from(leads).where(eq(leads.id, leadId)))[0]?.stage;
  const waitingCadence = (settings: object = {}) => ({
    settings,
    steps: [
      { type: 'wait', days: 3 },
      { id: 'mail', type: 'email', subject: 'Hi', body: 'Hello' },
    ],
  });

  it('a lead moved to won or lost (API or clean-up) stops its cadences, unless a sequence opts out', async () => {
    const ws = await createTestWorkspace(engine.app);
    const [won, stale] = await insertLeads(engine.deps.db, ws.id, 2);
    if (!won || !stale) throw new Error('leads');
    const stops = await createActiveSequence(engine.app, ws, { name: 'stops', ...waitingCadence() });
    const keeps = await createActiveSequence(engine.app, ws, {
      name: 'keeps',
      ...waitingCadence({ stopOnClose: false }),
    });
    await enrollLeads(engine.app, ws, stops, [won.id, stale.id]);
    await enrollLeads(engine.app, ws, keeps, [won.id]);

    expect((await moveTo(ws, won.id, 'won')).statusCode).toBe(200);
    expect(await enrollmentOf(stops, won.id)).toMatchObject({ status: 'stopped', reason: 'stage_closed' });
    expect((await enrollmentOf(keeps, won.id))?.status).toBe('active');
    const stoppedRuns = await engine.deps.db
      .select({ status: stepRuns.status })
      .from(stepRuns)
      .where(eq(stepRuns.enrollmentId, (await enrollmentOf(stops, won.id))?.id ?? ''));
    expect(stoppedRuns.map((r) => r.status)).toEqual(['canceled']);
    const stopEvent = await engine.deps.db
      .select({ data: events.data })
      .from(events)
      .where(and(eq(events.leadId, won.id), eq(events.type, 'enrollment.stopped')));
    expect(stopEvent.map((e) => e.data)).toEqual([{ status: 'stopped', reason: 'stage_closed' }]);

    // Moving within open stages stops nothing.
    await engine.deps.db.update(leads).set({ lastActivityAt: new Date(Date.now() - 40 * 86_400_000) });
    const cleanup = await engine.app.inject({
      method: 'POST',
      url: '/v1/pipeline/cleanup',
      headers: ws.auth,
      payload: { staleDays: 30, toStage: 'lost' },
    });
    expect(cleanup.json()).toMatchObject({ moved: 1 });
    expect(await enrollmentOf(stops, stale.id)).toMatchObject({ status: 'stopped', reason: 'stage_closed' });
  });

  it('onComplete and onFirstTouch move a lead forward only, and never one someone else moved meanwhile', async () => {
    const ws = await createTestWorkspace(engine.app);
    const [fresh, closed, advanced] = await insertLeads(engine.deps.db, ws.id, 3);
    if (!fresh || !closed || !advanced) throw new Error('leads');
    await engine.deps.db.update(leads).set({ stage: 'won' }).where(eq(leads.id, closed.id));
    const sequenceId = await createActiveSequence(engine.app, ws, {
      name: 'verdict',
      settings: { onFirstTouch: { stage: 'contacted' }, onComplete: { stage: 'lost' } },
      steps: [
        { id: 'first', type: 'email', subject: 'Hi', body: 'Hello' },
        { type: 'wait', days: 2 },
        { id: 'second', type: 'email', subject: 'Again', body: 'Hello again', thread: 'reply' },
      ],
    });
    await enrollLeads(engine.app, ws, sequenceId, [fresh.id, closed.id, advanced.id]);
    await waitFor(async () => channel.sends.filter((s) => s.stepId === 'first').length === 3, {
      what: 'first touches',
    });
    await waitFor(
      async () => (await stageOf(fresh.id)) === 'contacted' && (await stageOf(advanced.id)) === 'contacted',
      { what: 'first touch stages' },
    );
    expect(await stageOf(closed.id)).toBe('won');

    // A person takes one lead to proposal while its cadence runs.
    expect((await moveTo(ws, advanced.id, 'proposal')).statusCode).toBe(200);
    await bringRunsDue(engine.deps.db, undefined);
    await waitFor(
      async () => {
        const rows = await engine.deps.db
          .select({ status: enrollments.status })
          .from(enrollments)
          .where(eq(enrollments.sequenceId, sequenceId));
        return rows.filter((r) => r.status === 'completed').length === 3 && rows;
      },
      { what: 'completed cadences' },
    );
    // The untouched lead gets the cadence's verdict; the won one is not reopened (it was enrolled
    // while won, and stopOnClose acts on a move into a closed stage); the one moved by hand stays.
    expect(await stageOf(fresh.id)).toBe('lost');
    expect(await stageOf(advanced.id)).toBe('proposal');
    expect(await stageOf(closed.id)).toBe('won');
  });

  it('a reply moves the lead by what it says (onReply.byClass), forward only, and carries its class', async () => {
    const ws = await createTestWorkspace(engine.app);
    const [yes, no, unclear, later] = await insertLeads(engine.deps.db, ws.id, 4);
    if (!yes || !no || !unclear || !later) throw new Error('leads');
    await engine.deps.db.update(leads).set({ stage: 'won' }).where(eq(leads.id, later.id));
    const sequenceId = await createActiveSequence(engine.app, ws, {
      name: 'by class',
      ...waitingCadence({
        onReply: { stage: 'contacted', byClass: { interested: 'proposal', not_interested: 'lost' } },
      }),
    });
    await enrollLeads(engine.app, ws, sequenceId, [yes.id, no.id, unclear.id, later.id]);
    const reply = async (email: string | null, text: string) =>
      (await signedPost(engine, ws, 'email', { from: email, subject: 'Re: Hi', text })).statusCode;
    expect(await reply(yes.email, "Sounds good, let's talk on Tuesday.")).toBeLessThan(300);
    expect(await reply(no.email, 'No thanks, we already use another tool.')).toBeLessThan(300);
    expect(await reply(unclear.email, 'Who gave you my address?')).toBeLessThan(300);
    expect(await reply(later.email, 'Sounds good, tell me more.')).toBeLessThan(300);

    await waitFor(async () => (await stageOf(no.id)) === 'lost', { what: 'reply stages' });
    expect(await stageOf(yes.id)).toBe('proposal');
    expect(await stageOf(unclear.id)).toBe('contacted');
    // A won lead's reply does not reopen it.
    expect(await stageOf(later.id)).toBe('won');
    const replied = await engine.deps.db
      .select({ leadId: events.leadId, data: events.data })
      .from(events)
      .where(and(eq(events.workspaceId, ws.id), eq(events.type, 'lead.replied')));
    const classOf = (id: string) => replied.find((e) => e.leadId === id)?.data.class;
    expect([classOf(yes.id), classOf(no.id), classOf(unclear.id)]).toEqual([
      'interested',
      'not_interested',
      'other',
    ]);

    // The same rules over `POST /v1/replies`, with the class given by an integration.
    const [marked] = await insertLeads(engine.deps.db, ws.id, 1, () => ({ email: 'marked@example.com' }));
    if (!marked) throw new Error('lead');
    await enrollLeads(engine.app, ws, sequenceId, [marked.id]);
    const res = await engine.app.inject({
      method: 'POST',
      url: '/v1/replies',
      headers: ws.auth,
      payload: { leadId: marked.id, channel: 'email', class: 'not_interested' },
    });
    expect(res.json()).toMatchObject({ stage: 'lost', class: 'not_interested' });
  });

  it('refuses an onReply or onFirstTouch stage the pipeline lacks, naming the field', async () => {
    const ws = await createTestWorkspace(engine.app);
    for (const [settings, path] of [
      [{ onReply: { byClass: { interested: 'nope' } } }, 'body.settings.onReply.byClass.interested'],
      [{ onFirstTouch: { stage: 'nope' } }, 'body.settings.onFirstTouch.stage'],
      [{ onReply: { byClass: { maybe: 'lost' } } }, 'body.settings.onReply.byClass'],
    ] as const) {
      const res = await engine.app.inject({
        method: 'POST',
        url: '/v1/sequences',
        headers: ws.auth,
        payload: { name: `bad ${path}`, steps: [{ type: 'email', subject: 'Hi', body: 'x' }], settings },
      });
      expect(res.statusCode, res.body).toBe(400);
      expect(JSON.stringify(res.json().error), res.body).toContain(path);
    }
  });
});
