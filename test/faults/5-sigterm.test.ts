import { and, eq, inArray, isNull } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stepRuns } from '../../src/db/schema/index';
import { waitFor } from '../helpers/engine';
import { account, reachProgress, settle } from './support/ledger';
import { report } from './support/summary';
import type { WorkerProcess } from './support/worker-process';
import { type Cadence, FAST_ENGINE, type FaultWorld, startCadence, startFaultWorld } from './support/world';

const LEADS = 100;
const GRACE_MS = Number(FAST_ENGINE.SHUTDOWN_GRACE_SECONDS) * 1000;

async function claimedRuns(world: FaultWorld, cadence: Cadence, opts: { withoutLease?: boolean } = {}) {
  return world.engine.deps.db
    .select({ id: stepRuns.id })
    .from(stepRuns)
    .where(
      and(
        inArray(stepRuns.enrollmentId, cadence.enrollmentIds),
        eq(stepRuns.status, 'claimed'),
        opts.withoutLease ? isNull(stepRuns.leaseUntil) : undefined,
      ),
    );
}

/** SIGTERM, and the exit, which must come within the grace period. */
async function stopWithin(worker: WorkerProcess, ms: number) {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`worker still running ${ms} ms after SIGTERM`)), ms);
  });
  try {
    return await Promise.race([worker.terminate(), late]);
  } finally {
    clearTimeout(timer);
  }
}

describe('fault 5: SIGTERM under load', () => {
  let world: FaultWorld;
  beforeAll(async () => {
    world = await startFaultWorld();
  });
  afterAll(() => world?.close());

  it('the worker drains and exits 0 within its grace period, twice; a new one carries on', async (context) => {
    // Every SMTP answer takes 400 ms, so sends are in flight whenever the signal comes.
    world.proxy.setFault(() => ({ delayMs: 400 }));
    let worker = await world.startWorker();
    const cadence = await startCadence(world, LEADS, { waitSeconds: 3 });
    for (const share of [0.15, 0.55]) {
      await reachProgress(world, cadence, share);
      await waitFor(async () => (await claimedRuns(world, cadence)).length > 0, {
        timeoutMs: 30_000,
        intervalMs: 20,
        what: 'sends in flight',
      });
      const exit = await stopWithin(worker, GRACE_MS);
      expect(exit).toEqual({ code: 0, signal: null });
      expect(await claimedRuns(world, cadence, { withoutLease: true })).toEqual([]);
      // It finished what it had started: nothing is left claimed to become ambiguous later.
      expect(await claimedRuns(world, cadence)).toEqual([]);
      worker = await world.startWorker();
    }
    await settle(world, cadence);

    const { row, problems } = await account(world, cadence, '5. SIGTERM under load ×2, 100 leads');
    report(context, row);
    expect(problems).toEqual([]);
    expect(row.duplicates).toBe(0);
    expect(row.lost).toBe(0);
    expect(row.sent).toBe(row.expected);
  });
});
