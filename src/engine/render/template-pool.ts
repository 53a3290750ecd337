import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { build } from 'esbuild';
import type { RenderJob, RenderOutcome, WorkerReply, WorkerRequest } from './template-protocol';

export type { RenderOutcome };

/**
 * Renders templates on worker threads. Rendering is the one place where a tenant's text decides
 * how much CPU and memory the engine spends, so it never runs on the event loop that serves the
 * API and every other tenant's steps:
 * - liquidjs's own limits stop most runaway templates inside the worker (see `TEMPLATE_LIMITS`);
 * - a worker that does not answer within `DEADLINE_MS` is terminated and replaced, whatever it
 *   was doing (a single huge filter call is not interruptible from inside);
 * - a worker is capped by V8 resource limits, so a template that allocates without bound ends
 *   that thread, not the process.
 * A template that ran out of time (liquidjs's limit or the deadline) is refused without rendering
 * for `REFUSE_FOR_MS`, so the same template for the next thousand leads costs nothing.
 */

const POOL_SIZE = 2;
/**
 * A thread idle this long ends, and the next render starts one again (a few hundred ms). Each
 * holds 20 to 35 MB, which a worker that only reads inboxes between sends need not keep.
 */
const IDLE_EXIT_MS = 15_000;
const DEADLINE_MS = 10_000;
/** A thread that has not said it is ready by then is ended and another one started. */
const BOOT_DEADLINE_MS = 10_000;
const REFUSE_FOR_MS = 10 * 60_000;
const MAX_REFUSED = 1000;
const TIME_LIMIT = 'render time limit exceeded';
const RESOURCE_LIMITS = { maxOldGenerationSizeMb: 128, maxYoungGenerationSizeMb: 32, stackSizeMb: 4 };

const bootFile = new URL('./template-worker-boot.mjs', import.meta.url);
const workerEntry = new URL('./template-worker.ts', import.meta.url).href;

type Batch = { id: number; jobs: RenderJob[]; done: (outcomes: RenderOutcome[]) => void };

type Slot = {
  worker: Worker;
  ready: boolean;
  current: Batch | null;
  timer: NodeJS.Timeout | null;
  idle: NodeJS.Timeout | null;
};

const failAll = (jobs: RenderJob[], error: string): RenderOutcome[] => jobs.map(() => ({ ok: false, error }));

/**
 * The worker thread's code as one CommonJS script, bundled by esbuild from the TypeScript sources
 * once per process (about 0.1 s, in esbuild's own process). A thread started from it is ready in
 * about 80 ms; through tsx's loader, which compiles the sources again in every thread, it took
 * about 450 ms, and a worker pays that whenever its sends resume after the threads went idle.
 * Null when esbuild cannot run here: threads then boot through tsx, as before.
 */
export async function bundleTemplateWorker(): Promise<string | null> {
  try {
    const result = await build({
      entryPoints: [fileURLToPath(workerEntry)],
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node20',
      write: false,
      logLevel: 'silent',
    });
    return result.outputFiles[0]?.text ?? null;
  } catch {
    return null;
  }
}

/**
 * A pool of `size` threads started from `script` (see `bundleTemplateWorker`), or through tsx when
 * it is null. The engine keeps one per process (`renderTemplates`).
 */
