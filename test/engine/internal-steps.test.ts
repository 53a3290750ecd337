import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enrollments, leads, stageEvents, tasks } from '../../src/db/schema/index';
import { type RecordingChannel, startRecordingEngine } from '../helpers/channels';
import { createTestWorkspace, type TestEngine, waitFor } from '../helpers/engine';
import { insertLeads } from '../helpers/factories';
import { createActiveSequence, enrollLeads } from '../helpers/sequences';

describe('branch, stage and task steps', () => {
  let engine: TestEngine;
  let channel: RecordingChannel;
  beforeAll(async () => {
    ({ engine, channel } = await startRecordingEngine());
  });
  afterAll(() => engine.close());

  it('takes then/else on lead data, moves stages, creates tasks, and applies onComplete', async () => {
    const ws = await createTestWorkspace(engine.app);
    const withLinkedin = await insertLeads(engine.deps.db, ws.id, 2, (i) => ({
      linkedinUrl: `https://www.linkedin.com/in/branch-${i}`,
    }));
    const without = await insertLeads(engine.deps.db, ws.id, 2);
    const sequenceId = await createActiveSequence(engine.app, ws, {
      name: 'branching',
      settings: { onComplete: { stage: 'proposal' } },
      steps: [
        { id: 'check', type: 'branch', if: { hasLinkedin: true }, then: 'li', else: 'mail' },
        { id: 'li', type: 'linkedin_visit' },
        { id: 'to-contacted', type: 'stage', stage: 'contacted' },
        // The then path rejoins the else path explicitly (docs/decisions.md, issue 17).
        { type: 'goto', to: 'mail' },
        { id: 'mail', type: 'email', subject: 'Hi', body: 'Hello' },
        { id: 'call', type: 'task', kind: 'call', title: 'Call them' },
      ],
    });
    const all = [...withLinkedin, ...without];
    await enrollLeads(
      engine.app,
      ws,
      sequenceId,
      all.map((l) => l.id),
    );
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
    for (const lead of withLinkedin) expect(stepsOf(lead.id)).toEqual(['li', 'mail']);
    for (const lead of without) expect(stepsOf(lead.id)).toEqual(['mail']);

    const history = await engine.deps.db.select().from(stageEvents).where(eq(stageEvents.workspaceId, ws.id));
    for (const lead of withLinkedin) {
      expect(history.filter((h) => h.leadId === lead.id).map((h) => h.toStage)).toEqual([
        'contacted',
        'proposal',
      ]);
    }
    for (const lead of without) {
      // The else path skips the stage step; onComplete still applies.
      expect(history.filter((h) => h.leadId === lead.id).map((h) => h.toStage)).toEqual(['proposal']);
    }
    const finalStages = await engine.deps.db
      .select({ stage: leads.stage })
      .from(leads)
      .where(eq(leads.workspaceId, ws.id));
    expect(finalStages.every((l) => l.stage === 'proposal')).toBe(true);
    const created_tasks = await engine.deps.db.select().from(tasks).where(eq(tasks.workspaceId, ws.id));
    expect(created_tasks).toHaveLength(4);
    expect(created_tasks.every((t) => t.kind === 'call' && t.title === 'Call them')).toBe(true);
  });
});
