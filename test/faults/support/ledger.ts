import { and, eq, inArray, isNotNull, sql } from 'drizzle-orm';
import { enrollments, stepRuns } from '../../../src/db/schema/index';
import { retryingLostConnections } from '../../../src/db/transaction';
import { waitFor } from '../../helpers/engine';
import type { FaultRow } from './summary';
import type { Cadence, FaultWorld } from './world';

/** Email steps per enrollment in every cadence of the suite (see `startCadence`). */
export const STEPS_PER_LEAD = 3;

const terminalRun = new Set(['sent', 'ambiguous', 'failed', 'canceled', 'skipped']);
const stoppedEnrollment = new Set(['replied', 'stopped', 'bounced', 'unsubscribed', 'failed']);

/** The step run a message belongs to: the email channel's Message-ID is `<stepRunId@domain>`. */
export const runIdOf = (messageId: string | null | undefined) =>
  /^<([0-9a-f-]{36})@/i.exec(messageId ?? '')?.[1]?.toLowerCase() ?? null;

/** How many copies of each step run's message the sink received. */
export function deliveriesPerRun(world: FaultWorld): Map<string, number> {
  const counts = new Map<string, number>();
  for (const mail of world.sink.received) {
    const id = runIdOf(mail.parsed.messageId);
    if (id) counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return counts;
}

/**
 * An observation of the test's own, run again when a fault (fault 3 kills every session on the
 * database, the test engine's pool included) took the connection it was given.
 */
const observing = <T>(world: FaultWorld, read: () => Promise<T>) =>
  retryingLostConnections(world.engine.deps, read, { attempts: 3, firstPauseMs: 50 });

function ledgerOf(world: FaultWorld, cadence: Cadence) {
  return observing(world, () => readLedger(world, cadence));
}

async function readLedger(world: FaultWorld, cadence: Cadence) {
  const db = world.engine.deps.db;
  const runs = await db
    .select({
      id: stepRuns.id,
      enrollmentId: stepRuns.enrollmentId,
      stepIndex: stepRuns.stepIndex,
      status: stepRuns.status,
      reason: stepRuns.reason,
    })
    .from(stepRuns)
    .where(inArray(stepRuns.enrollmentId, cadence.enrollmentIds));
  const states = await db
    .select({ id: enrollments.id, status: enrollments.status })
    .from(enrollments)
    .where(inArray(enrollments.id, cadence.enrollmentIds));
  return { runs, states };
}

/**
 * Waits until every run of the cadence has an outcome (nothing `scheduled` or `claimed`). Runs a
 * channel deferred (an SMTP retry minutes away) are brought forward as if that time had passed:
 * a new generation with no job yet, exactly what the feeder hands to Redis when a run falls due.
 * That is where a send the engine wrongly thinks failed would go out a second time.
 */
export async function settle(world: FaultWorld, cadence: Cadence, timeoutMs = 90_000): Promise<void> {
  const db = world.engine.deps.db;
  await waitFor(
    async () => {
      await observing(world, () =>
        db
          .update(stepRuns)
          .set({ runAt: sql`now()`, generation: sql`${stepRuns.generation} + 1`, enqueuedAt: null })
          .where(
            and(
              inArray(stepRuns.enrollmentId, cadence.enrollmentIds),
              eq(stepRuns.status, 'scheduled'),
              isNotNull(stepRuns.reason),
              sql`${stepRuns.runAt} > now() + interval '1 second'`,
            ),
          ),
      );
      const { runs } = await ledgerOf(world, cadence);
      return runs.every((r) => terminalRun.has(r.status));
    },
    { timeoutMs, intervalMs: 250, what: 'every step run of the cadence to reach an outcome' },
  );
}

type LedgerRun = Awaited<ReturnType<typeof ledgerOf>>['runs'][number];

/** Messages to the cadence's leads that no step run of it explains (a stray or forged send). */
function strayMessages(world: FaultWorld, cadence: Cadence, runs: LedgerRun[]): string[] {
  const runIds = new Set(runs.map((r) => r.id));
  const addresses = new Set(cadence.leads.map((l) => l.email));
  return world.sink.received.flatMap((mail) => {
    const id = runIdOf(mail.parsed.messageId);
    const ours = mail.envelopeTo.some((to) => addresses.has(to));
    return ours && (!id || !runIds.has(id))
      ? [`message ${mail.parsed.messageId ?? '?'} matches no step run`]
      : [];
  });
}

/** Adds one enrollment's steps to `row`: its runs by status and copies received, then the steps it never reached. */
function accountEnrollment(
  row: FaultRow,
  state: { id: string; status: string },
  own: LedgerRun[],
  delivered: Map<string, number>,
): string[] {
  const problems: string[] = [];
  for (const run of own) {
    const copies = delivered.get(run.id) ?? 0;
    row.duplicates += Math.max(0, copies - 1);
    if (run.status === 'sent' && copies > 0) row.sent++;
    else if (run.status === 'ambiguous') row.ambiguous++;
    else if (['failed', 'canceled', 'skipped'].includes(run.status) && copies === 0) row.stopped++;
    else {
      row.lost++;
      problems.push(
        `run ${run.id} is ${run.status} (${run.reason ?? 'no reason'}) with ${copies} deliveries`,
      );
    }
  }
  const remaining = STEPS_PER_LEAD - own.length;
  if (remaining <= 0) return problems;
  const last = own.at(-1);
  if (stoppedEnrollment.has(state.status)) row.stopped += remaining;
  else if (state.status === 'active' && last?.status === 'ambiguous') row.held += remaining;
  else {
    row.lost += remaining;
    problems.push(`enrollment ${state.id} (${state.status}) has ${remaining} steps with no run`);
  }
  return problems;
}

/**
 * Reads the ledger and the sink and accounts for every step of every lead: sent (once), ambiguous,
 * held behind an ambiguous run, stopped (canceled, failed, or never due after a stop), or lost.
 * `problems` names each step that is none of these, and each message the ledger cannot explain.
 */
export async function account(
  world: FaultWorld,
  cadence: Cadence,
  scenario: string,
): Promise<{ row: FaultRow; problems: string[] }> {
  const { runs, states } = await ledgerOf(world, cadence);
  const delivered = deliveriesPerRun(world);
  const row: FaultRow = {
    scenario,
    expected: cadence.enrollmentIds.length * STEPS_PER_LEAD,
    sent: 0,
    duplicates: 0,
    ambiguous: 0,
    held: 0,
    stopped: 0,
    lost: 0,
  };
  const problems = strayMessages(world, cadence, runs);
  for (const state of states) {
    const own = runs.filter((r) => r.enrollmentId === state.id).sort((a, b) => a.stepIndex - b.stepIndex);
    problems.push(...accountEnrollment(row, state, own, delivered));
  }
  return { row, problems };
}

/**
 * Waits until `share` of the cadence's steps are decided (sent, ambiguous, held or stopped). Faults
 * are injected at such milestones rather than after fixed sleeps, so each lands mid-run whatever
 * the machine's speed, and a scenario whose faults strand steps still moves on.
 */
export async function reachProgress(world: FaultWorld, cadence: Cadence, share: number): Promise<void> {
  await waitFor(
    async () => {
      const { row } = await account(world, cadence, '');
      return row.sent + row.ambiguous + row.held + row.stopped >= share * row.expected;
    },
    { timeoutMs: 90_000, intervalMs: 50, what: `${Math.round(share * 100)}% of the steps decided` },
  );
}
