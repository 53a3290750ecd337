import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSequenceFile } from '../../src/api/sequences/apply';
import { enrollments, leads, stepRuns, tasks } from '../../src/db/schema/index';
import { recordEvent } from '../../src/timeline/events';
import { type RecordingChannel, startRecordingEngine } from '../helpers/channels';
import {
  bringRunsDue,
  createTestWorkspace,
  type TestEngine,
  type TestWorkspace,
  waitFor,
} from '../helpers/engine';
import { insertLeads } from '../helpers/factories';
import { repoRoot } from '../platform/support';
import { createActiveSequence, enrollLeads } from '../helpers/sequences';
import { signedPost } from '../api/inbound-webhooks/support';

/**
 * The example cadences' paths, run with every wait brought due at once. The sending window is left
 * out (it is tested on its own), so the test does not depend on the day it runs.
 */
describe('example cadences take the path their comments describe', () => {
  let engine: TestEngine;
  let channel: RecordingChannel;
  beforeAll(async () => {
    ({ engine, channel } = await startRecordingEngine());
  });
  afterAll(() => engine.close());

  async function start(ws: TestWorkspace, file: string) {
    const loaded = await loadSequenceFile(`${repoRoot}/sequences/${file}`);
    if (!('body' in loaded)) throw new Error(`${file}: ${JSON.stringify(loaded.errors)}`);
    const { schedule: _window, ...body } = loaded.body;
    return createActiveSequence(engine.app, ws, body);
  }

  /** Brings every wait due until each enrollment of the sequence has ended. */
  async function runToEnd(ws: TestWorkspace, sequenceId: string, count: number) {
    await waitFor(
      async () => {
        await bringRunsDue(engine.deps.db, eq(stepRuns.workspaceId, ws.id));
        const rows = await engine.deps.db
          .select()
          .from(enrollments)
          .where(eq(enrollments.sequenceId, sequenceId));
        return rows.length === count && rows.every((r) => r.status === 'completed') ? rows : null;
      },
      { timeoutMs: 60_000, intervalMs: 300, what: 'every enrollment completed' },
    );
  }

  const stepsOf = (leadId: string) => channel.sends.filter((s) => s.leadId === leadId).map((s) => s.stepId);

  it('linkedin-then-email: connected leads get the message, the others the email if they have one; all get the call task', async () => {
    const ws = await createTestWorkspace(engine.app);
    const kinds = [
      { linkedinUrl: 'https://www.linkedin.com/in/cad-connected' },
      { linkedinUrl: 'https://www.linkedin.com/in/cad-not-connected' },
      { linkedinUrl: 'https://www.linkedin.com/in/cad-no-email', email: null },
    ];
    const [connected, notConnected, noEmail] = await insertLeads(
      engine.deps.db,
      ws.id,
      3,
      (i) => kinds[i] ?? {},
    );
    if (!connected || !notConnected || !noEmail) throw new Error('leads missing');
    const sequenceId = await start(ws, 'linkedin-then-email.yaml');
    const enrolled = await enrollLeads(engine.app, ws, sequenceId, [
      connected.id,
      notConnected.id,
      noEmail.id,
    ]);
    expect(enrolled.skipped).toEqual([]);
    await recordEvent(engine.deps.db, {
      workspaceId: ws.id,
      leadId: connected.id,
      type: 'linkedin.invite_accepted',
    });
    await runToEnd(ws, sequenceId, 3);
    expect(stepsOf(connected.id)).toEqual(['visit', 'invite', 'thanks']);
    expect(stepsOf(notConnected.id)).toEqual(['visit', 'invite', 'email-intro']);
    expect(stepsOf(noEmail.id)).toEqual(['visit', 'invite']);
    const made = await engine.deps.db.select().from(tasks).where(eq(tasks.workspaceId, ws.id));
    expect(made.map((t) => t.leadId).sort()).toEqual([connected.id, notConnected.id, noEmail.id].sort());
  });

  it('cold-email-3-step: a lead stops at its reply and moves by what it says; the silent one gets three emails and is lost', async () => {
    const ws = await createTestWorkspace(engine.app);
    // Each on its own domain: the cadence stops a replying lead's colleagues too.
    const [keen, refuses, silent, noEmail] = await insertLeads(engine.deps.db, ws.id, 4, (i) =>
      i === 3
        ? { email: null, emailKey: null }
        : {
            email: `p${i}@domain${i}.test`,
            emailKey: `p${i}@domain${i}.test`,
            companyDomain: `domain${i}.test`,
          },
    );
    if (!keen || !refuses || !silent || !noEmail) throw new Error('leads missing');
    const sequenceId = await start(ws, 'cold-email-3-step.yaml');
    const enrolled = await enrollLeads(engine.app, ws, sequenceId, [
      keen.id,
      refuses.id,
      silent.id,
      noEmail.id,
    ]);
    expect(enrolled.skipped).toEqual([{ leadId: noEmail.id, reason: 'missing_email' }]);
    // Brings only that step due, so no later step can go out before the test's reply lands.
    const sent = (leadId: string, stepId: string) =>
      waitFor(
        async () => {
          await bringRunsDue(
            engine.deps.db,
            and(eq(stepRuns.workspaceId, ws.id), eq(stepRuns.stepId, stepId)),
          );
          return stepsOf(leadId).includes(stepId);
        },
        { what: `${stepId} to ${leadId}` },
      );
    const reply = async (email: string | null, text: string) =>
      expect(
        (await signedPost(engine, ws, 'email', { from: email, subject: 'Re: outbound', text })).statusCode,
      ).toBeLessThan(300);

    await sent(keen.id, 'opener');
    await reply(keen.email, 'Sounds interesting, can we talk Thursday?');
    await sent(refuses.id, 'bump');
    await reply(refuses.email, 'No thanks, not a fit for us.');
    await waitFor(
      async () => {
        await bringRunsDue(engine.deps.db, eq(stepRuns.workspaceId, ws.id));
        const rows = await engine.deps.db
          .select()
          .from(enrollments)
          .where(eq(enrollments.sequenceId, sequenceId));
        return rows.length === 3 && rows.every((r) => r.status !== 'active') ? rows : null;
      },
      { timeoutMs: 60_000, intervalMs: 300, what: 'every enrollment ended' },
    );
    expect(stepsOf(keen.id)).toEqual(['opener']);
    expect(stepsOf(refuses.id)).toEqual(['opener', 'bump']);
    expect(stepsOf(silent.id)).toEqual(['opener', 'bump', 'breakup']);
    const stageOf = async (id: string) =>
      (await engine.deps.db.select({ stage: leads.stage }).from(leads).where(eq(leads.id, id)))[0]?.stage;
    expect([await stageOf(keen.id), await stageOf(refuses.id), await stageOf(silent.id)]).toEqual([
      'proposal',
      'lost',
      'lost',
    ]);
    // Version A (the step's own "hiring SDRs" body) or B went out, never nothing.
    const openers = channel.sends.filter(
      (s) => s.stepId === 'opener' && [keen.id, refuses.id, silent.id].includes(s.leadId),
    );
    expect(openers).toHaveLength(3);
  });

  it('re-engage-stale: a lead who opened gets the nudge, the other goes straight to lost; both end in lost', async () => {
    const ws = await createTestWorkspace(engine.app);
    const [opened, silent] = await insertLeads(engine.deps.db, ws.id, 2);
    if (!opened || !silent) throw new Error('leads missing');
    const sequenceId = await start(ws, 're-engage-stale.yaml');
    const enrolled = await enrollLeads(engine.app, ws, sequenceId, [opened.id, silent.id]);
    const openedEnrollment = enrolled.enrolled.find((e) => e.leadId === opened.id);
    await recordEvent(engine.deps.db, {
      workspaceId: ws.id,
      leadId: opened.id,
      enrollmentId: openedEnrollment?.enrollmentId,
      type: 'email.opened',
    });
    await runToEnd(ws, sequenceId, 2);
    expect(stepsOf(opened.id)).toEqual(['check-in', 'nudge']);
    expect(stepsOf(silent.id)).toEqual(['check-in']);
    const stages = await engine.deps.db
      .select({ stage: leads.stage })
      .from(leads)
      .where(eq(leads.workspaceId, ws.id));
    expect(stages.map((l) => l.stage)).toEqual(['lost', 'lost']);
  });
});
