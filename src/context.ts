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
 * Connections a process may open: `DATABASE_POOL_SIZE` (20), whatever its role and its
 * STEP_CONCURRENCY. A step checks a connection out only for its short statements (claim, hand-off
 * check, slot, outcome), never across the SMTP exchange or a LinkedIn action (engine/liveness.ts),
 * so a worker with 200 sends in flight at slow servers needs no more than one with 25.
 */
export const databasePoolSize = (config: Pick<Config, 'DATABASE_POOL_SIZE'>) => config.DATABASE_POOL_SIZE;

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
