import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import type { Db } from '../../src/db/client';
import { maintenancePass } from '../../src/engine/maintenance';
import { createRedis } from '../../src/queue/connection';
import { createQueues, enqueueStepRuns } from '../../src/queue/queues';
import type { Throughput } from '../ceilings/bullmq';
import { enrollFresh } from '../burst-setup';
import { type BenchEngine, startBenchEngine } from '../engine';
import { startPrivateRedis } from '../private-redis';
import { percentile, type Row, throughputRow } from '../report';
import { perSecond, round, type Scenario, type ScenarioContext } from '../scenario';
import { activeSequence, benchWorkspace } from '../seed';

const DAY_MS = 86_400_000;
/** What one enrollment costs; leads are listed too, but they exist before anyone enrolls them. */
const enrollmentTables = ['enrollments', 'step_runs', 'events'];
const tables = [...enrollmentTables, 'leads'];

/**
 * Scale: N enrollments whose next step is 1–30 days out. Time to enroll, Redis bytes per scheduled
 * step (`INFO memory` of a private redis-server, so nothing else is counted) against the same runs
 * enqueued naively as delayed BullMQ jobs, Postgres size, and the reconciler's pass.
 */
export const scaleScenario: Scenario = {
  name: 'scale',
  async run(ctx) {
    const count = ctx.env.options.quick ? 6_000 : 1_000_000;
    const naiveCount = ctx.env.options.quick ? 2_000 : 100_000;
    const redis = await startPrivateRedis();
    try {
      const naive = await ctx.phase('ceiling-naive', () => naiveBytesPerJob(redis, naiveCount));
      ctx.log(`naive delayed BullMQ job: ${Math.round(naive)} B`);
      const stage = await ctx.env.stage('scale', { REDIS_URL: redis.url });
      const engine = await startBenchEngine(stage);
      try {
        const before = await redis.usedMemory();
        const enrolled = await ctx.phase('enroll', () => enrollSpread(ctx, engine, count));
        const after = await redis.usedMemory();
        const bytesPerStep = Math.max(0, after - before) / count;
        await engine.deps.db.execute(sql`analyze enrollments, step_runs, events`);
        const passes = await ctx.phase('reconcile', () => reconcilerPasses(engine, 3));
        const sizes = await tableSizes(engine.deps.db);
        const totalBytes = sizes
          .filter((t) => enrollmentTables.includes(t.name))
          .reduce((sum, t) => sum + t.totalBytes, 0);
        const measured = { count, ...enrolled, bytesPerStep, naive, perEnrollment: totalBytes / count };
        return {
          rows: scaleRows(measured, passes, ctx.ceilings.get('enroll-raw')),
          details: {
            count,
            enrollSeconds: round(enrolled.seconds),
            enrollmentsPerSecond: round(count / enrolled.seconds),
            redis: { usedMemoryBefore: before, usedMemoryAfter: after, bytesPerStep: round(bytesPerStep) },
            naive: {
              jobs: naiveCount,
              bytesPerJob: round(naive),
              projectedBytesAtCount: Math.round(naive * count),
            },
            postgres: { totalBytes, perEnrollment: round(totalBytes / count), tables: sizes },
            reconcilerPassMs: passes.map((p) => round(p)),
          },
        };
      } finally {
        await engine.close();
        await stage.drop();
      }
    } finally {
      await redis.stop();
    }
  },
};

/**
 * Enrolls `count` leads into 30 sequences waiting 1 to 30 days, batch by batch (10,000 at most, the
 * API maximum), so the scheduled runs spread over a month. Returns the time spent in `enrollLeads`.
 */
async function enrollSpread(ctx: ScenarioContext, engine: BenchEngine, count: number) {
  const ws = await benchWorkspace(engine.deps, 'scale');
  const sequences: string[] = [];
  for (let days = 1; days <= 30; days++) {
    const steps = [
      { type: 'wait', days },
      { type: 'email', subject: 'Hello {{ company }}', body: 'Hi {{ firstName }}' },
    ];
    sequences.push(await activeSequence(engine.app, ws.apiKey, { name: `in ${days} days`, steps }));
  }
  const batch = Math.min(10_000, Math.ceil(count / 30));
  let seconds = 0;
  for (let i = 0, b = 0; i < count; i += batch, b++) {
    const size = Math.min(batch, count - i);
    const sequenceId = sequences[b % sequences.length] ?? '';
    const r = await enrollFresh(engine, { workspaceId: ws.id, sequenceId, count: size, firstIndex: i });
    seconds += r.seconds;
    if (b % 10 === 9) ctx.log(`${i + size} enrolled, ${Math.round((i + size) / seconds)}/s`);
  }
  return { seconds, batch };
}

