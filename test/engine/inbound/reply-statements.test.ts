import { randomUUID } from 'node:crypto';
import { and, eq, inArray } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/node-postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as schema from '../../../src/db/schema/index';
import { enrollments, events, leads, stageEvents, stepRuns } from '../../../src/db/schema/index';
import { applyHumanReply } from '../../../src/engine/inbound/effects';
import {
  createTestWorkspace,
  startTestEngine,
  type TestEngine,
  type TestWorkspace,
} from '../../helpers/engine';
import { createSequence, enrollLeads } from '../../helpers/sequences';
import { enrolledLeads } from '../../api/inbound-webhooks/support';

/** A reply's effects are set-based: their cost does not grow with the lead's enrollments. */
describe('human reply effects', () => {
  let engine: TestEngine;
  let ws: TestWorkspace;
  beforeAll(async () => {
    engine = await startTestEngine();
    ws = await createTestWorkspace(engine.app);
  });
  afterAll(() => engine.close());

  /** Applies a reply for the lead through a connection that counts statements. */
  const reply = async (leadId: string) => {
    let count = 0;
    const counted = drizzle(engine.deps.pool, { schema, logger: { logQuery: () => void count++ } });
    const effects = await counted.transaction((tx) =>
      applyHumanReply(tx, {
        workspaceId: ws.id,
        leadId,
        enrollmentId: null,
        stepRunId: null,
        channel: 'email',
        inboundMessageId: randomUUID(),
        at: new Date(),
      }),
    );
    return { effects, statements: count };
  };

  it('stops one or three enrollments, moves the stage and records every event in the same statements', async () => {
    const { leads: pair } = await enrolledLeads(engine, ws, { count: 2 });
    const [one, three] = pair;
    if (!one || !three) throw new Error('no leads');
    for (let i = 0; i < 2; i++) {
      const sequenceId = await createSequence(engine.app, ws, {
        steps: [{ type: 'email', subject: 'More', body: 'Hello again' }],
      });
      await enrollLeads(engine.app, ws, sequenceId, [three.id]);
    }

    const first = await reply(one.id);
    const second = await reply(three.id);
    expect(first.effects).toMatchObject({ kind: 'replied', stage: 'contacted' });
    expect(second.effects).toMatchObject({ kind: 'replied', stage: 'contacted' });
    if (second.effects.kind !== 'replied') throw new Error('not replied');
    expect(second.effects.stopped).toHaveLength(3);
    expect(second.statements).toBe(first.statements);
    // begin, the stop (which finds the reply's context too), the run cancellation, the stage move,
    // the events, commit.
    expect(first.statements).toBeLessThanOrEqual(6);

    // What those statements did: every enrollment replied with nothing left scheduled, one stage
    // change with its history, and the events (one `enrollment.stopped` per enrollment).
    const ended = await engine.deps.db
      .select({ status: enrollments.status })
      .from(enrollments)
      .where(eq(enrollments.leadId, three.id));
    expect(ended.map((e) => e.status)).toEqual(['replied', 'replied', 'replied']);
    const scheduled = await engine.deps.db
      .select({ id: stepRuns.id })
      .from(stepRuns)
      .where(and(inArray(stepRuns.enrollmentId, second.effects.stopped), eq(stepRuns.status, 'scheduled')));
    expect(scheduled).toEqual([]);
    const [lead] = await engine.deps.db.select().from(leads).where(eq(leads.id, three.id));
    expect(lead?.stage).toBe('contacted');
    const history = await engine.deps.db
      .select()
      .from(stageEvents)
      .where(and(eq(stageEvents.leadId, three.id), eq(stageEvents.reason, 'replied')));
    expect(history.map((h) => [h.fromStage, h.toStage, h.source])).toEqual([['lead', 'contacted', 'reply']]);
    const recorded = await engine.deps.db
      .select({ type: events.type })
      .from(events)
      .where(
        and(
          eq(events.leadId, three.id),
          inArray(events.type, ['lead.replied', 'enrollment.stopped', 'lead.stage_changed']),
        ),
      );
    expect(recorded.map((e) => e.type).sort()).toEqual([
      'enrollment.stopped',
      'enrollment.stopped',
      'enrollment.stopped',
      'lead.replied',
      'lead.stage_changed',
    ]);
  });

  it('moves a lead past the early stages only by the sequence’s own onReply rule', async () => {
    const {
      leads: [lead],
    } = await enrolledLeads(engine, ws, { count: 1 });
    if (!lead) throw new Error('no lead');
    await engine.deps.db.update(leads).set({ stage: 'proposal' }).where(eq(leads.id, lead.id));
    const { effects } = await reply(lead.id);
    expect(effects).toMatchObject({ kind: 'replied', stage: null });
    const [after] = await engine.deps.db.select().from(leads).where(eq(leads.id, lead.id));
    expect(after?.stage).toBe('proposal');
  });
});
