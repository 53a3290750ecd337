import { afterAll, describe, expect, it } from 'vitest';
import { testEnv, uniquePrefix, waitFor } from '../helpers/engine';
import {
  deleteQueueKeys,
  dropDatabase,
  exitWithin,
  freePort,
  freshDatabaseUrl,
  type ServerProcess,
  spawnServer,
  startPrivateRedis,
  tryGet,
} from './support';

const GRACE_SECONDS = 10;

/** Spawned engines of this file, killed at the end whatever the assertions did. */
const spawned: ServerProcess[] = [];
const prefixes: string[] = [];

function start(env: Record<string, string>): ServerProcess {
  const server = spawnServer({
    ...testEnv(),
    LOG_LEVEL: 'info',
    SHUTDOWN_GRACE_SECONDS: String(GRACE_SECONDS),
    ...env,
  });
  spawned.push(server);
  return server;
}

async function waitHealthy(port: number): Promise<void> {
  await waitFor(async () => (await tryGet(`http://127.0.0.1:${port}/health`))?.status === 200, {
    timeoutMs: 60_000,
    what: `/health 200 on port ${port}`,
  });
}

async function stopGracefully(server: ServerProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  server.child.kill(signal);
  const exit = await exitWithin(server, GRACE_SECONDS * 1000);
  expect(exit).toEqual({ code: 0, signal: null });
}

afterAll(async () => {
  await Promise.all(spawned.map((s) => s.kill()));
  await Promise.all(prefixes.map((p) => deleteQueueKeys(p)));
});

describe('the engine process', () => {
  it('creates its database on start, serves, and exits 0 on SIGTERM within the grace period', async () => {
    const databaseUrl = freshDatabaseUrl();
    const port = await freePort();
    const prefix = uniquePrefix();
    prefixes.push(prefix);
    try {
      const server = start({ DATABASE_URL: databaseUrl, QUEUE_PREFIX: prefix, PORT: String(port) });
      await waitHealthy(port);
      await stopGracefully(server);
      expect(server.stdout()).toContain('"msg":"stopped"');
      expect(await tryGet(`http://127.0.0.1:${port}/health`)).toBeNull();
    } finally {
      await dropDatabase(databaseUrl);
    }
  });

  it('with ROLE=api serves HTTP and starts no workers', async () => {
    const port = await freePort();
    const prefix = uniquePrefix();
    prefixes.push(prefix);
    const server = start({ ROLE: 'api', PORT: String(port), QUEUE_PREFIX: prefix });
    await waitHealthy(port);
    // The start-up line can reach the pipe just after /health first answers: wait for it, not race it.
    await waitFor(async () => server.stdout().includes('engine started'), {
      timeoutMs: 30_000,
      what: 'the start-up log line',
    });
    expect(server.stdout()).toContain('"role":"api"');
    expect(server.stdout()).not.toContain('workers started');
    await stopGracefully(server);
  });

  it('with ROLE=worker runs the workers and does not listen', async () => {
    const port = await freePort();
    const prefix = uniquePrefix();
    prefixes.push(prefix);
    const server = start({ ROLE: 'worker', PORT: String(port), QUEUE_PREFIX: prefix });
    await waitFor(async () => server.stdout().includes('engine started'), {
      timeoutMs: 60_000,
      what: 'the worker to start',
    });
    expect(server.stdout()).toContain('workers started');
    expect(await tryGet(`http://127.0.0.1:${port}/health`)).toBeNull();
    // Ctrl-C in a terminal: SIGINT drains the same way.
    await stopGracefully(server, 'SIGINT');
  });

  it('warns at start when its pool may not fit in the connections Postgres has free', async () => {
    const prefix = uniquePrefix();
    prefixes.push(prefix);
    // A pool of 1,000 (DATABASE_POOL_SIZE), more than Postgres' default 100 allow.
    const server = start({ ROLE: 'worker', DATABASE_POOL_SIZE: '1000', QUEUE_PREFIX: prefix });
    await waitFor(async () => server.stdout().includes('engine started'), {
      timeoutMs: 60_000,
      what: 'the worker to start',
    });
    const warning = server
      .stdout()
      .split('\n')
      .find((line) => line.includes('more Postgres connections than are free'));
    expect(warning).toBeDefined();
    expect(JSON.parse(warning ?? '{}')).toMatchObject({ level: 40, poolSize: 1000 });
    await stopGracefully(server);
  });

  it('refuses to start against a Redis that may evict keys', async () => {
    const redis = await startPrivateRedis(await freePort(), ['--maxmemory-policy', 'allkeys-lru']);
    try {
      const server = start({ REDIS_URL: redis.url, PORT: String(await freePort()) });
      const exit = await exitWithin(server, 60_000);
      expect(exit.code).toBe(1);
      expect(server.stderr()).toContain('maxmemory-policy is "allkeys-lru"');
      expect(server.stderr()).toContain('noeviction');
    } finally {
      await redis.stop();
    }
  });
});
