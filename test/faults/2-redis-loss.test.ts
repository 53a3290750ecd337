import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { account, reachProgress, settle } from './support/ledger';
import { report } from './support/summary';
import { type FaultWorld, sleep, startCadence, startFaultWorld } from './support/world';

const LEADS = 100;

describe('fault 2: Redis loses everything mid-run', () => {
  let world: FaultWorld;
  beforeAll(async () => {
    world = await startFaultWorld();
  });
  afterAll(() => world?.close());

  it('FLUSHALL and then a redis-server restart while 100 leads run 3 emails: every step once', async (context) => {
    const workers = [await world.startWorker(), await world.startWorker()];
    const cadence = await startCadence(world, LEADS, { waitSeconds: 3 });
    await reachProgress(world, cadence, 0.2);
    const redis = new Redis(world.redis.url);
    try {
      // The queue really held work: the delayed jobs of the next steps and the burst in flight.
      const before = await redis.dbsize();
      expect(before).toBeGreaterThan(0);
      await redis.flushall();
      expect(await redis.dbsize()).toBeLessThan(before);
    } finally {
      redis.disconnect();
    }

    await reachProgress(world, cadence, 0.55);
    // A crash of redis-server without persistence: connections drop, and it comes back empty.
    await world.restartRedis();
    await sleep(200);
    await settle(world, cadence);

    const { row, problems } = await account(world, cadence, '2. Redis FLUSHALL + restart, 100 leads');
    report(context, row);
    expect(problems).toEqual([]);
    expect(row.duplicates).toBe(0);
    expect(row.lost).toBe(0);
    // No process died, so nothing is even ambiguous: Redis held nothing Postgres could not rebuild.
    expect(row.sent).toBe(row.expected);
    expect(workers.every((w) => w.running())).toBe(true);
  });
});