/** Times whole maintenance passes (feed, requeue, expire leases, resume), one after the other. */
async function reconcilerPasses(engine: BenchEngine, times: number): Promise<number[]> {
  const passes: number[] = [];
  for (let i = 0; i < times; i++) {
    const t0 = performance.now();
    await maintenancePass(engine.deps);
    passes.push(performance.now() - t0);
  }
  return passes;
}

function scaleRows(
  m: {
    count: number;
    seconds: number;
    batch: number;
    bytesPerStep: number;
    naive: number;
    perEnrollment: number;
  },
  passes: number[],
  raw: Throughput | undefined,
): Row[] {
  const n = m.count.toLocaleString('en-US');
  const figureOnly = (scenario: string, value: number, unit: string): Row => ({
    scenario,
    engine: { value, unit },
    ceiling: null,
    ratio: null,
    target: null,
    met: null,
  });
  return [
    throughputRow(
      `enroll ${n} (batches of ${m.batch.toLocaleString('en-US')})`,
      perSecond(m.count / m.seconds),
      raw ? { ...perSecond(raw.perSecond), what: 'raw INSERT, bulk batches' } : null,
      null,
    ),
    {
      scenario: `Redis per scheduled step, ${n} 1–30 days out`,
      engine: { value: m.bytesPerStep, unit: 'B' },
      ceiling: { value: m.naive, unit: 'B', what: 'naive delayed BullMQ job' },
      ratio: m.naive > 0 ? m.bytesPerStep / m.naive : null,
      target: '≤ 300 B',
      met: m.bytesPerStep <= 300,
    },
    figureOnly('Postgres per enrollment (tables + indexes)', m.perEnrollment, 'B'),
    figureOnly(
      `reconciler pass at ${n} scheduled`,
      percentile(
        [...passes].sort((a, b) => a - b),
        0.5,
      ),
      'ms',
    ),
  ];
}

/**
 * The naive design, measured: every run enqueued as a delayed job through the engine's own queue
 * (same payload, job id and options) regardless of the horizon. Bytes per job from `INFO memory`.
 */
async function naiveBytesPerJob(
  redis: { url: string; usedMemory(): Promise<number> },
  jobs: number,
): Promise<number> {
  const connection = createRedis(redis.url);
  const queues = createQueues(connection, `naive_${randomUUID().slice(0, 8)}`);
  try {
    await queues.steps.waitUntilReady();
    const before = await redis.usedMemory();
    const now = Date.now();
    for (let i = 0; i < jobs; i += 5000) {
      const size = Math.min(5000, jobs - i);
      await enqueueStepRuns(
        queues,
        Array.from({ length: size }, (_, k) => ({
          id: randomUUID(),
          runAt: new Date(now + (1 + ((i + k) % 30)) * DAY_MS),
          generation: 0,
        })),
      );
    }
    const after = await redis.usedMemory();
    await queues.steps.obliterate({ force: true });
    return (after - before) / jobs;
  } finally {
    await queues.close();
    connection.disconnect();
  }
}

async function tableSizes(db: Db) {
  const { rows } = await db.execute<{
    name: string;
    table_bytes: string;
    index_bytes: string;
    total_bytes: string;
    rows: string;
  }>(sql`
    select c.relname as name, pg_table_size(c.oid) as table_bytes, pg_indexes_size(c.oid) as index_bytes,
      pg_total_relation_size(c.oid) as total_bytes, c.reltuples::bigint as rows
    from pg_class c
    where c.relname in (${sql.join(
      tables.map((t) => sql`${t}`),
      sql`, `,
    )}) and c.relkind = 'r'`);
  return rows.map((r) => ({
    name: r.name,
    rows: Number(r.rows),
    tableBytes: Number(r.table_bytes),
    indexBytes: Number(r.index_bytes),
    totalBytes: Number(r.total_bytes),
  }));
}
