import type { Deps } from '../src/context';
import { runScheduledCleanups } from '../src/timeline/cleanup';
import { type Loop, startLoop } from './loop';

/** How often workers look for workspaces whose scheduled clean-up is due (each sets its own period). */
export const CLEANUP_TICK_MS = 60_000;

/** The per-workspace scheduled clean-up of stale leads, as a maintenance loop. */
export function startCleanupLoop(deps: Pick<Deps, 'db' | 'log'>, everyMs = CLEANUP_TICK_MS): Loop {
  return startLoop('cleanup', deps, everyMs, async () => {
    const ran = await runScheduledCleanups(deps.db);
    if (ran > 0) deps.log.info({ loop: 'cleanup', workspaces: ran }, 'scheduled clean-up ran');
  });
}
