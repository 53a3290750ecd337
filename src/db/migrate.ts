import { fileURLToPath } from 'node:url';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import pg from 'pg';
import type { Db } from './client';

export const migrationsFolder = fileURLToPath(new URL('../../migrations', import.meta.url));

/** Arbitrary constants: advisory locks that serialise start-up work across processes. */
const CREATE_DATABASE_LOCK = 727_000;
const MIGRATION_LOCK = 727_001;

/** Creates the database named in `url` when it does not exist yet. */
export async function ensureDatabase(url: string): Promise<void> {
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.replace(/^\//, ''));
  if (!name) return;
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    // Two processes starting at once would both see no database and both create it; the loser
    // gets a unique violation on pg_database, not 42P04. The lock ends with the session.
    await client.query('select pg_advisory_lock($1)', [CREATE_DATABASE_LOCK]);
    const found = await client.query('select 1 from pg_database where datname = $1', [name]);
    if (found.rowCount === 0) {
      await client.query(`create database ${pg.escapeIdentifier(name)}`).catch((err: unknown) => {
        // Another process created it between our check and our create.
        if ((err as { code?: string }).code !== '42P04') throw err;
      });
    }
  } finally {
    await client.end();
  }
}

/** Applies pending migrations under an advisory lock, so two processes starting at once migrate once. */
export async function runMigrations(db: Db, pool: pg.Pool): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('select pg_advisory_lock($1)', [MIGRATION_LOCK]);
    await migrate(db, { migrationsFolder });
  } finally {
    await client.query('select pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => {});
    client.release();
  }
}
