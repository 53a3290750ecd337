/**
 * An HTTP server in its own process, on 127.0.0.1 and a free port, so the load generator in the
 * parent never shares an event loop with what it measures. `empty`: bare Fastify answering an empty
 * route (the ceiling). `durable`: bare Fastify committing one row per POST into `DATABASE_URL` (the
 * least a webhook that is acknowledged durably can cost). `engine`: the product's app from
 * `buildApp`, configured by the environment.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import pg from 'pg';
import { buildApp } from '../../src/api/app';
import { loadConfig } from '../../src/config';
import { createDeps } from '../../src/context';
import { createLogger } from '../../src/logger';
import { serveParent } from '../child';
import { queryCount, statementCounts } from '../query-counter';

queryCount();

async function emptyServer(): Promise<{ app: FastifyInstance; close(): Promise<void> }> {
  const app = Fastify();
  app.get('/empty', async () => ({}));
  app.post('/empty', async () => ({}));
  return { app, close: () => app.close() };
}

async function durableServer(): Promise<{ app: FastifyInstance; close(): Promise<void> }> {
  const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 20 });
  await pool.query(
    'create table if not exists bench_durable (id bigserial primary key, body jsonb not null)',
  );
  const app = Fastify();
  app.post('/durable', async (request) => {
    await pool.query('insert into bench_durable (body) values ($1)', [JSON.stringify(request.body ?? {})]);
    return {};
  });
  return {
    app,
    async close() {
      await app.close();
      await pool.end();
    },
  };
}

async function engineServer(): Promise<{ app: FastifyInstance; close(): Promise<void> }> {
  const config = loadConfig(process.env);
  const deps = createDeps(config, createLogger(config.LOG_LEVEL));
  const app = await buildApp(deps);
  return {
    app,
    async close() {
      await app.close();
      // A load run ends by dropping its sockets while handlers are still at work; let them finish
      // before the pool ends, or they fail on a closed pool. Bounded: 10 s at most.
      const idle = () => deps.pool.totalCount === deps.pool.idleCount && deps.pool.waitingCount === 0;
      for (let quiet = 0, i = 0; quiet < 5 && i < 100; i++) {
        quiet = idle() ? quiet + 1 : 0;
        await new Promise((r) => setTimeout(r, 100));
      }
      await deps.close();
    },
  };
}

const mode = process.argv[2];
const server =
  mode === 'engine' ? await engineServer() : mode === 'durable' ? await durableServer() : await emptyServer();
await server.app.listen({ port: 0, host: '127.0.0.1' });
const bound = server.app.server.address();
// Statements sent to Postgres and CPU used so far, for per-request figures that contention on a
// shared machine does not distort the way it distorts wall-clock rates.
serveParent(
  typeof bound === 'object' && bound ? bound.port : 0,
  async () => {
    const cpu = process.cpuUsage();
    return {
      queries: queryCount(),
      cpuMs: (cpu.user + cpu.system) / 1000,
      statements: [...statementCounts()],
    };
  },
  () => server.close(),
);
