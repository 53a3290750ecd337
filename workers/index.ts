import type { Worker } from 'bullmq';
import type { Deps } from '../src/context';
import { createChannels } from './channels';
import type { Channels } from '../src/engine/step-runner';
import type { Loop } from './loop';
import { startAutomationLoop } from './automations';
import { startCleanupLoop } from './cleanup';
import { startInboundQueueLoop } from './inbound-queue';
import { startLinkedInSyncLoop } from './linkedin-sync';
import { startLinkedInCanaryLoop } from './linkedin-canary';
import { startMaintenanceLoop } from './maintenance';
import { startStepWorker } from './steps';
import { startWebhookDelivery } from './webhooks';
import { startInboxReader } from '../src/channels/email/inbox/reader';
import { warmRenderThreads } from '../src/engine/render/template-pool';

export { type Loop, startLoop } from './loop';

export type RunningWorkers = {
  /** Stops taking work and waits for running jobs, at most `graceMs`. */
  close(graceMs: number): Promise<void>;
};

/** Starts every queue processor and background loop of this process. */
export async function startWorkers(deps: Deps, opts: { channels?: Channels } = {}): Promise<RunningWorkers> {
  const channels = opts.channels ?? createChannels(deps);
  // Steps due when this process comes up render at once: their threads are started now.
  warmRenderThreads();
  const workers: Worker[] = [startStepWorker(deps, channels)];
  const loops: Loop[] = [
    startMaintenanceLoop(deps),
    startCleanupLoop(deps),
    startAutomationLoop(deps),
    startInboundQueueLoop(deps),
    startLinkedInSyncLoop(deps),
    startLinkedInCanaryLoop(deps),
    startInboxReader(deps),
  ];
  const webhooks = startWebhookDelivery(deps);
  workers.push(webhooks.worker);
  loops.push(...webhooks.loops);
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
      await Promise.all([...new Set(channels.values())].map((c) => c.close?.().catch(() => {})));
    },
  };
}
