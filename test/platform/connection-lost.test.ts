import { sql } from 'drizzle-orm';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectionLost, retryingLostConnections } from '../../src/db/transaction';
import { startTestEngine, type TestEngine } from '../helpers/engine';

/**
 * Work that is safe to repeat is run again when its connection dies under it (Postgres restarted,
 * a session killed), and only then: a statement Postgres refused is an answer, not a lost one.
 */
describe('lost database connections', () => {
  let engine: TestEngine;
  let admin: pg.Client;
  beforeAll(async () => {
    engine = await startTestEngine();
    admin = new pg.Client({ connectionString: engine.deps.config.DATABASE_URL });
    await admin.connect();
  });
  afterAll(async () => {
    await admin?.end();
    await engine?.close();
  });

  const failureOf = (work: Promise<unknown>) =>
    work.then(
      () => {
        throw new Error('expected the work to fail');
      },
      (err: unknown) => err,
    );

  it('tells a killed session, even behind a failed rollback, from a refused statement', async () => {
    const db = engine.deps.db;
    const killedInTransaction = await failureOf(
      db.transaction(async (tx) => {
        const { rows } = await tx.execute<{ pid: number }>(sql`select pg_backend_pid() as pid`);
        await admin.query('select pg_terminate_backend($1)', [rows[0]?.pid]);
        await tx.execute(sql`select 1`);
      }),
    );
    expect(connectionLost(killedInTransaction)).toBe(true);

    const refused = await failureOf(db.execute(sql`select 1 / 0`));
    expect(connectionLost(refused)).toBe(false);
    const refusedInTransaction = await failureOf(
      db.transaction(async (tx) => {
        await tx.execute(sql`select 1 / 0`);
      }),
    );
    expect(connectionLost(refusedInTransaction)).toBe(false);
  });

  it('runs the work again after a lost connection, and never after a refused statement', async () => {
    const db = engine.deps.db;
    let runs = 0;
    const value = await retryingLostConnections(
      engine.deps,
      () =>
        db.transaction(async (tx) => {
          runs++;
          const { rows } = await tx.execute<{ pid: number }>(sql`select pg_backend_pid() as pid`);
          if (runs === 1) await admin.query('select pg_terminate_backend($1)', [rows[0]?.pid]);
          const { rows: answer } = await tx.execute<{ n: number }>(sql`select 41 + 1 as n`);
          return answer[0]?.n;
        }),
      { firstPauseMs: 10 },
    );
    expect({ value, runs }).toEqual({ value: 42, runs: 2 });

    let refusedRuns = 0;
    await failureOf(
      retryingLostConnections(
        engine.deps,
        () => {
          refusedRuns++;
          return db.execute(sql`select 1 / 0`);
        },
        { firstPauseMs: 10 },
      ),
    );
    expect(refusedRuns).toBe(1);
  });
});