export function createTemplatePool(size: number, script: string | null) {
  const slots = new Set<Slot>();
  const queue: Batch[] = [];
  const refused = new Map<string, number>();
  let nextId = 1;

  function refuse(source: string): void {
    // Past a bound the map starts over, so many distinct slow templates cannot grow it.
    if (refused.size >= MAX_REFUSED) refused.clear();
    refused.set(source, Date.now() + REFUSE_FOR_MS);
  }

  function isRefused(source: string, now: number): boolean {
    const until = refused.get(source);
    if (until === undefined) return false;
    if (until > now) return true;
    refused.delete(source);
    return false;
  }

  function spawn(): Slot {
    const worker = script
      ? new Worker(script, { eval: true, resourceLimits: RESOURCE_LIMITS })
      : new Worker(bootFile, { workerData: { entry: workerEntry }, resourceLimits: RESOURCE_LIMITS });
    const slot: Slot = { worker, ready: false, current: null, timer: null, idle: null };
    // A thread that never becomes ready would otherwise hold its place in the pool for good.
    slot.timer = setTimeout(() => replace(slot, 'render failed'), BOOT_DEADLINE_MS);
    slot.timer.unref();
    worker.unref();
    worker.on('message', (message: WorkerReply | { ready: true }) => {
      if ('ready' in message) {
        slot.ready = true;
        if (slot.timer) clearTimeout(slot.timer);
        slot.timer = null;
      } else if (slot.current && message.id === slot.current.id) {
        finish(slot, message.outcomes);
      }
      pump();
      if (slot.ready) idleLater(slot);
    });
    worker.on('error', (err: Error & { code?: string }) => {
      const why = err.code === 'ERR_WORKER_OUT_OF_MEMORY' ? 'memory limit exceeded' : 'render failed';
      replace(slot, why);
    });
    worker.on('exit', () => replace(slot, 'render failed'));
    slots.add(slot);
    return slot;
  }

  function finish(slot: Slot, outcomes: RenderOutcome[]): void {
    const batch = slot.current;
    for (const [i, outcome] of outcomes.entries()) {
      const job = batch?.jobs[i];
      if (job && !outcome.ok && outcome.error === TIME_LIMIT) refuse(job.source);
    }
    if (slot.timer) clearTimeout(slot.timer);
    slot.current = null;
    slot.timer = null;
    slot.worker.unref();
    batch?.done(outcomes);
  }

  /** Counts a free thread's idle time from now (unless it already counts). */
  function idleLater(slot: Slot): void {
    if (slot.current || slot.idle || !slots.has(slot)) return;
    slot.idle = setTimeout(() => retire(slot), IDLE_EXIT_MS);
    slot.idle.unref();
  }

  /** Ends a thread that has had nothing to render for IDLE_EXIT_MS. */
  function retire(slot: Slot): void {
    if (slot.current || !slots.delete(slot)) return;
    void slot.worker.terminate();
  }

  /** Drops a slot whose worker died or was killed; its batch fails with `why`. */
  function replace(slot: Slot, why: string): void {
    if (!slots.delete(slot)) return;
    const batch = slot.current;
    if (slot.timer) clearTimeout(slot.timer);
    if (slot.idle) clearTimeout(slot.idle);
    slot.current = null;
    void slot.worker.terminate();
    batch?.done(failAll(batch.jobs, why));
    pump();
  }

  function pump(): void {
    while (slots.size < size && queue.length > 0) spawn();
    for (const slot of slots) {
      if (!slot.ready || slot.current) continue;
      const batch = queue.shift();
      if (!batch) return;
      slot.current = batch;
      if (slot.idle) clearTimeout(slot.idle);
      slot.idle = null;
      slot.worker.ref();
      slot.timer = setTimeout(() => {
        for (const job of batch.jobs) refuse(job.source);
        replace(slot, TIME_LIMIT);
      }, DEADLINE_MS);
      slot.worker.postMessage({ id: batch.id, jobs: batch.jobs } satisfies WorkerRequest);
    }
  }

  return {
    /** Starts the threads now, so the first renders do not wait for them (they end when idle). */
    warm(): void {
      while (slots.size < size) spawn();
    },
    render(jobs: RenderJob[]): Promise<RenderOutcome[]> {
      const now = Date.now();
      if (jobs.some((job) => isRefused(job.source, now))) {
        return Promise.resolve(failAll(jobs, TIME_LIMIT));
      }
      return new Promise((resolve) => {
        queue.push({ id: nextId++, jobs, done: resolve });
        pump();
      });
    },
  };
}

let pool: Promise<ReturnType<typeof createTemplatePool>> | null = null;

/**
 * Renders templates over their variables on the template workers, one outcome per job, in order. A
 * template over a limit is an outcome with its reason (`render time limit exceeded`, `memory limit
 * exceeded`, `output size limit exceeded`), never a throw and never a stalled event loop.
 */
export function renderTemplates(jobs: RenderJob[]): Promise<RenderOutcome[]> {
  if (jobs.length === 0) return Promise.resolve([]);
  return templatePool().then((p) => p.render(jobs));
}

const templatePool = () => {
  pool ??= bundleTemplateWorker().then((script) => createTemplatePool(POOL_SIZE, script));
  return pool;
};

/**
 * Bundles the worker code and starts the threads ahead of the first render: a worker process that
 * starts calls it, so the steps that are due when it comes up do not wait for the threads. Threads
 * with nothing to render end after `IDLE_EXIT_MS` as usual.
 */
export function warmRenderThreads(): void {
  void templatePool().then((p) => p.warm());
}
