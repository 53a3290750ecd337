import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Config } from './config';
import { createDatabase, type Db } from './db/client';
import type pg from 'pg';
import { createSecrets, type Secrets } from './lib/crypto';
import { createOutboundTargets, type OutboundTargets } from './lib/outbound-targets';
import { createRedis } from './queue/connection';
import { createQueues, type Queues } from './queue/queues';

/** What services and workers need from the outside world, passed explicitly (no DI framework). */
export type Deps = {
  config: Config;
  db: Db;
  pool: pg.Pool;
  redis: Redis;
  queues: Queues;
  secrets: Secrets;
  /** The guard every outbound connection a tenant configures goes through (webhooks, SMTP). */
  targets: OutboundTargets;
  log: Logger;
};

/**
 * Connections a process may open. Each step in flight may hold one through its hand-off (see
 * engine/liveness.ts), so a process that runs steps gets `STEP_CONCURRENCY + 10`. An API-only
 * process runs none and keeps the floor of 20, leaving Postgres' connections (100 by default) to
 * the workers.
 */
export const databasePoolSize = (config: Pick<Config, 'STEP_CONCURRENCY' | 'ROLE'>) =>
  config.ROLE === 'api' ? 20 : Math.max(20, config.STEP_CONCURRENCY + 10);

/**
 * Deps need the key that seals secrets: entry points get it from `withEncryptionKey`
 * (src/lib/encryption-key.ts), which reads or generates the key file when ENCRYPTION_KEY is unset.
 */
function requireKey(config: Config): string {
  if (!config.ENCRYPTION_KEY)
    throw new Error('ENCRYPTION_KEY is not set: resolve it with withEncryptionKey first');
  return config.ENCRYPTION_KEY;
}

export function createDeps(
  config: Config,
  log: Logger,
  opts: { poolSize?: number } = {},
): Deps & { close(): Promise<void> } {
  const database = createDatabase(config.DATABASE_URL, opts.poolSize ?? databasePoolSize(config));
  const redis = createRedis(config.REDIS_URL);
  const queues = createQueues(redis, config.QUEUE_PREFIX);
  return {
    config,
    db: database.db,
    pool: database.pool,
    redis,
    queues,
    secrets: createSecrets(requireKey(config)),
    targets: createOutboundTargets(config.ALLOWED_PRIVATE_TARGETS),
    log,
    async close() {
      await queues.close().catch(() => {});
      redis.disconnect();
      await database.close().catch(() => {});
    },
  };
}
