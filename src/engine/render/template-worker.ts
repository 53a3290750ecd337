import { parentPort } from 'node:worker_threads';
import { TEMPLATE_LIMITS } from '../../core/liquid';
import { renderSync } from '../../core/templates';
import type { RenderJob, RenderOutcome, WorkerReply, WorkerRequest } from './template-protocol';

/**
 * The template worker: renders tenant templates off the main event loop, so a template that
 * computes for long (or asks for gigabytes) costs this thread, which the pool can kill, and never
 * the API or the step runners.
 */
/** liquidjs's limit messages in the words a step's `template_error` shows. */
function reason(err: unknown): string {
  const message = err instanceof Error ? (err.message.split('\n')[0] ?? '') : '';
  if (message.includes('template render limit exceeded')) return 'render time limit exceeded';
  if (message.includes('memory alloc limit exceeded')) return 'memory limit exceeded';
  if (message.includes('parse length limit exceeded')) return 'template too long';
  return message.replace(/, file:.*$/, '') || 'render failed';
}

function render(job: RenderJob): RenderOutcome {
  try {
    const text = renderSync(job.source, job.vars);
    if (text.length > TEMPLATE_LIMITS.outputChars) {
      return { ok: false, error: `output size limit exceeded (${TEMPLATE_LIMITS.outputChars} characters)` };
    }
    return { ok: true, text };
  } catch (err) {
    return { ok: false, error: reason(err) };
  }
}

parentPort?.on('message', (request: WorkerRequest) => {
  const reply: WorkerReply = { id: request.id, outcomes: request.jobs.map(render) };
  parentPort?.postMessage(reply);
});

parentPort?.postMessage({ ready: true });
