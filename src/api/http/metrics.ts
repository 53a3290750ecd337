import type { FastifyInstance } from 'fastify';
import { collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { sql } from 'drizzle-orm';
import type { Deps } from '../../context';

/** The queue states an operator watches; `completed` is not kept (removeOnComplete). */
const queueStates = [
  'waiting',
  'active',
  'delayed',
  'prioritized',
  'waiting-children',
  'paused',
  'failed',
] as const;

/** A scrape must answer even while Redis is down: the depth gauges are then left empty. */
const QUEUE_READ_TIMEOUT_MS = 1000;

async function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Builds the registry: default process metrics, the HTTP duration histogram (fed by `observe`),
 * and queue depth gauges read from Redis at scrape time, so they are never stale.
 * One registry per app (not prom-client's global one), so several apps can live in one process.
 */
export function createMetrics(deps: Pick<Deps, 'queues' | 'log' | 'db'>) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const httpDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration in seconds, by method, route pattern and status code',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  new Gauge({
    name: 'outreach_queue_jobs',
    help: 'Jobs in each BullMQ queue by state, read at scrape time',
    labelNames: ['queue', 'state'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      try {
        const counts = await withTimeout(
          Promise.all(deps.queues.all().map(async (q) => ({ q, c: await q.getJobCounts(...queueStates) }))),
          QUEUE_READ_TIMEOUT_MS,
        );
        for (const { q, c } of counts) {
          for (const state of queueStates) this.set({ queue: q.name, state }, c[state] ?? 0);
        }
      } catch (err: unknown) {
        deps.log.warn({ err }, 'metrics: queue depth unavailable');
      }
    },
  });
  registerInboxGauges(registry, deps);
  registerLinkedInGauges(registry, deps);
  return {
    registry,
    observe(method: string, route: string, statusCode: number, seconds: number) {
      // A labelled child (`httpDuration.labels(…)`) would save nothing: prom-client hashes its labels
      // on every observation all the same (measured, issue 20).
      httpDuration.observe({ method, route, status_code: String(statusCode) }, seconds);
    },
  };
}

/** `GET /metrics` in the Prometheus text format, and the hook that times every response. */
export function registerMetrics(app: FastifyInstance, deps: Pick<Deps, 'queues' | 'log' | 'db'>): void {
  const metrics = createMetrics(deps);
  app.addHook('onResponse', async (request, reply) => {
    // The route pattern, never the raw URL: ids in paths would explode the label cardinality.
    const route = request.routeOptions.url ?? 'unmatched';
    metrics.observe(request.method, route, reply.statusCode, reply.elapsedTime / 1000);
  });
  app.get(
    '/metrics',
    { config: { auth: 'public' }, logLevel: 'warn', schema: { hide: true } },
    async (_request, reply) => {
      const body = await metrics.registry.metrics();
      return reply.header('content-type', metrics.registry.contentType).send(body);
    },
  );
}

type InboxRow = { id: string; status: string; lag: number | null; failures: number; errors: number };

/**
 * Per-mailbox inbox health, read from Postgres at scrape time (the readers run in worker processes,
 * the scrape in the API): seconds since the inbox was last read in full, consecutive failures, the
 * errors counted since the mailbox was added, and the status as a 0/1 gauge per value.
 */
function registerInboxGauges(registry: Registry, deps: Pick<Deps, 'db' | 'log'>) {
  let rows: Promise<InboxRow[]> | null = null;
  // One query per scrape, shared by the gauges below.
  const read = () => {
    rows ??= deps.db
      .execute<InboxRow>(sql`
        select id, inbox_status as status, inbox_failures as failures, inbox_errors_total as errors,
          extract(epoch from now() - inbox_last_sync_at)::float8 as lag
        from mailboxes where status <> 'deleted' and imap_host is not null`)
      .then((r) => r.rows)
      .catch((err: unknown) => {
        deps.log.warn({ err }, 'metrics: inbox state unavailable');
        return [];
      })
      .finally(() => setTimeout(() => (rows = null), 0));
    return rows;
  };
  new Gauge({
    name: 'outreach_inbox_lag_seconds',
    help: 'Seconds since each mailbox inbox was last read in full',
    labelNames: ['mailbox'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      for (const r of await read()) if (r.lag !== null) this.set({ mailbox: r.id }, r.lag);
    },
  });
  new Gauge({
    name: 'outreach_inbox_failures',
    help: 'Consecutive failed inbox sessions per mailbox (0 once a sync goes through)',
    labelNames: ['mailbox'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      for (const r of await read()) this.set({ mailbox: r.id }, r.failures);
    },
  });
  new Gauge({
    name: 'outreach_inbox_errors_total',
    help: 'Failed inbox sessions per mailbox since it was added (a counter kept in Postgres)',
    labelNames: ['mailbox'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      for (const r of await read()) this.set({ mailbox: r.id }, r.errors);
    },
  });
  new Gauge({
    name: 'outreach_inbox_status',
    help: 'Inbox status per mailbox: 1 for its current status',
    labelNames: ['mailbox', 'status'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      for (const r of await read()) this.set({ mailbox: r.id, status: r.status }, 1);
    },
  });
}

type LinkedInAccountMetricsRow = { id: string; status: string; unrecognized: number };

/**
 * LinkedIn accounts, read from Postgres at scrape time: each account's status as a 0/1 gauge (an
 * alert on `status="layout_unrecognized"` is how an operator hears LinkedIn changed its pages), and
 * how many times each met a layout its page objects did not recognise (a counter kept in Postgres).
 */
function registerLinkedInGauges(registry: Registry, deps: Pick<Deps, 'db' | 'log'>) {
  let rows: Promise<LinkedInAccountMetricsRow[]> | null = null;
  // One query per scrape, shared by the gauges below.
  const read = () => {
    rows ??= deps.db
      .execute<LinkedInAccountMetricsRow>(sql`
        select id, status, layout_unrecognized_total as unrecognized
        from linkedin_accounts where deleted_at is null`)
      .then((r) => r.rows)
      .catch((err: unknown) => {
        deps.log.warn({ err }, 'metrics: linkedin account state unavailable');
        return [];
      })
      .finally(() => setTimeout(() => (rows = null), 0));
    return rows;
  };
  new Gauge({
    name: 'outreach_linkedin_account_status',
    help: 'LinkedIn account status per account: 1 for its current status (layout_unrecognized: LinkedIn changed)',
    labelNames: ['account', 'status'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      for (const r of await read()) this.set({ account: r.id, status: r.status }, 1);
    },
  });
  new Gauge({
    name: 'outreach_linkedin_layout_unrecognized_total',
    help: 'Times each LinkedIn account met a page its page objects did not recognise (a counter kept in Postgres)',
    labelNames: ['account'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      for (const r of await read()) this.set({ account: r.id }, r.unrecognized);
    },
  });
}
