import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { DestinationStream } from 'pino';
import { inject } from 'vitest';
import { buildApp } from '../../src/app';
import { type Config, loadConfig } from '../../src/config';
import { createDeps, type Deps } from '../../src/context';
import { createLogger } from '../../src/logger';
import type { Channels } from '../../src/engine/step-runner';
import { startWorkers, type RunningWorkers } from '../../workers/index';

export const ADMIN_TOKEN = 'test-admin-token-0123456789';

export type TestEngine = {
  deps: Deps;
  app: FastifyInstance;
  workers: RunningWorkers | null;
  config: Config;
  close(): Promise<void>;
};

/** A fresh queue prefix, so suites never see each other's jobs. */
export const uniquePrefix = () => `t_${inject('runId')}_${randomBytes(3).toString('hex')}`;

/** Environment for the engine under test: the run's database and a fresh queue prefix. */
export function testEnv(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    DATABASE_URL: inject('databaseUrl'),
    ADMIN_TOKEN,
    QUEUE_PREFIX: uniquePrefix(),
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    PUBLIC_URL: 'http://localhost:3000',
    ...overrides,
  };
}

/** Boots the real app (and, when asked, the real workers) against the test database and Redis. */
export async function startTestEngine(
  opts: {
    workers?: boolean;
    env?: Record<string, string>;
    logDestination?: DestinationStream;
    /** Channels for the step worker; tests pass the recording channel or real ones. */
    channels?: Channels;
  } = {},
): Promise<TestEngine> {
  const config = loadConfig(testEnv(opts.env));
  const log = createLogger(config.LOG_LEVEL, opts.logDestination);
  const deps = createDeps(config, log, { poolSize: 10 });
  const app = await buildApp(deps);
  await app.ready();
  const workers = opts.workers ? await startWorkers(deps, { channels: opts.channels }) : null;
  return {
    deps,
    app,
    workers,
    config,
    async close() {
      await workers?.close(5_000);
      await app.close();
      await deleteQueueKeys(deps);
      await deps.close();
    },
  };
}

async function deleteQueueKeys(deps: Deps): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await deps.redis.scan(
      cursor,
      'MATCH',
      `${deps.config.QUEUE_PREFIX}:*`,
      'COUNT',
      1000,
    );
    cursor = next;
    if (keys.length > 0) await deps.redis.del(...keys);
  } while (cursor !== '0');
}

export type TestWorkspace = {
  id: string;
  apiKey: string;
  webhookSecret: string;
  auth: { authorization: string };
};

/** Creates a workspace through the admin API, as a user would. */
export async function createTestWorkspace(app: FastifyInstance, name = 'Acme'): Promise<TestWorkspace> {
  const res = await app.inject({
    method: 'POST',
    url: '/v1/workspaces',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    payload: { name },
  });
  if (res.statusCode !== 201) throw new Error(`workspace create failed: ${res.statusCode} ${res.body}`);
  const body = res.json<{ id: string; apiKey: string; webhookSecret: string }>();
  return { ...body, auth: { authorization: `Bearer ${body.apiKey}` } };
}

/** Polls `check` until it returns a truthy value, sleeping between tries, failing at the deadline. */
export async function waitFor<T>(
  check: () => Promise<T | null | undefined | false>,
  { timeoutMs = 20_000, intervalMs = 100, what = 'condition' } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
