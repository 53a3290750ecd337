import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createDatabase } from '../../src/db/client';
import { ensureDatabase, migrationsFolder, runMigrations } from '../../src/db/migrate';
import { dropDatabase, freshDatabaseUrl } from './support';

/** Tables of docs/design.md §2 that the first migration must create. */
const expectedTables = [
  'workspaces',
  'api_keys',
  'leads',
  'stages',
  'stage_events',
  'notes',
  'tasks',
  'sequences',
  'sequence_versions',
  'enrollments',
  'step_runs',
  'messages',
  'events',
  'suppressions',
  'inbound_receipts',
  'mailboxes',
  'linkedin_accounts',
  'linkedin_actions',
  'webhook_endpoints',
  'webhook_deliveries',
  'webhook_attempts',
];

function journalTags(): string[] {
  const journal: { entries: { tag: string }[] } = JSON.parse(
    readFileSync(join(migrationsFolder, 'meta', '_journal.json'), 'utf8'),
  );
  return journal.entries.map((e) => e.tag);
}

/** What one starting process does: create the database if missing, then migrate. */
async function startUp(url: string): Promise<void> {
  await ensureDatabase(url);
  const database = createDatabase(url, 3);
  try {
    await runMigrations(database.db, database.pool);
  } finally {
    await database.close();
  }
}

describe('migrations on an empty database', () => {
  const url = freshDatabaseUrl();
  afterAll(() => dropDatabase(url));

  it('lets two processes start at once: the database is created and migrated exactly once', async () => {
    await Promise.all([startUp(url), startUp(url)]);

    const database = createDatabase(url, 1);
    try {
      const tables = await database.pool.query<{ table_name: string }>(
        "select table_name from information_schema.tables where table_schema = 'public'",
      );
      expect(tables.rows.map((r) => r.table_name)).toEqual(expect.arrayContaining(expectedTables));

      const applied = await database.pool.query<{ hash: string; n: string }>(
        'select hash, count(*) as n from drizzle.__drizzle_migrations group by hash',
      );
      expect(applied.rows).toHaveLength(journalTags().length);
      for (const row of applied.rows) expect(Number(row.n)).toBe(1);
    } finally {
      await database.close();
    }
  });

  it('is a no-op on an up-to-date database', async () => {
    await startUp(url);
    const database = createDatabase(url, 1);
    try {
      const applied = await database.pool.query('select 1 from drizzle.__drizzle_migrations');
      expect(applied.rowCount).toBe(journalTags().length);
    } finally {
      await database.close();
    }
  });
});
