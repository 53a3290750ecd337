import type { Deps } from '../src/context';
import { drainInboundQueue } from '../src/engine/inbound/queue';
import { type Loop, startLoop } from './loop';

/** How often an idle worker looks for acknowledged inbound mail to apply. */
export const INBOUND_QUEUE_TICK_MS = 100;
/**
 * Appliers per process: each takes its own rows (SKIP LOCKED), a batch per transaction. Two keep a
 * burst draining without taking both cores from the API acknowledging it.
 */
const APPLIERS = 2;

/**
 * Applies inbound mail acknowledged with `Prefer: respond-async` (`inbound_queue`), oldest first,
 * as the synchronous route would have. While a workspace has some queued, its hand-offs wait.
 * While acknowledgements keep arriving, each applier works a quarter of the time (`restWhileArriving`).
 */
export function startInboundQueueLoop(deps: Deps, everyMs = INBOUND_QUEUE_TICK_MS): Loop {
  return startLoop('inbound-queue', deps, everyMs, async () => {
    const taken = await Promise.all(
      Array.from({ length: APPLIERS }, () => drainInboundQueue(deps, 500, { restWhileArriving: true })),
    );
    const total = taken.reduce((a, b) => a + b, 0);
    if (total > 0) deps.log.debug({ loop: 'inbound-queue', applied: total }, 'queued inbound mail applied');
  });
}
