import type { Deps } from '../../context';
import { claimJob, runJob } from './jobs.runner';
import { dropStaleUploads } from './jobs.service';
import { type Loop, startLoop } from '../../lib/loop';

/** How often an idle worker looks for a job (a job waits about this long before it starts). */
export const JOB_TICK_MS = 1_000;

/**
 * Jobs asked for over HTTP (`POST /v1/imports`, `POST /v1/jobs`), run by the processes that serve
 * HTTP (`src/server.ts` starts this loop beside the app), so a worker process never loads the API
 * layer: one job at a time per process, the oldest first with workspaces that have nothing running
 * ahead; uploads abandoned mid-way are dropped.
 */
export function startJobLoop(deps: Deps, everyMs = JOB_TICK_MS): Loop {
  let ticks = 0;
  // Set at shutdown: the job running finishes, no other is taken.
  let stopping = false;
  const loop = startLoop('jobs', deps, everyMs, async () => {
    if (ticks++ % 600 === 0) await dropStaleUploads(deps.db);
    for (
      let job = stopping ? undefined : await claimJob(deps.db);
      job;
      job = stopping ? undefined : await claimJob(deps.db)
    ) {
      deps.log.info({ jobId: job.id, type: job.type, attempt: job.attempts }, 'job started');
      await runJob(deps, job);
      deps.log.info({ jobId: job.id }, 'job ended');
    }
  });
  return {
    async stop() {
      stopping = true;
      await loop.stop();
    },
  };
}
