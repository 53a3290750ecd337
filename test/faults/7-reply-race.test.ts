import { and, eq, inArray } from 'drizzle-orm';
import { afterEach, describe, expect, it, type TestContext } from 'vitest';
import { waitFor } from '../helpers/engine';
import { enrollments, events, stepRuns } from '../../src/db/schema/index';
import { signedPost } from '../api/inbound-webhooks/support';
import { account, runIdOf, settle } from './support/ledger';
import { firstMessageIds, rawReply } from './support/replies';
import { report } from './support/summary';
import { type CadenceLead, type FaultWorld, sleep, startCadence, startFaultWorld } from './support/world';

const LEADS = 50;

type Race = { lead: CadenceLead; posted: number; committedBy: number };

describe('fault 7: a reply and a due step at the same moment', () => {
  let world: FaultWorld | undefined;
  afterEach(async () => {
    await world?.close();
    world = undefined;
  });

  /**
   * 50 leads reply just as their second email falls due (at a random point of `sweepMs` around
   * it, to sweep the race window), with the SMTP server answering each message after `verdictDelayMs`. Checks the
   * guarantee as docs/decisions.md states it: no run is claimed after the reply committed, and a
   * message handed to SMTP after the reply committed is one the reply's stop listed as in flight
   * (its hand-off check had committed first). Nothing after it runs.
   */
  async function race(
    context: TestContext,
    scenario: string,
    opts: { verdictDelayMs: number; sweepMs: [number, number]; workerEnv?: Record<string, string> },
  ) {
    const { verdictDelayMs } = opts;
    world = await startFaultWorld();
    const w = world;
    if (verdictDelayMs > 0) w.proxy.setFault(() => ({ delayMs: verdictDelayMs }));
    await w.startWorker(opts.workerEnv);
    const cadence = await startCadence(w, LEADS, { waitSeconds: 4 + Math.ceil(verdictDelayMs / 1000) });
    const db = w.engine.deps.db;
    const firstIdOf = await firstMessageIds(w, cadence);
    // Every lead's second run scheduled (its first email recorded sent), so each reply aims at a due time.
    const seconds = await waitFor(
      async () => {
        const rows = await db
          .select({ id: stepRuns.id, enrollmentId: stepRuns.enrollmentId, runAt: stepRuns.runAt })
          .from(stepRuns)
          .where(and(inArray(stepRuns.enrollmentId, cadence.enrollmentIds), eq(stepRuns.stepId, 'second')));
        return rows.length === LEADS ? rows : null;
      },
      { timeoutMs: 60_000, what: 'every second run scheduled' },
    );
    const secondOf = new Map(seconds.map((r) => [r.enrollmentId, r]));

    const races: Race[] = await Promise.all(
      cadence.leads.map(async (lead) => {
        const due = secondOf.get(lead.enrollmentId)?.runAt.getTime() ?? Date.now();
        const [from, to] = opts.sweepMs;
        await sleep(Math.max(0, due - Date.now() + from + Math.floor(Math.random() * (to - from))));
        const posted = Date.now();
        const res = await signedPost(
          w.engine,
          w.ws,
          'email/raw',
          rawReply(lead, firstIdOf.get(lead.email) ?? '', 'race'),
        );
        expect(res.json()).toMatchObject({ status: 'matched', leadId: lead.id });
        // The reply's transaction committed before the response.
        return { lead, posted, committedBy: Date.now() };
      }),
    );
    await settle(w, cadence);

    const { row, problems } = await account(w, cadence, scenario);
    report(context, row);
    expect(problems).toEqual([]);
    expect(row.duplicates).toBe(0);
    expect(row.lost).toBe(0);
    const handedOver = new Map(w.proxy.wire.map((m) => [runIdOf(m.messageId), m.handedOverAt.getTime()]));
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
    const stops = await db
      .select({ enrollmentId: events.enrollmentId, data: events.data })
      .from(events)
      .where(and(inArray(events.enrollmentId, cadence.enrollmentIds), eq(events.type, 'enrollment.stopped')));
    const inFlight = new Set(stops.flatMap((e) => (e.data.inFlight as string[] | undefined) ?? []));
    const outcomes = races.map(({ lead, posted, committedBy }) => {
      const id = secondOf.get(lead.enrollmentId)?.id ?? '';
      const at = handedOver.get(id);
      const claimed = claimedAt.get(id) ?? null;
      return {
        lead: lead.id,
        run: id,
        claimedAfterReply: claimed !== null && claimed > committedBy,
        handedAfterReply: at !== undefined && at > committedBy,
        listedInFlight: inFlight.has(id),
        // Posted while its second email was with the server, and answered before the server's verdict.
        duringExchange: at !== undefined && posted > at && posted < at + verdictDelayMs,
        ackedBeforeVerdict: at !== undefined && committedBy < at + verdictDelayMs,
      };
    });
    // The claim re-checks the enrollment under a row lock: none starts after the reply committed.
    expect(outcomes.filter((o) => o.claimedAfterReply)).toEqual([]);
    // A message handed to SMTP after the reply committed had passed its hand-off check before: the
    // reply's stop named it in flight.
    const unlisted = outcomes.filter((o) => o.handedAfterReply && !o.listedInFlight);
    expect(unlisted, 'second emails handed to SMTP after the reply, not named in flight').toEqual([]);
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
    return outcomes;
  }

  it('50 leads reply just as their second email falls due: nothing is claimed after a reply commits', async (context) => {
    await race(context, '7. reply vs due step ×50', { verdictDelayMs: 0, sweepMs: [-150, 150] });
  });

  it('the same with an SMTP server that answers each message after 1.5 s: replies do not wait for it', async (context) => {
    // Enough SMTP sessions that every second email is with the server at its due time, and replies
    // swept over the exchange (from just before it to its end).
    const outcomes = await race(context, '7b. reply vs due step ×50, SMTP answers after 1.5 s', {
      verdictDelayMs: 1_500,
      sweepMs: [-150, 1_350],
      workerEnv: { SMTP_SESSIONS_PER_MAILBOX: '20', STEP_CONCURRENCY: '50' },
    });
    // Replies landed while their lead's second email was with the server, and each of those was
    // acknowledged before the server answered (no lock waits for it).
    const during = outcomes.filter((o) => o.duringExchange);
    expect(during.length).toBeGreaterThanOrEqual(10);
    expect(during.filter((o) => !o.ackedBeforeVerdict)).toEqual([]);
  });
});
