import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { createDatabase } from '../../src/db/client';
import { ensureDatabase, runMigrations } from '../../src/db/migrate';

const baseUrl = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

declare module 'vitest' {
  export interface ProvidedContext {
    databaseUrl: string;
    runId: string;
  }
}

/** One database per test run, created and migrated here and dropped after the run. */
export default async function setup(project: TestProject) {
  const runId = randomBytes(4).toString('hex');
  const url = new URL(baseUrl);
  url.pathname = `/outreach_test_${runId}`;
  const databaseUrl = url.toString();
  await ensureDatabase(databaseUrl);
  const database = createDatabase(databaseUrl, 2);
  await runMigrations(database.db, database.pool);
  await database.close();
  project.provide('databaseUrl', databaseUrl);
  project.provide('runId', runId);

  return async () => {
    const admin = new pg.Client({ connectionString: baseUrl });
    await admin.connect();
    await admin.query(
      `drop database if exists ${pg.escapeIdentifier(`outreach_test_${runId}`)} with (force)`,
    );
    await admin.end();
  };
}
