import { drizzle, type NodePgDatabase } from 'drizzle-orm/node-postgres';
import pg from 'pg';
import { PreparingClient } from './prepared';
import * as schema from './schema/index';

export type Db = NodePgDatabase<typeof schema>;
/** A transaction handle; services accept either, so callers can compose them in one transaction. */
export type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];
export type DbOrTx = Db | Tx;

export type Database = { db: Db; pool: pg.Pool; close(): Promise<void> };

export function createDatabase(url: string, max = 10): Database {
  const pool = new pg.Pool({
    connectionString: url,
    max,
    idleTimeoutMillis: 30_000,
    Client: PreparingClient,
  });
  // A dropped connection (e.g. pg_terminate_backend) must not crash the process; the pool replaces it.
  pool.on('error', () => {});
  // The pool listens for errors only on idle clients. A checked-out client (inside a transaction,
  // between two queries) that loses its connection emits 'error' with nobody listening, which kills
  // the process. Its caller still sees the failure on its next query, and the pool discards the
  // client on release because it is no longer queryable.
  pool.on('connect', (client) => client.on('error', () => {}));
  const db = drizzle(pool, { schema });
  return { db, pool, close: () => pool.end() };
}
