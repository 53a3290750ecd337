import { runLinkedInCanary } from '../src/channels/linkedin/canary';
import type { Deps } from '../src/context';
import { type Loop, startLoop } from './loop';

/** How often the canary looks for accounts due a check (each is checked every 30 min to 6 h). */
export const LINKEDIN_CANARY_EVERY_MS = 15 * 60_000;

/**
 * The LinkedIn canary on a schedule: read-only looks at each account's own profile and inbox, so a
 * LinkedIn change stops the account (and shows in /metrics and as `linkedin.layout_unrecognized`)
 * before a step meets it, and an account it stopped resumes once its pages are recognised again.
 */
export function startLinkedInCanaryLoop(deps: Deps, everyMs = LINKEDIN_CANARY_EVERY_MS): Loop {
  return startLoop('linkedin-canary', deps, everyMs, () => runLinkedInCanary(deps));
}
