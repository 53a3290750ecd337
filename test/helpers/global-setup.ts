import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { createDatabase } from '../../src/db/client';
import { ensureDatabase, runMigrations } from '../../src/db/migrate';

const baseUrl = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

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
 * All of them are dropped after the run.
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
  };
}
