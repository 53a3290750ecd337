import { syncLinkedInAccounts } from '../src/channels/linkedin/sync';
import type { Deps } from '../src/context';
import { type Loop, startLoop } from './loop';

/** How often each active account's connections and inbox are read. */
export const LINKEDIN_SYNC_EVERY_MS = 5 * 60_000;

/**
 * The LinkedIn check job: finds accepted invitations (which emit `linkedin.invite_accepted` and feed
 * the `linkedinConnected` branch) and new inbox messages (which go down the reply pipeline).
 */
export function startLinkedInSyncLoop(deps: Deps, everyMs = LINKEDIN_SYNC_EVERY_MS): Loop {
  return startLoop('linkedin-sync', deps, everyMs, () => syncLinkedInAccounts(deps));
}
