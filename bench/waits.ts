import pg from 'pg';

export type WaitSample = { what: string; share: number };
export type WaitSampler = { stop(): Promise<{ samples: number; top: WaitSample[] }> };

/**
 * Samples `pg_stat_activity` for the stage's database every 100 ms while a phase runs: what its
 * busy backends are doing (waiting on a lock, on the client, on WAL…) and in which statement. The
 * top entries say where the time goes on the database side; `Client:ClientRead` in a transaction
 * means Postgres is waiting for Node to send the next statement.
 */
export async function sampleWaits(databaseUrl: string): Promise<WaitSampler> {
  const url = new URL(databaseUrl);
  const name = decodeURIComponent(url.pathname.slice(1));
  url.pathname = '/postgres';
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  const counts = new Map<string, number>();
  let samples = 0;
  let stopped = false;
  const loop = (async () => {
    // Bounded by `stop`; one sample at a time, so a slow server just samples less often.
    while (!stopped) {
      const { rows } = await client.query<{ what: string }>(
        `select coalesce(wait_event_type || ':' || wait_event, 'CPU') || ' | ' || state || ' | ' ||
           left(regexp_replace(query, '\\s+', ' ', 'g'), 70) as what
         from pg_stat_activity where datname = $1 and state <> 'idle' and pid <> pg_backend_pid()`,
        [name],
      );
      samples += 1;
      for (const { what } of rows) counts.set(what, (counts.get(what) ?? 0) + 1);
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop.catch(() => {});
      await client.end();
      const total = [...counts.values()].reduce((a, b) => a + b, 0);
      const top = [...counts.entries()]
        .sort((a, b) => b[1] - a[1])
        .slice(0, 8)
        .map(([what, n]) => ({ what, share: Number((n / Math.max(1, total)).toFixed(3)) }));
      return { samples, top };
    },
  };
}
