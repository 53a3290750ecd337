import { Worker } from 'bullmq';
import type { Deps } from '../src/context';
import {
  attemptDelivery,
  DISPATCH_BATCH,
  defaultRetryPolicy,
  dispatchPendingDeliveries,
  type RetryPolicy,
  retryDelayMs,
} from '../src/timeline/outbox/delivery';
import { pruneInboundReceipts } from '../src/engine/inbound/receipts';
import { createRedis } from '../src/queue/connection';
import { queueNames, WebhookJob } from '../src/queue/queues';
import { type Loop, startLoop } from './loop';

export type WebhookDeliveryOptions = {
  /** Retry schedule; tests shorten it. */
  policy?: RetryPolicy;
  /** How often the outbox dispatcher looks for pending deliveries. */
  dispatchEveryMs?: number;
  concurrency?: number;
  timeoutMs?: number;
};

/** A failed attempt that should be retried; carries the attempt number the backoff is computed from. */
class RetryableDelivery extends Error {
  constructor(
    readonly attempt: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Outbound webhook delivery: the outbox dispatcher loop (Postgres → queue), the processor (one signed
 * POST per job, every attempt recorded) and a receipts clean-up loop. The attempt count and final
 * state live in Postgres; BullMQ only times the retries.
 */
export function startWebhookDelivery(
  deps: Deps,
  opts: WebhookDeliveryOptions = {},
): { worker: Worker<WebhookJob>; loops: Loop[] } {
  const policy = opts.policy ?? defaultRetryPolicy;
  const connection = createRedis(deps.config.REDIS_URL);
  const worker = new Worker<WebhookJob>(
    queueNames.webhooks,
    async (job) => {
      const { deliveryId } = WebhookJob.parse(job.data);
      const outcome = await attemptDelivery(deps, deliveryId, { policy, timeoutMs: opts.timeoutMs });
      if (outcome.kind === 'failed' && !outcome.final)
        throw new RetryableDelivery(outcome.attempt, outcome.error);
      return outcome.kind;
    },
    {
      connection,
      prefix: deps.config.QUEUE_PREFIX,
      concurrency: opts.concurrency ?? 10,
      settings: {
        backoffStrategy: (attemptsMade, _type, err) =>
          retryDelayMs(err instanceof RetryableDelivery ? err.attempt : attemptsMade, policy),
      },
    },
  );
  worker.on('failed', (job, err) =>
    deps.log.debug({ jobId: job?.id, err: err.message }, 'webhook job failed; BullMQ will retry'),
  );
  worker.on('closed', () => connection.disconnect());
  worker.on('error', (err) => deps.log.warn({ err }, 'webhook worker error'));
  const loops = [
    startLoop('webhook-dispatch', deps, opts.dispatchEveryMs ?? 1000, async () => {
      // Drain in batches so a backlog (an endpoint down for hours) does not wait one tick per batch.
      let handed = DISPATCH_BATCH;
      while (handed === DISPATCH_BATCH) handed = await dispatchPendingDeliveries(deps, { policy });
    }),
    startLoop('inbound-receipts-prune', deps, 3_600_000, () =>
      pruneInboundReceipts(deps, new Date(Date.now() - 86_400_000)),
    ),
  ];
  return { worker, loops };
}
