import pg from 'pg';
import { startUsage } from '../usage';
import type { Throughput } from './bullmq';

/**
 * Ceiling: raw Postgres. `concurrency` clients each loop on: begin; claim one due row with
 * `FOR UPDATE SKIP LOCKED`; update it; commit; until no row is left. The table has the same shape of
 * index the engine's due scan uses (a partial index on the run time of scheduled rows).
 */
export async function pgClaimCeiling(opts: {
  databaseUrl: string;
  count: number;
  concurrency: number;
}): Promise<Throughput> {
  const pool = new pg.Pool({ connectionString: opts.databaseUrl, max: opts.concurrency });
  pool.on('error', () => {});
  try {
    await pool.query(`create table bench_claim (
      id bigserial primary key,
      status text not null default 'scheduled',
      run_at timestamptz not null default now(),
      claimed_at timestamptz)`);
    await pool.query(`create index bench_claim_due on bench_claim (run_at) where status = 'scheduled'`);
    await pool.query('insert into bench_claim (run_at) select now() from generate_series(1, $1::int)', [
      opts.count,
    ]);
    await pool.query('vacuum analyze bench_claim');
    let claimed = 0;
    // Read while the pool's backends are alive: their CPU is gone with them once it ends.
    const probe = await startUsage(null, opts.databaseUrl);
    const started = performance.now();
    await Promise.all(
      Array.from({ length: opts.concurrency }, async () => {
        const client = await pool.connect();
        try {
          // Bounded: a client can never claim more rows than exist.
          for (let i = 0; i <= opts.count; i++) {
            if (!(await claimOne(client))) return;
            claimed += 1;
          }
        } finally {
          client.release();
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    const cost = await probe.stop(claimed);
    if (claimed !== opts.count) throw new Error(`claimed ${claimed} of ${opts.count} rows`);
    return { count: claimed, seconds, perSecond: claimed / seconds, cost };
  } finally {
    await pool.query('drop table if exists bench_claim').catch(() => {});
    await pool.end();
  }
}

async function claimOne(client: pg.PoolClient): Promise<boolean> {
  await client.query('begin');
  try {
    const { rows } = await client.query<{ id: string }>(
      `select id from bench_claim where status = 'scheduled' and run_at <= now()
       order by run_at limit 1 for update skip locked`,
    );
    const row = rows[0];
    if (row)
      await client.query(`update bench_claim set status = 'claimed', claimed_at = now() where id = $1`, [
        row.id,
      ]);
    await client.query('commit');
    return row !== undefined;
  } catch (err) {
    await client.query('rollback').catch(() => {});
    throw err;
  }
}
