import { Redis, type RedisOptions } from 'ioredis';

/** BullMQ needs `maxRetriesPerRequest: null` on connections used by workers. */
export function createRedis(url: string, options: RedisOptions = {}): Redis {
  const redis = new Redis(url, { maxRetriesPerRequest: null, enableReadyCheck: true, ...options });
  // Errors surface through commands and /health; an unhandled 'error' event would crash the process.
  redis.on('error', () => {});
  return redis;
}

export class RedisPolicyError extends Error {}

/** BullMQ loses jobs silently when Redis evicts keys, so anything but `noeviction` is refused. */
export async function assertNoEviction(redis: Redis): Promise<void> {
  const reply = (await redis.config('GET', 'maxmemory-policy')) as string[];
  const policy = reply[1];
  if (policy !== 'noeviction') {
    throw new RedisPolicyError(
      `Redis maxmemory-policy is "${policy}"; the engine needs "noeviction" (redis-cli CONFIG SET maxmemory-policy noeviction)`,
    );
  }
}
