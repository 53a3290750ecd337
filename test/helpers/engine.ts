import { randomBytes } from 'node:crypto';
import { and, eq, type SQL, sql } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import type { DestinationStream } from 'pino';
import pg from 'pg';
import { inject } from 'vitest';
import { buildApp } from '../../src/api/app';
import { type Config, loadConfig } from '../../src/config';
import { createDeps, type Deps } from '../../src/context';
import { stepRuns } from '../../src/db/schema/index';
import { createLogger } from '../../src/logger';
import type { Channels } from '../../src/engine/step-runner';
import { startWorkers, type RunningWorkers } from '../../workers/index';

export const ADMIN_TOKEN = 'test-admin-token-0123456789';
/** One key for every test engine: test databases are copies of one template, sealed with it. */
export const TEST_ENCRYPTION_KEY = '7e57'.repeat(16);

export type TestEngine = {
  deps: Deps;
  app: FastifyInstance;
  workers: RunningWorkers | null;
  config: Config;
  close(): Promise<void>;
};

/** A fresh queue prefix, so suites never see each other's jobs. */
export const uniquePrefix = () => `t_${inject('runId')}_${randomBytes(3).toString('hex')}`;

let databases = 0;

/**
 * A database of its own for one test engine, copied from the run's migrated template (fast, and
 * serialised, since Postgres copies a template for one CREATE DATABASE at a time).
 */
export async function createTestDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const base = new URL(inject('databaseUrl'));
  const name = `outreach_test_${inject('runId')}_${process.pid}_${++databases}`;
  const admin = new URL(base);
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    await client.query('select pg_advisory_lock(727002)');
    await client.query(
      `create database ${pg.escapeIdentifier(name)} template ${pg.escapeIdentifier(inject('templateDatabase'))}`,
    );
  } finally {
    await client.query('select pg_advisory_unlock(727002)').catch(() => {});
    await client.end();
  }
  base.pathname = `/${name}`;
  return {
    url: base.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: admin.toString() });
      await c.connect();
      await c
        .query(`drop database if exists ${pg.escapeIdentifier(name)} with (force)`)
        .finally(() => c.end());
    },
  };
}

/** Environment for the engine under test: the run's database and a fresh queue prefix. */
export function testEnv(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    DATABASE_URL: inject('databaseUrl'),
    ADMIN_TOKEN,
    ENCRYPTION_KEY: TEST_ENCRYPTION_KEY,
    AUTH_FAILURES_PER_MINUTE: '100000',
    QUEUE_PREFIX: uniquePrefix(),
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    PUBLIC_URL: 'http://localhost:3000',
    // Every SMTP sink and webhook receiver of the tests listens there.
    ALLOWED_PRIVATE_TARGETS: '127.0.0.1',
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
  // Each engine gets its own database unless the test shares one on purpose (several processes).
  const database = opts.env?.DATABASE_URL ? null : await createTestDatabase();
  const config = loadConfig(testEnv({ ...(database ? { DATABASE_URL: database.url } : {}), ...opts.env }));
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
      // As `src/server.ts` does on SIGTERM: a grace period, then carry on regardless. BullMQ's
      // close can wait on a blocking Redis command that a Redis restart left without an answer.
      const stuck = await Promise.race([
        (workers?.close(5_000) ?? Promise.resolve()).then(() => false),
        new Promise<boolean>((resolve) => setTimeout(() => resolve(true), 15_000).unref()),
      ]);
      if (stuck) console.warn('test engine: workers did not close within 15 s; closing the rest');
      await app.close();
      await deleteQueueKeys(deps);
      await deps.close();
      await database?.drop();
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

/**
 * Brings scheduled runs due now, as if their time had passed: a new generation with no job yet,
 * which is what the feeder hands to Redis when a run falls due. Moving `run_at` alone is not
 * enough: a run due within the queue horizon already has a delayed job, which keeps its old delay.
 */
export async function bringRunsDue(db: Deps['db'], where: SQL | undefined): Promise<void> {
  await db
    .update(stepRuns)
    .set({ runAt: sql`now()`, generation: sql`${stepRuns.generation} + 1`, enqueuedAt: null })
    .where(and(eq(stepRuns.status, 'scheduled'), where));
}
