import os from 'node:os';
import type { Redis } from 'ioredis';
import { processCpuMs } from './usage';

/**
 * The CPU one operation may cost in all (every process: ours, Postgres, Redis, the sink, the load
 * generator) for a rate of `share` × `ceilingPerSecond` on this machine. No design can use more
 * CPU per second than there are cores, whatever it waits on, so an operation that costs more
 * cannot reach the rate: a bound from measured costs, not from the wall clock.
 */
export const cpuBudgetMs = (ceilingPerSecond: number, share: number) =>
  (os.availableParallelism() * 1000) / (ceilingPerSecond * share);

/** CPU of other processes (an SMTP sink, Redis) per operation, from /proc. */
export function startProcessCpu(pids: number[]): { stop(operations: number): number } {
  const total = () => pids.reduce((sum, pid) => sum + processCpuMs(pid), 0);
  const before = total();
  return { stop: (operations) => Number(((total() - before) / Math.max(1, operations)).toFixed(2)) };
}

/** CPU of this process per operation (the load generator, when it is the only work here). */
export function startOwnCpu(): { stop(operations: number): number } {
  const before = process.cpuUsage();
  return {
    stop(operations) {
      const d = process.cpuUsage(before);
      return Number(((d.user + d.system) / 1000 / Math.max(1, operations)).toFixed(3));
    },
  };
}

/** CPU of the Redis server behind `redis` per operation (0 when it does not say its pid). */
export async function startRedisCpu(redis: Redis): Promise<{ stop(operations: number): number }> {
  const info = await redis.info('server');
  const pid = Number(/process_id:(\d+)/.exec(info)?.[1]);
  return startProcessCpu(Number.isFinite(pid) && pid > 0 ? [pid] : []);
}
