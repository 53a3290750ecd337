import { afterEach, describe, expect, it } from 'vitest';
import { createTestWorkspace, startTestEngine, type TestEngine, waitFor } from '../helpers/engine';
import { freePort, type PrivateRedis, startPrivateRedis } from './support';

describe('Redis outage', () => {
  let redis: PrivateRedis | undefined;
  let engine: TestEngine | undefined;
  afterEach(async () => {
    await engine?.close();
    await redis?.stop();
  });

  it('answers 503 while Redis is down and recovers without a restart', async () => {
    const port = await freePort();
    redis = await startPrivateRedis(port);
    engine = await startTestEngine({ workers: true, env: { REDIS_URL: redis.url } });
    const { app } = engine;
    const health = () => app.inject({ method: 'GET', url: '/health' });
    expect((await health()).statusCode).toBe(200);
    const ws = await createTestWorkspace(app);

    await redis.stop();
    const down = await waitFor(
      async () => {
        const res = await health();
        return res.statusCode === 503 ? res : null;
      },
      { timeoutMs: 30_000, what: '/health to report redis down' },
    );
    expect(down.json()).toEqual({ status: 'degraded', postgres: 'ok', redis: 'down' });
    // Routes that only need Postgres keep working meanwhile.
    const workspace = await app.inject({ method: 'GET', url: '/v1/workspace', headers: ws.auth });
    expect(workspace.statusCode).toBe(200);

    redis = await startPrivateRedis(port);
    const up = await waitFor(
      async () => {
        const res = await health();
        return res.statusCode === 200 ? res : null;
      },
      { timeoutMs: 30_000, what: '/health to recover' },
    );
    expect(up.json()).toEqual({ status: 'ok', postgres: 'ok', redis: 'ok' });
  });
});
