import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { createDatabase } from '../../src/db/client';
import { ensureDatabase, runMigrations } from '../../src/db/migrate';
import { deleteKeys } from '../../src/queue/delete-keys';

const baseUrl = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
// The engine's own default (src/config.ts), which test engines use unless a test starts its own server.
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

declare module 'vitest' {
  export interface ProvidedContext {
    databaseUrl: string;
    /** A migrated database nobody connects to: each test engine gets a copy (CREATE DATABASE … TEMPLATE). */
    templateDatabase: string;
    runId: string;
  }
}

/**
 * One migrated database per test run, plus a migrated template from which every test engine gets a
 * database of its own (engines' maintenance loops scan the whole ledger, so suites must not share one).
 * All of them are dropped after the run, and the Redis keys of the run's queue prefixes deleted.
 */
export default async function setup(project: TestProject) {
  const runId = randomBytes(4).toString('hex');
  const url = new URL(baseUrl);
  url.pathname = `/outreach_test_${runId}`;
  const databaseUrl = url.toString();
  await ensureDatabase(databaseUrl);
  const database = createDatabase(databaseUrl, 2);
  await runMigrations(database.db, database.pool);
  await database.close();
  const template = `outreach_test_${runId}_tpl`;
  const admin = new pg.Client({ connectionString: baseUrl });
  await admin.connect();
  await admin.query(
    `create database ${pg.escapeIdentifier(template)} template ${pg.escapeIdentifier(`outreach_test_${runId}`)}`,
  );
  await admin.end();
  project.provide('databaseUrl', databaseUrl);
  project.provide('templateDatabase', template);
  project.provide('runId', runId);

  return async () => {
    const admin = new pg.Client({ connectionString: baseUrl });
    await admin.connect();
    const { rows } = await admin.query<{ datname: string }>(
      'select datname from pg_database where datname like $1',
      [`outreach_test_${runId}%`],
    );
    for (const { datname } of rows) {
      await admin.query(`drop database if exists ${pg.escapeIdentifier(datname)} with (force)`);
    }
    await admin.end();
    // Every test engine's prefix starts with the run id (`uniquePrefix` in engine.ts). A Redis that
    // is down now costs a warning, not the run's result.
    await deleteKeys(redisUrl, `t_${runId}_*`).catch((err: unknown) =>
      console.warn(`could not delete this run's Redis keys (t_${runId}_*): ${String(err)}`),
    );
  };
}
