import { Worker } from 'bullmq';
import type { Deps } from '../src/context';
import { type Channels, runStep } from '../src/engine/step-runner';
import { createRedis } from '../src/queue/connection';
import { queueNames, StepJob } from '../src/queue/queues';

/** The step processor: ids in, the database row decides whether anything happens. */
export function startStepWorker(deps: Deps, channels: Channels): Worker {
  const connection = createRedis(deps.config.REDIS_URL);
  const worker = new Worker<StepJob>(
    queueNames.steps,
    async (job) => {
      const payload = StepJob.parse(job.data);
      return runStep(deps, channels, payload);
    },
    {
      connection,
      prefix: deps.config.QUEUE_PREFIX,
      concurrency: deps.config.STEP_CONCURRENCY,
    },
  );
  worker.on('failed', (job, err) =>
    deps.log.warn({ jobId: job?.id, err }, 'step job failed; BullMQ will retry'),
  );
  worker.on('closed', () => connection.disconnect());
  worker.on('error', (err) => deps.log.warn({ err }, 'step worker error'));
  return worker;
}
