import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { createDatabase } from '../src/db/client';
import { ensureDatabase, runMigrations } from '../src/db/migrate';
import { deleteKeys } from '../src/queue/delete-keys';

/** Options of one bench run, from the command line. */
export type BenchOptions = {
  quick: boolean;
  /** Write a CPU profile per scenario (this process) and per child server into `profileDir`. */
  cpuProf: boolean;
  profileDir: string;
  /** Scenario names to run; empty means all. */
  only: string[];
};

/**
 * What the bench changes in the engine's defaults on request: `BENCH_STEP_CONCURRENCY` runs the
 * engine and the ceilings at another step concurrency, `BENCH_DATABASE_POOL_SIZE` the engine with
 * another pool, to measure that tuning.
 */
export function engineOverrides(): Record<string, string> {
  const concurrency = process.env.BENCH_STEP_CONCURRENCY;
  const pool = process.env.BENCH_DATABASE_POOL_SIZE;
  return {
    ...(concurrency ? { STEP_CONCURRENCY: concurrency } : {}),
    ...(pool ? { DATABASE_POOL_SIZE: pool } : {}),
  };
}

/** One scenario's isolated resources: a database copied from the migrated template and a queue prefix. */
export type Stage = {
  name: string;
  databaseUrl: string;
  prefix: string;
  /** Environment for `loadConfig` (the engine's own zod config) pointing at this stage. */
  env: Record<string, string>;
  /** Drops the database and deletes the prefix's Redis keys. */
  drop(): Promise<void>;
};

export type BenchEnv = {
  runId: string;
  options: BenchOptions;
  redisUrl: string;
  stage(name: string, env?: Record<string, string>): Promise<Stage>;
  /** Removes every database and Redis key this run created, whatever state it is in. */
  close(): Promise<void>;
};

export const ADMIN_TOKEN = 'bench-admin-token-0123456789';

const baseDatabaseUrl = () =>
  new URL(process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres');

function assertLoopback(url: URL, what: string): void {
  // The bench generates load: it must never be pointed at anything but this machine.
  if (!['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname))
    throw new Error(`${what} must be on loopback for the bench, got ${url.hostname}`);
}

function withDatabase(name: string): string {
  const url = baseDatabaseUrl();
  url.pathname = `/${name}`;
  return url.toString();
}

async function adminQuery<T extends pg.QueryResultRow>(text: string, values: unknown[] = []) {
  const client = new pg.Client({ connectionString: withDatabase('postgres') });
  await client.connect();
  try {
    return (await client.query<T>(text, values)).rows;
  } finally {
    await client.end();
  }
}

/**
 * Creates the run's migrated template database. Every scenario then gets its own copy, so one
 * scenario's million rows never slow the next one down, and all are dropped by `close`.
 */
export async function createBenchEnv(options: BenchOptions): Promise<BenchEnv> {
  const runId = randomBytes(4).toString('hex');
  const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  assertLoopback(baseDatabaseUrl(), 'the database');
  assertLoopback(new URL(redisUrl), 'Redis');
  const dbPrefix = `outreach_bench_${runId}`;
  const template = `${dbPrefix}_tpl`;
  // A fixed key for the run: the parent seeds secrets that child servers must decrypt.
  const encryptionKey = randomBytes(32).toString('hex');
  let stages = 0;

  const env: BenchEnv = {
    runId,
    options,
    redisUrl,
    async stage(name, extra = {}) {
      const index = ++stages;
      const database = `${dbPrefix}_${index}`;
      await adminQuery(
        `create database ${pg.escapeIdentifier(database)} template ${pg.escapeIdentifier(template)}`,
      );
      const prefix = `bench_${runId}_${index}`;
      const databaseUrl = withDatabase(database);
      return {
        name,
        databaseUrl,
        prefix,
        env: {
          DATABASE_URL: databaseUrl,
          REDIS_URL: redisUrl,
          QUEUE_PREFIX: prefix,
          ...engineOverrides(),
          ADMIN_TOKEN,
          ENCRYPTION_KEY: encryptionKey,
          LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'error',
          PUBLIC_URL: 'http://127.0.0.1:3000',
          // The per-key limiter is a policy, not a capacity: the bench measures what is behind it.
          RATE_LIMIT_PER_MINUTE: '1000000000',
          // The SMTP sink and HTTP servers of the bench listen there.
          ALLOWED_PRIVATE_TARGETS: '127.0.0.1',
          ...extra,
        },
        async drop() {
          await adminQuery(`drop database if exists ${pg.escapeIdentifier(database)} with (force)`);
          await deleteKeys(extra.REDIS_URL ?? redisUrl, `${prefix}:*`);
        },
      };
    },
    async close() {
      const rows = await adminQuery<{ datname: string }>(
        'select datname from pg_database where datname like $1',
        // `_` is a LIKE wildcard: escape it so only this run's databases match.
        [`${dbPrefix.replaceAll('_', '\\_')}%`],
      );
      for (const { datname } of rows)
        await adminQuery(`drop database if exists ${pg.escapeIdentifier(datname)} with (force)`);
      await deleteKeys(redisUrl, `bench_${runId}_*`);
    },
  };

  try {
    const templateUrl = withDatabase(template);
    await ensureDatabase(templateUrl);
    const database = createDatabase(templateUrl, 2);
    await runMigrations(database.db, database.pool);
    await database.close();
  } catch (err) {
    await env.close().catch(() => {});
    throw err;
  }
  return env;
}
