import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enrollments, stageEvents, tasks } from '../../src/db/schema/index';
import { type RecordingChannel, startRecordingEngine } from '../helpers/channels';
import { createTestWorkspace, type TestEngine, waitFor } from '../helpers/engine';
import { insertLeads } from '../helpers/factories';
import { createActiveSequence, enrollLeads } from '../helpers/sequences';

describe('end steps', () => {
  let engine: TestEngine;
  let channel: RecordingChannel;
  beforeAll(async () => {
    ({ engine, channel } = await startRecordingEngine());
  });
  afterAll(() => engine.close());

  it("ends the then path there: its leads complete (onComplete applies) and never run the else path's steps", async () => {
    const ws = await createTestWorkspace(engine.app);
    const withLinkedin = await insertLeads(engine.deps.db, ws.id, 2, (i) => ({
      linkedinUrl: `https://www.linkedin.com/in/end-${i}`,
    }));
    const without = await insertLeads(engine.deps.db, ws.id, 2);
    const sequenceId = await createActiveSequence(engine.app, ws, {
      settings: { onComplete: { stage: 'proposal' } },
      steps: [
        { id: 'check', type: 'branch', if: { hasLinkedin: true }, then: 'li', else: 'mail' },
        { id: 'li', type: 'linkedin_visit' },
        { id: 'to-contacted', type: 'stage', stage: 'contacted' },
        { id: 'stop-here', type: 'end' },
        { id: 'mail', type: 'email', subject: 'Hi', body: 'Hello' },
        { id: 'call', type: 'task', kind: 'call', title: 'Call them' },
      ],
    });
    const all = [...withLinkedin, ...without];
    const enrolled = await enrollLeads(
      engine.app,
      ws,
      sequenceId,
      all.map((l) => l.id),
    );
    expect(enrolled.skipped).toEqual([]);
    await waitFor(
      async () => {
        const rows = await engine.deps.db
          .select()
          .from(enrollments)
          .where(eq(enrollments.sequenceId, sequenceId));
        return rows.length === 4 && rows.every((r) => r.status === 'completed');
      },
      { what: 'completed enrollments' },
    );
    const stepsOf = (leadId: string) => channel.sends.filter((s) => s.leadId === leadId).map((s) => s.stepId);
    for (const lead of withLinkedin) expect(stepsOf(lead.id)).toEqual(['li']);
    for (const lead of without) expect(stepsOf(lead.id)).toEqual(['mail']);

    const history = await engine.deps.db.select().from(stageEvents).where(eq(stageEvents.workspaceId, ws.id));
    for (const lead of withLinkedin)
      expect(history.filter((h) => h.leadId === lead.id).map((h) => h.toStage)).toEqual([
        'contacted',
        'proposal',
      ]);
    for (const lead of without)
      expect(history.filter((h) => h.leadId === lead.id).map((h) => h.toStage)).toEqual(['proposal']);
    const made = await engine.deps.db.select().from(tasks).where(eq(tasks.workspaceId, ws.id));
    expect(made.map((t) => t.leadId).sort()).toEqual(without.map((l) => l.id).sort());
  });
});
