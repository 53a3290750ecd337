import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectionShortfall } from '../../src/db/connection-budget';
import { startTestEngine, type TestEngine } from '../helpers/engine';

let engine: TestEngine;
beforeAll(async () => {
  engine = await startTestEngine();
});
afterAll(async () => {
  await engine.close();
});

describe('connection budget at start', () => {
  it('says nothing when the pool fits in what Postgres has free', async () => {
    const pool = { totalCount: engine.deps.pool.totalCount, options: { max: 1 } };
    expect(await connectionShortfall(engine.deps.db, pool)).toBeNull();
  });

  it('reports a pool larger than Postgres accepts, with the limit ordinary roles get', async () => {
    const { rows } = await engine.deps.db.execute<{ usable: number }>(
      sql`select current_setting('max_connections')::int - current_setting('superuser_reserved_connections')::int as usable`,
    );
    const usable = rows[0]?.usable ?? 0;
    const pool = { totalCount: engine.deps.pool.totalCount, options: { max: usable + 1 } };
    const shortfall = await connectionShortfall(engine.deps.db, pool);
    expect(shortfall).toMatchObject({ poolSize: usable + 1, maxConnections: usable });
    expect(shortfall?.heldByOthers).toBeGreaterThanOrEqual(0);
  });
});
