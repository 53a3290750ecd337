import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { z } from 'zod';

export const queueNames = { steps: 'steps', webhooks: 'webhooks' } as const;

/** Job payloads are ids only: the database row is the state machine (see docs/decisions.md). */
export const StepJob = z.object({ stepRunId: z.uuid(), generation: z.number().int().min(0) });
export type StepJob = z.infer<typeof StepJob>;
export const WebhookJob = z.object({ deliveryId: z.uuid() });
export type WebhookJob = z.infer<typeof WebhookJob>;

/** Deterministic: a second add of the same (run, generation) is ignored by BullMQ. */
export const stepJobId = (stepRunId: string, generation: number) => `run:${stepRunId}:${generation}`;

export type Queues = {
  prefix: string;
  steps: Queue<StepJob>;
  webhooks: Queue<WebhookJob>;
  all(): Queue[];
  close(): Promise<void>;
};

export function createQueues(connection: Redis, prefix: string): Queues {
  // Step jobs must never linger after they end: a kept job would hold its id, and the reconciler's
  // re-add of a still-scheduled run would be ignored. Postgres keeps the history instead.
  const steps = new Queue<StepJob>(queueNames.steps, {
    connection,
    prefix,
    defaultJobOptions: {
      removeOnComplete: true,
      removeOnFail: true,
      attempts: 5,
      backoff: { type: 'exponential', delay: 1000 },
    },
  });
  const webhooks = new Queue<WebhookJob>(queueNames.webhooks, {
    connection,
    prefix,
    defaultJobOptions: { removeOnComplete: true, removeOnFail: { count: 1000 } },
  });
  return {
    prefix,
    steps,
    webhooks,
    all: () => [steps, webhooks],
    close: async () => {
      await Promise.all([steps.close(), webhooks.close()]);
    },
  };
}

/** Adds step jobs delayed to their run time; the job id makes a second add a no-op. */
export async function enqueueStepRuns(
  queues: Queues,
  runs: { id: string; runAt: Date; generation: number }[],
): Promise<void> {
  if (runs.length === 0) return;
  const now = Date.now();
  await queues.steps.addBulk(
    runs.map((r) => ({
      name: 'run',
      data: { stepRunId: r.id, generation: r.generation },
      opts: { jobId: stepJobId(r.id, r.generation), delay: Math.max(0, r.runAt.getTime() - now) },
    })),
  );
}
