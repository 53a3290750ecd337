import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { account, reachProgress, settle } from './support/ledger';
import { report } from './support/summary';
import { type FaultWorld, sleep, startCadence, startFaultWorld } from './support/world';

const LEADS = 200;
/** The kills land when this share of all steps is decided: always mid-run, however slow the machine. */
const KILL_AT = [0.05, 0.2, 0.35, 0.5, 0.65, 0.8];

describe('fault 1: the worker process SIGKILLed mid-run', () => {
  let world: FaultWorld;
  beforeAll(async () => {
    world = await startFaultWorld();
  });
  afterAll(() => world?.close());

  it('200 leads × 3 emails while the worker is SIGKILLed and restarted 6 times', async (context) => {
    let worker = await world.startWorker();
    const cadence = await startCadence(world, LEADS, { waitSeconds: 3 });
    for (const share of KILL_AT) {
      await reachProgress(world, cadence, share);
      // Somewhere inside the burst: mid-claim, mid-SMTP or mid-advance.
      await sleep(Math.floor(Math.random() * 100));
      const exit = await worker.crash();
      expect(exit.signal).toBe('SIGKILL');
      worker = await world.startWorker();
    }
    await settle(world, cadence);

    const { row, problems } = await account(world, cadence, '1. worker SIGKILL ×6, 200 leads');
    report(context, row);
    expect(problems).toEqual([]);
    expect(row.duplicates).toBe(0);
    expect(row.lost).toBe(0);
    expect(row.stopped).toBe(0);
    expect(row.sent + row.ambiguous + row.held).toBe(row.expected);
    // Only a crash between claim and commit leaves a run ambiguous; the rest all went out.
    expect(row.sent).toBeGreaterThan(row.expected / 2);
  });
});
