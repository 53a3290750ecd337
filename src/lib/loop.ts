import type { Deps } from '../context';

/** A background loop (maintenance, feeders): runs `tick` every `everyMs` until stopped. */
export type Loop = { stop(): Promise<void> };

export function startLoop(
  name: string,
  deps: Pick<Deps, 'log'>,
  everyMs: number,
  tick: () => Promise<unknown>,
): Loop {
  let running: Promise<unknown> = Promise.resolve();
  let stopped = false;
  let busy = false;
  const timer = setInterval(() => {
    // Skip a beat rather than pile ticks up when one pass takes longer than the interval.
    if (stopped || busy) return;
    busy = true;
    running = tick()
      .catch((err: unknown) => deps.log.warn({ err, loop: name }, 'background loop tick failed'))
      .finally(() => {
        busy = false;
      });
  }, everyMs);
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
