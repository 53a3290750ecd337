import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, type Database } from '../../src/db/client';
import { ensureDatabase } from '../../src/db/migrate';
import { prepared } from '../../src/db/prepared';
import { dropDatabase, freshDatabaseUrl } from './support';

/**
 * The engine repeats a few statements with new parameters all day (claims, advances, slot takes,
 * reply receipts). Those marked `prepared` are prepared on the connection, so Postgres stops
 * parsing and planning them every time, and each execution still answers for its own parameters.
 */
describe('statements marked prepared are prepared on their connection', () => {
  const url = freshDatabaseUrl();
  let database: Database;
  beforeAll(async () => {
    await ensureDatabase(url);
    // One connection, so the session that runs the statements is the one asked about them.
    database = createDatabase(url, 1);
    await database.pool.query('create table items (id int primary key, name text not null)');
    await database.pool.query("insert into items select g, 'item ' || g from generate_series(1, 50) g");
  });
  afterAll(async () => {
    await database.close();
    await dropDatabase(url);
  });

  const preparedTexts = async () =>
    (
      await database.pool.query<{ statement: string }>('select statement from pg_prepared_statements')
    ).rows.map((r) => r.statement);
  const nameOf = (id: number) =>
    database.db.execute<{ name: string }>(
      prepared(sql`select name from items where id = ${id} and name like ${'item%'}`),
    );

  it('prepares a marked statement, and each run answers for its own parameters', async () => {
    const names: string[] = [];
    for (let id = 1; id <= 8; id++) names.push((await nameOf(id)).rows[0]?.name ?? '');
    expect(names).toEqual(Array.from({ length: 8 }, (_, i) => `item ${i + 1}`));
    expect(await preparedTexts()).toContain(
      '/* prepared */ select name from items where id = $1 and name like $2',
    );
  });

  it('answers a prepared statement correctly after the table changes under it', async () => {
    for (let id = 1; id <= 4; id++) await nameOf(id);
    await database.pool.query('alter table items add column note text');
    await database.pool.query("update items set name = 'renamed' where id = 3");
    expect((await nameOf(3)).rows).toEqual([]);
    expect((await nameOf(4)).rows).toEqual([{ name: 'item 4' }]);
  });

  it('prepares no unmarked statement, and a bounded number per connection', async () => {
    for (let i = 0; i < 4; i++) await database.db.execute(sql`select count(*) from items where id > ${i}`);
    for (let i = 0; i < 130; i++) {
      for (let run = 0; run < 2; run++) {
        const { rows } = await database.db.execute<{ n: number }>(
          prepared(sql`select ${sql.raw(String(i))} + ${run}::int as n`),
        );
        expect(rows[0]?.n).toBe(i + run);
      }
    }
    const statements = await preparedTexts();
    expect(statements.filter((s) => s.includes('count(*)'))).toEqual([]);
    expect(statements.length).toBe(100);
  });
});
