import type { TemplateVars } from '../../core/templates';
import { renderOnWorker } from './template-pool';
import type { RenderOutcome } from './template-protocol';

export type { RenderOutcome };

/**
 * Renders templates over their variables on the template workers, one outcome per job. A template
 * over a limit is an outcome with its reason (`render time limit exceeded`, `memory limit
 * exceeded`, `output size limit exceeded`), never a throw and never a stalled event loop.
 */
export function renderTemplates(jobs: { source: string; vars: TemplateVars }[]): Promise<RenderOutcome[]> {
  return renderOnWorker(jobs);
}
