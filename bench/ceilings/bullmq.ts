import { randomUUID } from 'node:crypto';
import { Queue, Worker } from 'bullmq';
import { createRedis } from '../../src/queue/connection';
import type { PerOperation } from '../usage';
import { waitUntil } from '../wait';

export type Throughput = { count: number; seconds: number; perSecond: number; cost?: PerOperation };

/**
 * Ceiling: raw BullMQ. `count` no-op jobs with the engine's payload and job-id shape are added in bulk,
 * then one worker at the engine's concurrency processes them; the clock runs from the worker's start
 * to the last completion. Jobs are removed on completion, as the engine's are.
 */
export async function bullmqCeiling(opts: {
  redisUrl: string;
  prefix: string;
  count: number;
  concurrency: number;
}): Promise<Throughput> {
  const connection = createRedis(opts.redisUrl);
  const queue = new Queue('ceiling', {
    connection,
    prefix: opts.prefix,
    defaultJobOptions: { removeOnComplete: true, removeOnFail: true },
  });
  const workerConnection = createRedis(opts.redisUrl);
  let worker: Worker | null = null;
  try {
    for (let i = 0; i < opts.count; i += 5000) {
      const size = Math.min(5000, opts.count - i);
      await queue.addBulk(
        Array.from({ length: size }, () => {
          const stepRunId = randomUUID();
          return { name: 'run', data: { stepRunId, generation: 0 }, opts: { jobId: `run:${stepRunId}:0` } };
        }),
      );
    }
    let done = 0;
    let lastAt = 0;
    const started = performance.now();
    worker = new Worker('ceiling', async () => undefined, {
      connection: workerConnection,
      prefix: opts.prefix,
      concurrency: opts.concurrency,
    });
    worker.on('completed', () => {
      done += 1;
      lastAt = performance.now();
    });
    await waitUntil(() => done >= opts.count, { timeoutMs: 600_000, what: 'the BullMQ ceiling to drain' });
    const seconds = (lastAt - started) / 1000;
    return { count: opts.count, seconds, perSecond: opts.count / seconds };
  } finally {
    await worker?.close();
    await queue.obliterate({ force: true }).catch(() => {});
    await queue.close();
    workerConnection.disconnect();
    connection.disconnect();
  }
}
