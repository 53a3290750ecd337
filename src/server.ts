import { ConfigError, loadConfig } from './config';
import { createDeps } from './context';
import { connectionShortfall } from './db/connection-budget';
import { EncryptionKeyMismatch, checkEncryptionKey } from './db/key-check';
import { ensureDatabase, runMigrations } from './db/migrate';
import { withEncryptionKey } from './lib/encryption-key';
import { createLogger } from './logger';
import { assertNoEviction, RedisPolicyError } from './queue/connection';
import { startWorkers } from '../workers/index';

/** Entry point: config → database → migrations → HTTP and/or workers, per ROLE. */
async function main(): Promise<void> {
  const given = loadConfig();
  const log = createLogger(given.LOG_LEVEL);
  const config = withEncryptionKey(given, log);
  if (!config.ADMIN_TOKEN)
    log.warn('ADMIN_TOKEN is not set: admin routes (POST /v1/workspaces, /admin/queues) answer 401');
  await ensureDatabase(config.DATABASE_URL);
  const deps = createDeps(config, log);
  await runMigrations(deps.db, deps.pool);
  await checkEncryptionKey(deps.db, deps.secrets);
  await assertNoEviction(deps.redis);
  const shortfall = await connectionShortfall(deps.db, deps.pool);
  if (shortfall)
    log.warn(
      shortfall,
      'this process may open more Postgres connections than are free: lower DATABASE_POOL_SIZE ' +
        'or raise max_connections',
    );

  // Loaded only by a process that serves HTTP: a worker never loads the API layer.
  const app = config.ROLE === 'worker' ? null : await (await import('./api/app')).buildApp(deps);
  const workers = config.ROLE === 'api' ? null : await startWorkers(deps);
  // Jobs asked for over HTTP (imports, bulk enrollment) run beside the app that took them.
  const jobs = app ? (await import('./api/jobs/jobs.loop')).startJobLoop(deps) : null;
  if (app) await app.listen({ port: config.PORT, host: config.HOST });
  log.info({ role: config.ROLE, port: app ? config.PORT : undefined }, 'engine started');

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    const graceMs = config.SHUTDOWN_GRACE_SECONDS * 1000;
    // Safety net: a hung close (a stuck socket, a pool that never drains) must not keep an
    // orchestrator waiting forever; exit non-zero so the hang is visible.
    setTimeout(() => {
      log.error({ graceMs }, 'shutdown did not finish in time; exiting');
      process.exit(1);
    }, graceMs + 10_000).unref();
    // HTTP and workers stop taking work together; both drain what is running.
    await Promise.all([app?.close(), workers?.close(graceMs), jobs?.stop()]);
    await deps.close();
    log.info('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError || err instanceof RedisPolicyError || err instanceof EncryptionKeyMismatch) {
    process.stderr.write(`${err.message}\n`);
  } else {
    process.stderr.write(
      `start-up failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
  }
  process.exit(1);
});
