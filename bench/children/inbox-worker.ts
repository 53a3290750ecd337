/**
 * The engine's worker in its own process, as `ROLE=worker` runs it: step processor, background
 * loops and the inbox reader, with the product's channels, configured by the environment. Alone in
 * its process, so its RSS is the worker's and the bench's IMAP clients never share its event loop.
 */
import { loadConfig } from '../../src/config';
import { createDeps } from '../../src/context';
import { createLogger } from '../../src/logger';
import { startWorkers } from '../../workers/index';
import { serveParent } from '../child';
import { queryCount, statementCounts } from '../query-counter';

queryCount();

const config = loadConfig(process.env);
const deps = createDeps(config, createLogger(config.LOG_LEVEL));
const workers = await startWorkers(deps);

serveParent(
  0,
  async (cmd) => {
    if (cmd === 'memory' || cmd === 'memory-after-gc') {
      // What the worker still holds, against what it has not yet collected: a diagnostic, never the figure.
      if (cmd === 'memory-after-gc') gc?.();
      const m = process.memoryUsage();
      return {
        rss: m.rss,
        heapUsed: m.heapUsed,
        heapTotal: m.heapTotal,
        external: m.external,
        arrayBuffers: m.arrayBuffers,
      };
    }
    const cpu = process.cpuUsage();
    return {
      queries: queryCount(),
      cpuMs: (cpu.user + cpu.system) / 1000,
      statements: [...statementCounts()],
    };
  },
  async () => {
    await workers.close(5_000);
    await deps.close();
  },
);
