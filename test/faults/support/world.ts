import { randomBytes } from 'node:crypto';
import { expect } from 'vitest';
import { addMailbox } from '../../channels/email/support';
import { freePort, type PrivateRedis, startPrivateRedis } from '../../platform/support';
import {
  createTestWorkspace,
  startTestEngine,
  type TestEngine,
  type TestWorkspace,
} from '../../helpers/engine';
import { insertLeads } from '../../helpers/factories';
import { type SmtpSink, startSmtpSink } from '../../helpers/smtp-sink';
import { type SmtpFaultProxy, startSmtpFaultProxy } from './smtp-proxy';
import { startWorkerProcess, type WorkerProcess } from './worker-process';

/** Short timings so faults play out in seconds; every worker process of a world gets them. */
export const FAST_ENGINE = {
  MAINTENANCE_INTERVAL_SECONDS: '0.5',
  STEP_LEASE_SECONDS: '6',
  SHUTDOWN_GRACE_SECONDS: '6',
  // Long enough that a busy test process answering SMTP late is not taken for a fault.
  SMTP_TIMEOUT_SECONDS: '10',
  STEP_CONCURRENCY: '10',
};

/**
 * Everything a fault scenario breaks, all real: the API and database in this process (no workers
 * here), a private redis-server it may flush or restart, the SMTP sink behind a fault proxy, and
 * worker processes running `src/server.ts` against the same database, Redis and queue prefix.
 */
export type FaultWorld = {
  engine: TestEngine;
  ws: TestWorkspace;
  redis: PrivateRedis;
  sink: SmtpSink;
  proxy: SmtpFaultProxy;
  /** Starts one more worker process; every one is SIGKILLed at close if still running. */
  startWorker(env?: Record<string, string>): Promise<WorkerProcess>;
  /** A new private redis-server on the same port, after `redis.stop()`: a restart that lost everything. */
  restartRedis(): Promise<void>;
  close(): Promise<void>;
};

export async function startFaultWorld(env: Record<string, string> = {}): Promise<FaultWorld> {
  const redisPort = await freePort();
  let redis = await startPrivateRedis(redisPort);
  const encryptionKey = randomBytes(32).toString('hex');
  const engine = await startTestEngine({ env: { REDIS_URL: redis.url, ENCRYPTION_KEY: encryptionKey } });
  const sink = await startSmtpSink();
  const proxy = await startSmtpFaultProxy(sink);
  const ws = await createTestWorkspace(engine.app, 'Faults');
  // The mailbox points at the proxy; the sink behind it is the only place mail arrives.
  await addMailbox(engine, ws, { ...sink, host: proxy.host, port: proxy.port }, { dailyLimit: 100_000 });
  const workers: WorkerProcess[] = [];
  const workerEnv = {
    ...FAST_ENGINE,
    ...env,
    DATABASE_URL: engine.config.DATABASE_URL,
    REDIS_URL: redis.url,
    QUEUE_PREFIX: engine.config.QUEUE_PREFIX,
    ENCRYPTION_KEY: encryptionKey,
    PUBLIC_URL: engine.config.PUBLIC_URL,
    // The SMTP proxy and the webhook receivers listen there.
    ALLOWED_PRIVATE_TARGETS: '127.0.0.1',
  };
  return {
    engine,
    ws,
    get redis() {
      return redis;
    },
    sink,
    proxy,
    async startWorker(extra = {}) {
      const worker = await startWorkerProcess({ ...workerEnv, ...extra });
      workers.push(worker);
      return worker;
    },
    async restartRedis() {
      await redis.stop();
      redis = await startPrivateRedis(redisPort);
    },
    async close() {
      await Promise.all(workers.map((w) => w.crash()));
      await proxy.close();
      await sink.close();
      await engine.close();
      await redis.stop();
    },
  };
}

export type CadenceLead = { id: string; email: string; enrollmentId: string };
export type Cadence = { sequenceId: string; leads: CadenceLead[]; enrollmentIds: string[] };

/**
 * `count` leads enrolled, through the API, in an active sequence of three emails `waitSeconds`
 * apart (the 2nd and 3rd in the first one's thread); in the world's workspace unless `ws` names another.
 */
export async function startCadence(
  world: FaultWorld,
  count: number,
  opts: { waitSeconds?: number; firstAfterSeconds?: number; ws?: TestWorkspace } = {},
): Promise<Cadence> {
  const { engine } = world;
  const ws = opts.ws ?? world.ws;
  const wait = { type: 'wait', seconds: opts.waitSeconds ?? 3 };
  const steps = [
    ...(opts.firstAfterSeconds ? [{ type: 'wait', seconds: opts.firstAfterSeconds }] : []),
    { id: 'first', type: 'email', subject: 'Hello {{ firstName }}', body: 'Hi {{ firstName }}' },
    wait,
    { id: 'second', type: 'email', subject: 'x', body: 'Following up', thread: 'reply' },
    wait,
    { id: 'third', type: 'email', subject: 'x', body: 'Last note', thread: 'reply' },
  ];
  const created = await engine.app.inject({
    method: 'POST',
    url: '/v1/sequences',
    headers: ws.auth,
    payload: { name: `faults ${randomBytes(4).toString('hex')}`, steps },
  });
  expect(created.statusCode, created.body).toBe(201);
  const sequenceId = created.json<{ id: string }>().id;
  const activated = await engine.app.inject({
    method: 'POST',
    url: `/v1/sequences/${sequenceId}/activate`,
    headers: ws.auth,
  });
  expect(activated.statusCode, activated.body).toBe(200);
  const rows = await insertLeads(engine.deps.db, ws.id, count);
  const enrolled = await engine.app.inject({
    method: 'POST',
    url: `/v1/sequences/${sequenceId}/enrollments`,
    headers: ws.auth,
    payload: { leadIds: rows.map((l) => l.id) },
  });
  const body = enrolled.json<{ enrolled: { leadId: string; enrollmentId: string }[] }>();
  expect(body.enrolled, enrolled.body).toHaveLength(count);
  const enrollmentOf = new Map(body.enrolled.map((e) => [e.leadId, e.enrollmentId]));
  const leads = rows.map((l) => ({
    id: l.id,
    email: (l.email ?? '').toLowerCase(),
    enrollmentId: enrollmentOf.get(l.id) ?? '',
  }));
  return { sequenceId, leads, enrollmentIds: leads.map((l) => l.enrollmentId) };
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
