import { defineConfig } from 'vitest/config';

/**
 * `npm run test:faults`: scenarios that break the running engine on purpose (kill workers, lose
 * Redis and Postgres connections, drop SMTP answers). One file at a time: each spawns worker
 * processes and a redis-server, and the 2-core CI machine must not starve them into false timeouts.
 */
export default defineConfig({
  test: {
    include: ['test/faults/**/*.test.ts'],
    globalSetup: ['test/helpers/global-setup.ts'],
    testTimeout: 180_000,
    hookTimeout: 120_000,
    pool: 'forks',
    fileParallelism: false,
    reporters: ['default', './test/faults/summary-reporter.ts'],
  },
});
