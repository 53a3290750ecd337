import { sql } from 'drizzle-orm';
import { anyOf } from '../db/any-of';
import type { Deps } from '../context';
import { stepRuns } from '../db/schema/index';
import { enqueueStepRuns } from '../queue/queues';

export type RunRef = { id: string; runAt: Date; generation: number };

/**
 * Hands newly scheduled runs to Redis, after the transaction that wrote them committed. Only runs
 * inside the queue horizon go now; the feeder brings later ones in as their time approaches. A Redis
 * failure here loses nothing: `enqueued_at` stays null and the feeder retries.
 */
export async function dispatchRuns(
  deps: Pick<Deps, 'db' | 'queues' | 'config' | 'log'>,
  runs: RunRef[],
): Promise<void> {
  const horizon = Date.now() + deps.config.QUEUE_HORIZON_SECONDS * 1000;
  const near = runs.filter((r) => r.runAt.getTime() <= horizon);
  if (near.length === 0) return;
  try {
    await enqueueStepRuns(deps.queues, near);
    await deps.db
      .update(stepRuns)
      .set({ enqueuedAt: sql`now()` })
      .where(
        anyOf(
          stepRuns.id,
          near.map((r) => r.id),
          'uuid',
        ),
      );
  } catch (err) {
    deps.log.warn({ err, runs: near.length }, 'could not enqueue step runs now; the feeder will retry');
  }
}
