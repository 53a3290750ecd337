import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { z } from 'zod';

export const queueNames = { steps: 'steps', webhooks: 'webhooks' } as const;

/** Job payloads are ids only: the database row is the state machine (see docs/decisions.md). */
export const StepJob = z.object({ stepRunId: z.uuid() });
export type StepJob = z.infer<typeof StepJob>;
export const WebhookJob = z.object({ deliveryId: z.uuid() });
export type WebhookJob = z.infer<typeof WebhookJob>;

export const stepJobId = (stepRunId: string) => `run:${stepRunId}`;

export type Queues = {
  prefix: string;
  steps: Queue<StepJob>;
  webhooks: Queue<WebhookJob>;
  all(): Queue[];
  close(): Promise<void>;
};

export function createQueues(connection: Redis, prefix: string): Queues {
  const defaultJobOptions = { removeOnComplete: true, removeOnFail: { count: 1000 } };
  const steps = new Queue<StepJob>(queueNames.steps, { connection, prefix, defaultJobOptions });
  const webhooks = new Queue<WebhookJob>(queueNames.webhooks, { connection, prefix, defaultJobOptions });
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
export async function enqueueStepRuns(queues: Queues, runs: { id: string; runAt: Date }[]): Promise<void> {
  if (runs.length === 0) return;
  const now = Date.now();
  await queues.steps.addBulk(
    runs.map((r) => ({
      name: 'run',
      data: { stepRunId: r.id },
      opts: { jobId: stepJobId(r.id), delay: Math.max(0, r.runAt.getTime() - now) },
    })),
  );
}
