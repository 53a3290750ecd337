import { and, eq, inArray, like, ne } from 'drizzle-orm';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { messages, stepRuns } from '../../src/db/schema/index';
import { account, reachProgress, settle } from './support/ledger';
import { report } from './support/summary';
import { type FaultWorld, startCadence, startFaultWorld } from './support/world';

const LEADS = 100;
const KILL_AT = [0.1, 0.3, 0.5, 0.7];

/** Terminates every other session on the engine's database: workers, their pools, the API's pool. */
async function terminateSessions(databaseUrl: string): Promise<number> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ killed: boolean }>(
      `select pg_terminate_backend(pid) as killed from pg_stat_activity
       where datname = current_database() and pid <> pg_backend_pid()`,
    );
    return rows.filter((r) => r.killed).length;
  } finally {
    await client.end();
  }
}

describe('fault 3: Postgres connections killed mid-run', () => {
  let world: FaultWorld;
  beforeAll(async () => {
    world = await startFaultWorld();
  });
  afterAll(() => world?.close());

  it('pg_terminate_backend on every engine connection, 4 times, while 100 leads run 3 emails', async (context) => {
    const workers = [await world.startWorker(), await world.startWorker()];
    const cadence = await startCadence(world, LEADS, { waitSeconds: 3 });
    const killed: number[] = [];
    for (const share of KILL_AT) {
      await reachProgress(world, cadence, share);
      killed.push(await terminateSessions(world.engine.config.DATABASE_URL));
    }
    await settle(world, cadence);

    const { row, problems } = await account(world, cadence, '3. Postgres sessions killed ×4, 100 leads');
    report(context, row);
    expect(problems).toEqual([]);
    // A killed connection is never a reason to give a step up: each one is retried or left ambiguous.
    const gaveUpSteps = await world.engine.deps.db
      .select({ id: stepRuns.id, status: stepRuns.status, reason: stepRuns.reason })
      .from(stepRuns)
      .where(
        and(
          inArray(stepRuns.enrollmentId, cadence.enrollmentIds),
          inArray(stepRuns.status, ['failed', 'canceled', 'skipped']),
        ),
      );
    expect(gaveUpSteps).toEqual([]);
    expect(row.duplicates).toBe(0);
    expect(row.lost).toBe(0);
    expect(row.sent + row.ambiguous + row.held).toBe(row.expected);
    // The SMTP server answered every exchange, so the channel always knows what happened: a killed
    // connection before the hand-off is retried, and one during or after it is settled by the
    // server's answer. Only a run whose outcome could not be written (its lease ran out) may be
    // ambiguous here, never one the channel gave up on.
    const gaveUp = await world.engine.deps.db
      .select({ id: stepRuns.id, reason: stepRuns.reason })
      .from(stepRuns)
      .where(
        and(
          inArray(stepRuns.enrollmentId, cadence.enrollmentIds),
          eq(stepRuns.status, 'ambiguous'),
          like(stepRuns.reason, 'channel_error%'),
        ),
      );
    expect(gaveUp).toEqual([]);
    // And the ledger of messages agrees: every email sent is recorded as sent, none left `sending`.
    const unsettled = await world.engine.deps.db
      .select({ id: messages.id, status: messages.status })
      .from(messages)
      .innerJoin(stepRuns, eq(stepRuns.id, messages.stepRunId))
      .where(
        and(
          inArray(stepRuns.enrollmentId, cadence.enrollmentIds),
          eq(stepRuns.status, 'sent'),
          ne(messages.status, 'sent'),
        ),
      );
    expect(unsettled).toEqual([]);
    // Each kill hit live sessions (two workers' pools at least), and the workers lived through it.
    expect(Math.min(...killed)).toBeGreaterThanOrEqual(2);
    expect(workers.map((w) => w.running())).toEqual([true, true]);
  });
});
