import type pg from 'pg';

/** Per table: its row count and newest row version. */
export type Fingerprint = Record<string, string>;

/**
 * Reads a fingerprint of every application table in one query. Comparing two fingerprints tells
 * whether anything was inserted, deleted or changed in between: the "no partial write" check.
 */
export async function createFingerprinter(pool: pg.Pool): Promise<() => Promise<Fingerprint>> {
  const { rows } = await pool.query<{ table_name: string }>(
    `select table_name from information_schema.tables
      where table_schema = 'public' and table_type = 'BASE TABLE' order by table_name`,
  );
  const tables = rows.map((r) => r.table_name);
  if (tables.length === 0) throw new Error('no tables to fingerprint');
  // Row count plus the newest row version (xmin): any committed insert, update or delete changes
  // one of the two, and reading them costs far less than hashing every row.
  const columns = tables.map(
    (t) => `(select count(*) || ':' || coalesce(max(xmin::text::bigint), 0) from "${t}") as "${t}"`,
  );
  const sql = `select ${columns.join(', ')}`;
  return async () => {
    const result = await pool.query<Fingerprint>(sql);
    const row = result.rows[0];
    if (!row) throw new Error('fingerprint query returned nothing');
    return row;
  };
}

/** The tables whose fingerprint differs. */
export function changedTables(before: Fingerprint, after: Fingerprint): string[] {
  return Object.keys(after).filter((t) => before[t] !== after[t]);
}
