import pg from 'pg';

export type ConnectionPeaks = {
  /** Most connections the process's pool had open at once (`totalCount`), sampled every 10 ms. */
  poolPeak: number;
  /** Most statements waiting for a free pool connection at once, and how often any waited. */
  waitingPeak: number;
  waitingShare: number;
  /** Most backends connected to the stage's database at once (pg_stat_activity, every 100 ms). */
  backendsPeak: number;
  samples: number;
};

/**
 * Watches how many Postgres connections the engine uses while a phase runs: its pool's own count,
 * and the server's view of every backend on the stage's database (which also sees connections
 * opened outside the pool). The server-side sampler connects to `postgres`, so it never counts
 * itself; a bench connection to the stage's database named `bench-observer` is not counted either.
 */
export async function watchConnections(
  pool: pg.Pool,
  databaseUrl: string,
): Promise<{ stop(): Promise<ConnectionPeaks> }> {
  const url = new URL(databaseUrl);
  const name = decodeURIComponent(url.pathname.slice(1));
  url.pathname = '/postgres';
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  let poolPeak = pool.totalCount;
  let waitingPeak = 0;
  let waitingSamples = 0;
  let samples = 0;
  const timer = setInterval(() => {
    samples += 1;
    poolPeak = Math.max(poolPeak, pool.totalCount);
    waitingPeak = Math.max(waitingPeak, pool.waitingCount);
    if (pool.waitingCount > 0) waitingSamples += 1;
  }, 10);
  let backendsPeak = 0;
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const { rows } = await client.query<{ n: number }>(
        "select count(*)::int as n from pg_stat_activity where datname = $1 and application_name <> 'bench-observer'",
        [name],
      );
      backendsPeak = Math.max(backendsPeak, rows[0]?.n ?? 0);
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  return {
    async stop() {
      clearInterval(timer);
      stopped = true;
      await loop.catch(() => {});
      await client.end();
      return {
        poolPeak,
        waitingPeak,
        waitingShare: Number((waitingSamples / Math.max(1, samples)).toFixed(3)),
        backendsPeak,
        samples,
      };
    },
  };
}
