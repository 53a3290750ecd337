import { sql } from 'drizzle-orm';
import type { Db } from '../../src/db/client';
import { startRedisCpu } from '../budget';
import { bullmqCeiling, type Throughput } from '../ceilings/bullmq';
import { pgClaimCeiling } from '../ceilings/pg-claim';
import { dueAtOnce, enrollFresh } from '../burst-setup';
import { noopChannels, startBenchEngine } from '../engine';
import type { Stage } from '../env';
import { startUsage } from '../usage';
import { sampleWaits } from '../waits';
import { type Row, throughputRow } from '../report';
import { perSecond, round, roundThroughput, type Scenario, type ScenarioContext } from '../scenario';
import { activeSequence, benchWorkspace, lateness } from '../seed';
import { waitUntil } from '../wait';

/** A realistic cadence: the first email falls due in the burst, the follow-up is scheduled 3 days on. */
const steps = [
  { type: 'wait', days: 1 },
  { type: 'email', subject: 'Quick question for {{ company }}', body: 'Hi {{ firstName }}' },
  { type: 'wait', days: 3 },
  { type: 'email', subject: 'Following up', body: 'Hi again {{ firstName }}', thread: 'reply' },
];

/**
 * Burst drain: N enrollments whose next step falls due at one instant, run by the real workers with
 * a no-op channel. Steps/s from the due instant to the last step, and lateness (executed − due),
 * against min(raw BullMQ, raw Postgres claim) measured first on the same stage.
 */
export const burstScenario: Scenario = {
  name: 'burst',
  async run(ctx) {
    const count = ctx.env.options.quick ? 1000 : 20_000;
    const stage = await ctx.env.stage('burst');
    const engine = await startBenchEngine(stage);
    try {
      const concurrency = engine.config.STEP_CONCURRENCY;
      const { bullmq, claim, ceiling } = await burstCeilings(ctx, stage, { count, concurrency });

      ctx.log(`enrolling ${count} leads`);
      const ws = await benchWorkspace(engine.deps, 'burst');
      const sequenceId = await activeSequence(engine.app, ws.apiKey, { name: 'burst', steps });
      await enrollFresh(engine, { workspaceId: ws.id, sequenceId, count });
      const { dueAt, stepIndex } = await dueAtOnce(engine, ws.id, count);
      const usage = await startUsage(null, stage.databaseUrl);
      const redisCpu = await startRedisCpu(engine.deps.redis);
      const waits = await sampleWaits(stage.databaseUrl);
      await engine.startWorkers(noopChannels());
      ctx.log(`${count} steps due at ${dueAt.toISOString()}; draining`);
      await ctx.phase('drain', () =>
        waitUntil(async () => (await sentCount(engine.deps.db, ws.id, stepIndex)) >= count, {
          timeoutMs: 15 * 60_000,
          intervalMs: 500,
          what: `${count} steps to run`,
        }),
      );
      const perStep = { ...(await usage.stop(count)), redisCpuMs: redisCpu.stop(count) };
      const postgresWaits = await waits.stop();
      const late = await lateness(engine.deps, { workspaceId: ws.id, stepIndex });
      const seconds = ((late.lastAt?.getTime() ?? Date.now()) - dueAt.getTime()) / 1000;
      const stepsPerSecond = count / seconds;
      return {
        rows: burstRows(count, stepsPerSecond, late.p99Ms, ceiling),
        details: {
          count,
          concurrency,
          drainSeconds: round(seconds),
          // Statements to Postgres, CPU of this process and of Postgres per step while draining
          // (the background loops and this scenario's polling included), and of Redis.
          perStep,
          postgresWaits,
          stepsPerSecond: round(stepsPerSecond),
          latenessMs: { p50: round(late.p50Ms), p99: round(late.p99Ms), max: round(late.maxMs) },
          ceilings: { bullmq: roundThroughput(bullmq), pgClaim: roundThroughput(claim) },
        },
      };
    } finally {
      await engine.close();
      await stage.drop();
    }
  },
};

async function sentCount(db: Db, workspaceId: string, stepIndex: number): Promise<number> {
  const { rows } = await db.execute<{ n: number }>(
    sql`select count(*)::int as n from step_runs where workspace_id = ${workspaceId} and step_index = ${stepIndex} and status = 'sent'`,
  );
  return rows[0]?.n ?? 0;
}

/** Raw BullMQ and raw Postgres claim at the engine's concurrency; the burst's ceiling is the lower. */
async function burstCeilings(
  ctx: ScenarioContext,
  stage: Stage,
  opts: { count: number; concurrency: number },
) {
  ctx.log(`ceilings at concurrency ${opts.concurrency}: raw BullMQ, raw Postgres claim (${opts.count} each)`);
  const usage = await startUsage(null, stage.databaseUrl);
  const bullmq = await ctx.phase('ceiling-bullmq', () =>
    bullmqCeiling({ redisUrl: ctx.env.redisUrl, prefix: stage.prefix, ...opts }),
  );
  bullmq.cost = await usage.stop(opts.count);
  const claim = await ctx.phase('ceiling-pg', () =>
    pgClaimCeiling({ databaseUrl: stage.databaseUrl, ...opts }),
  );
  ctx.ceilings.set('bullmq', bullmq);
  ctx.ceilings.set('pg-claim', claim);
  const ceiling =
    bullmq.perSecond < claim.perSecond
      ? { ...bullmq, what: 'raw BullMQ' }
      : { ...claim, what: 'raw PG claim' };
  return { bullmq, claim, ceiling };
}

function burstRows(
  count: number,
  stepsPerSecond: number,
  p99Ms: number,
  ceiling: Throughput & { what: string },
): Row[] {
  // Were the engine as fast as the ceiling, the last step would run count/ceiling s after the due time.
  const idealP99 = (0.99 * count) / ceiling.perSecond;
  return [
    throughputRow(
      `burst drain, ${count.toLocaleString('en-US')} due at once`,
      perSecond(stepsPerSecond),
      { ...perSecond(ceiling.perSecond), what: ceiling.what },
      0.5,
    ),
    {
      scenario: 'burst lateness p99 (executed − due)',
      engine: { value: p99Ms / 1000, unit: 's' },
      ceiling: { value: idealP99, unit: 's', what: 'drained at ceiling rate' },
      ratio: idealP99 > 0 ? p99Ms / 1000 / idealP99 : null,
      target: '< 10 s',
      met: p99Ms < 10_000,
    },
  ];
}
