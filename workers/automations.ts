import type { Deps } from '../src/context';
import { applyPendingAutomations } from '../src/engine/automations';
import { type Loop, startLoop } from './loop';

/** How often workers apply pending automation runs (a trigger waits at most about this long). */
export const AUTOMATION_TICK_MS = 1_000;

/** Automation rules (`POST /v1/automations`), applied from the runs their triggers wrote. */
export function startAutomationLoop(deps: Deps, everyMs = AUTOMATION_TICK_MS): Loop {
  return startLoop('automations', deps, everyMs, async () => {
    const settled = await applyPendingAutomations(deps);
    if (settled > 0) deps.log.debug({ loop: 'automations', settled }, 'automation runs applied');
  });
}
