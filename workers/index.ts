import type { Worker } from 'bullmq';
import type { Deps } from '../src/context';

export type RunningWorkers = {
  /** Stops taking work and waits for running jobs, at most `graceMs`. */
  close(graceMs: number): Promise<void>;
};

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
  const timer = setInterval(() => {
    if (stopped) return;
    running = running
      .then(tick)
      .catch((err: unknown) => deps.log.warn({ err, loop: name }, 'background loop tick failed'));
  }, everyMs);
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}

/** Starts every queue processor and background loop of this process. */
export async function startWorkers(deps: Deps): Promise<RunningWorkers> {
  const workers: Worker[] = [];
  const loops: Loop[] = [];
  deps.log.info({ queues: workers.map((w) => w.name), loops: loops.length }, 'workers started');
  return {
    async close(graceMs) {
      // Pause intake first, then wait for active jobs up to the grace period; force-close after.
      const graceful = Promise.all([...workers.map((w) => w.close()), ...loops.map((l) => l.stop())]);
      const timedOut = await Promise.race([
        graceful.then(() => false),
        new Promise<boolean>((resolve) => setTimeout(() => resolve(true), graceMs).unref()),
      ]);
      if (timedOut) {
        deps.log.warn({ graceMs }, 'grace period over; closing workers with jobs still running');
        await Promise.all(workers.map((w) => w.close(true).catch(() => {})));
      }
    },
  };
}
