import { sql } from 'drizzle-orm';
import type { Db } from '../../src/db/client';
import { bullmqCeiling } from '../ceilings/bullmq';
import { pgClaimCeiling } from '../ceilings/pg-claim';
import { dueAtOnce, enrollFresh } from '../burst-setup';
import { noopChannels, startBenchEngine } from '../engine';
import { startUsage } from '../usage';
import { sampleWaits } from '../waits';
import { throughputRow } from '../report';
import { perSecond, round, roundThroughput, type Scenario } from '../scenario';
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
      ctx.log(`ceilings at concurrency ${concurrency}: raw BullMQ, raw Postgres claim (${count} each)`);
      const bullmqUsage = await startUsage(null, stage.databaseUrl);
      const bullmq = await ctx.phase('ceiling-bullmq', () =>
        bullmqCeiling({ redisUrl: ctx.env.redisUrl, prefix: stage.prefix, count, concurrency }),
      );
      bullmq.cost = await bullmqUsage.stop(count);
      const claim = await ctx.phase('ceiling-pg', () =>
        pgClaimCeiling({ databaseUrl: stage.databaseUrl, count, concurrency }),
      );
      ctx.ceilings.set('bullmq', bullmq);
      ctx.ceilings.set('pg-claim', claim);
      const ceiling =
        bullmq.perSecond < claim.perSecond
          ? { ...bullmq, what: 'raw BullMQ' }
          : { ...claim, what: 'raw PG claim' };

      ctx.log(`enrolling ${count} leads`);
      const ws = await benchWorkspace(engine.deps, 'burst');
      const sequenceId = await activeSequence(engine.app, ws.apiKey, { name: 'burst', steps });
      await enrollFresh(engine, { workspaceId: ws.id, sequenceId, count });
      const { dueAt, stepIndex } = await dueAtOnce(engine, ws.id, count);
      const usage = await startUsage(null, stage.databaseUrl);
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
      const perStep = await usage.stop(count);
      const postgresWaits = await waits.stop();
      const late = await lateness(engine.deps, { workspaceId: ws.id, stepIndex });
      const seconds = ((late.lastAt?.getTime() ?? Date.now()) - dueAt.getTime()) / 1000;
      const stepsPerSecond = count / seconds;
      // Were the engine as fast as the ceiling, the last step would run count/ceiling s after the due time.
      const idealP99 = (0.99 * count) / ceiling.perSecond;
      return {
        rows: [
          throughputRow(
            `burst drain, ${count.toLocaleString('en-US')} due at once`,
            perSecond(stepsPerSecond),
            { ...perSecond(ceiling.perSecond), what: ceiling.what },
            0.5,
          ),
          {
            scenario: 'burst lateness p99 (executed − due)',
            engine: { value: late.p99Ms / 1000, unit: 's' },
            ceiling: { value: idealP99, unit: 's', what: 'drained at ceiling rate' },
            ratio: idealP99 > 0 ? late.p99Ms / 1000 / idealP99 : null,
            target: '< 10 s',
            met: late.p99Ms < 10_000,
          },
        ],
        details: {
          count,
          concurrency,
          drainSeconds: round(seconds),
          // Statements to Postgres and CPU of this process per step while draining (loops and polling included).
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
