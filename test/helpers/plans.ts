import { is, SQL } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
import type pg from 'pg';

type Plan = { 'Node Type': string; 'Index Name'?: string; Plans?: Plan[] };
type Query = SQL | { toSQL(): { sql: string; params: unknown[] } };

const dialect = new PgDialect();

/** Every index the plan reads, and `Seq Scan` for each table it reads whole. */
function scans(plan: Plan): string[] {
  const own = plan['Index Name'] ?? (plan['Node Type'] === 'Seq Scan' ? 'Seq Scan' : null);
  return [...(own ? [own] : []), ...(plan.Plans ?? []).flatMap(scans)];
}

/** How Postgres would run a query now (EXPLAIN, not run): the indexes and whole-table scans it uses. */
export async function plannedScans(pool: pg.Pool, query: Query): Promise<string[]> {
  const { sql, params } = is(query, SQL) ? dialect.sqlToQuery(query) : query.toSQL();
  const { rows } = await pool.query<{ 'QUERY PLAN': [{ Plan: Plan }] }>(
    `explain (format json) ${sql}`,
    params,
  );
  const [root] = rows[0]?.['QUERY PLAN'] ?? [];
  if (!root) throw new Error('no plan');
  return scans(root.Plan);
}
