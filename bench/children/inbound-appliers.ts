/**
 * The engine's appliers of acknowledged inbound mail in their own process, as a worker runs them
 * (`startInboundQueueLoop`), configured by the environment: apart from the load generator, whose
 * event loop they would otherwise hold up while it times the acknowledgements.
 */
import { loadConfig } from '../../src/config';
import { createDeps } from '../../src/context';
import { createLogger } from '../../src/logger';
import { startInboundQueueLoop } from '../../workers/inbound-queue';
import { serveParent } from '../child';

const config = loadConfig(process.env);
const deps = createDeps(config, createLogger(config.LOG_LEVEL));
const appliers = startInboundQueueLoop(deps);

serveParent(
  0,
  async () => ({}),
  async () => {
    await appliers.stop();
    await deps.close();
  },
);
