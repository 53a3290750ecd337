import type { Deps } from '../src/context';
import { maintenancePass } from '../src/engine/maintenance';
import { type Loop, startLoop } from './loop';

/**
 * Feeder, reconciler and resumer as an in-process loop rather than a BullMQ repeatable job: it must
 * keep running when Redis has lost everything, since it is what rebuilds Redis from Postgres.
 */
export function startMaintenanceLoop(deps: Deps): Loop {
  return startLoop('maintenance', deps, deps.config.MAINTENANCE_INTERVAL_SECONDS * 1000, async () => {
    const pass = await maintenancePass(deps);
    if (pass.requeued + pass.ambiguous + pass.rerun + pass.resumed > 0)
      deps.log.info(pass, 'maintenance pass');
  });
}
