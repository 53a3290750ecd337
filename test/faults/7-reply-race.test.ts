import { and, eq, inArray } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enrollments, stepRuns } from '../../src/db/schema/index';
import { signedPost } from '../api/inbound-webhooks/support';
import { account, runIdOf, settle } from './support/ledger';
import { firstMessageIds, rawReply } from './support/replies';
import { report } from './support/summary';
import { type CadenceLead, type FaultWorld, sleep, startCadence, startFaultWorld } from './support/world';

const LEADS = 50;

type Race = { lead: CadenceLead; posted: number; committedBy: number };

describe('fault 7: a reply and a due step at the same moment', () => {
  let world: FaultWorld;
  beforeAll(async () => {
    world = await startFaultWorld();
  });
  afterAll(() => world?.close());

  it('50 leads reply just as their second email falls due: nothing leaves after a reply commits', async (context) => {
    await world.startWorker();
    const cadence = await startCadence(world, LEADS, { waitSeconds: 4 });
    const db = world.engine.deps.db;
    const firstIdOf = await firstMessageIds(world, cadence);
    const seconds = await db
      .select({ id: stepRuns.id, enrollmentId: stepRuns.enrollmentId, runAt: stepRuns.runAt })
      .from(stepRuns)
      .where(and(inArray(stepRuns.enrollmentId, cadence.enrollmentIds), eq(stepRuns.stepId, 'second')));
    const secondOf = new Map(seconds.map((r) => [r.enrollmentId, r]));

    // Each reply is posted at its lead's due time, give or take 150 ms, to sweep the race window.
    const races: Race[] = await Promise.all(
      cadence.leads.map(async (lead) => {
        const due = secondOf.get(lead.enrollmentId)?.runAt.getTime() ?? Date.now();
        await sleep(Math.max(0, due - Date.now() + Math.floor(Math.random() * 300) - 150));
        const posted = Date.now();
        const res = await signedPost(
          world.engine,
          world.ws,
          'email/raw',
          rawReply(lead, firstIdOf.get(lead.email) ?? '', 'race'),
        );
        expect(res.json()).toMatchObject({ status: 'matched', leadId: lead.id });
        // The reply's transaction committed before the response: anything handed to SMTP after this is late.
        return { lead, posted, committedBy: Date.now() };
      }),
    );
    await settle(world, cadence);

    const { row, problems } = await account(world, cadence, '7. reply vs due step ×50');
    report(context, row);
    expect(problems).toEqual([]);
    expect(row.duplicates).toBe(0);
    expect(row.lost).toBe(0);
    const handedOver = new Map(world.proxy.wire.map((m) => [runIdOf(m.messageId), m.handedOverAt.getTime()]));
    const claims = await db
      .select({ id: stepRuns.id, claimedAt: stepRuns.claimedAt })
      .from(stepRuns)
      .where(
        inArray(
          stepRuns.id,
          seconds.map((r) => r.id),
        ),
      );
    const claimedAt = new Map(claims.map((c) => [c.id, c.claimedAt?.getTime() ?? null]));
    const outcomes = races.map(({ lead, committedBy }) => {
      const id = secondOf.get(lead.enrollmentId)?.id ?? '';
      const at = handedOver.get(id);
      const claimed = claimedAt.get(id) ?? null;
      return {
        lead: lead.id,
        claimedAfterReply: claimed !== null && claimed > committedBy,
        msAfterReply: at === undefined ? null : at - committedBy,
      };
    });
    // The claim re-checks the enrollment under a row lock: none starts after the reply committed.
    expect(outcomes.filter((o) => o.claimedAfterReply)).toEqual([]);
    // And none is handed to SMTP after it: the stop must hold until the message leaves.
    const late = outcomes.filter((o) => o.msAfterReply !== null && o.msAfterReply > 0);
    expect(late, 'second emails handed to SMTP after the reply committed').toEqual([]);
    // Every lead replied before its third email was due: none was sent.
    const thirds = await db
      .select({ status: stepRuns.status })
      .from(stepRuns)
      .where(and(inArray(stepRuns.enrollmentId, cadence.enrollmentIds), eq(stepRuns.stepId, 'third')));
    expect(thirds.filter((r) => r.status !== 'canceled')).toEqual([]);
    expect(row.sent).toBeLessThanOrEqual(2 * LEADS);
    const states = await db
      .select({ status: enrollments.status })
      .from(enrollments)
      .where(inArray(enrollments.id, cadence.enrollmentIds));
    expect(states.map((s) => s.status)).toEqual(states.map(() => 'replied'));
  });
});
