/**
 * A worker process for crash tests: the real step worker and maintenance loop, with a test channel
 * chosen by CHILD_CHANNEL: `hang` (the default) never answers, so the test can SIGKILL it between
 * claim and commit; `before-handoff` does the same before its hand-off. Run with `node --import tsx test/helpers/worker-child.ts`.
 */
import { loadConfig } from '../../src/config';
import { createDeps } from '../../src/context';
import type { Channel } from '../../src/engine/channel';
import { createLogger } from '../../src/logger';
import { startWorkers } from '../../workers/index';
import { channelMap } from './channels';

const config = loadConfig();
const deps = createDeps(config, createLogger(config.LOG_LEVEL), { poolSize: 4 });
const hang: Channel = {
  stepTypes: ['email', 'linkedin_visit', 'linkedin_invite', 'linkedin_message'],
  // `before-handoff`: the channel records its own hand-off and never gets there (stuck preparing).
  marksHandOff: process.env.CHILD_CHANNEL === 'before-handoff',
  send: () => new Promise(() => {}),
};
const workers = await startWorkers(deps, { channels: channelMap(hang) });
process.stdout.write('ready\n');
process.on('SIGTERM', () => {
  void workers
    .close(1000)
    .then(() => deps.close())
    .then(() => process.exit(0));
});
