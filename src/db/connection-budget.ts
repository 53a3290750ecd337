import { sql } from 'drizzle-orm';
import type { Db } from './client';

export type ConnectionBudget = {
  /** Connections this process may open (its pool). */
  poolSize: number;
  /** What Postgres accepts in all, less the slots it keeps for superusers. */
  maxConnections: number;
  /** Connections other clients hold now. */
  heldByOthers: number;
};

/**
 * Whether this process's pool fits in what Postgres has left for it now: the slots ordinary
 * roles may use, less what other clients hold. Null when it fits. A pool that does not fit works
 * until a burst, then fails with "too many clients" far from its cause, so the engine says so at
 * start. Other processes of the same deployment may not be up yet, so this is a floor, not a sum.
 */
export async function connectionShortfall(
  db: Db,
  pool: { totalCount: number; options: { max?: number } },
): Promise<ConnectionBudget | null> {
  const { rows } = await db.execute<{ max: number; reserved: number; held: number }>(sql`
    select current_setting('max_connections')::int as max,
      current_setting('superuser_reserved_connections')::int as reserved,
      (select count(*) from pg_stat_activity where backend_type = 'client backend')::int as held`);
  const row = rows[0];
  if (!row) return null;
  const budget = {
    // pg's default when no size is given.
    poolSize: pool.options.max ?? 10,
    maxConnections: row.max - row.reserved,
    heldByOthers: Math.max(0, row.held - pool.totalCount),
  };
  return budget.poolSize > budget.maxConnections - budget.heldByOthers ? budget : null;
}
