import { sql } from 'drizzle-orm';
import { simulateSequence } from '../../src/api/sequences/simulate.service';
import { enrollLeads } from '../../src/engine/enroll';
import { startBenchEngine } from '../engine';
import { perSecond, round, type Scenario } from '../scenario';
import { throughputRow } from '../report';
import { activeSequence, benchWorkspace, seedLeads } from '../seed';

const LEADS = 10_000;
const MAILBOXES = 20;
/** Per mailbox: 20 × 150 = 3,000 sends a day, so the 60,000 sends take days and the caps bind. */
const DAILY_LIMIT = 150;
const MIN_INTERVAL_SECONDS = 0;

/** Heap in use, sampled while `work` runs: its peak above the level before it started. */
async function peakHeap<T>(work: () => Promise<T>): Promise<{ value: T; peakBytes: number }> {
  const before = process.memoryUsage().heapUsed;
  let peak = before;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().heapUsed);
  }, 20);
  try {
    const value = await work();
    peak = Math.max(peak, process.memoryUsage().heapUsed);
    return { value, peakBytes: peak - before };
  } finally {
    clearInterval(timer);
  }
}

/**
 * Issue 19: simulating 10,000 leads over a 6-step email cadence with 20 mailboxes (window, business
 * days, daily caps and spacing all binding), against enrolling the same leads for real in the same
 * run and process (which writes each lead's enrollment and first run). Target: the whole timeline
 * simulated at least 5× faster than the enrollment writes its first step.
 */
export const simulateScenario: Scenario = {
  name: 'simulate',
  async run(ctx) {
    const leadsCount = ctx.env.options.quick ? 2_000 : LEADS;
    const stage = await ctx.env.stage('simulate');
    const engine = await startBenchEngine(stage);
    try {
      const ws = await benchWorkspace(engine.deps, 'simulate');
      await engine.deps.db.execute(sql`
        update workspaces set timezone = 'Europe/Paris', country = 'FR' where id = ${ws.id}`);
      await engine.deps.db.execute(sql`
        insert into mailboxes (workspace_id, name, from_email, smtp_host, smtp_port, daily_limit,
          min_interval_seconds)
        select ${ws.id}::uuid, 'Sender ' || g, 'sender' || g || '@bench.test', '127.0.0.1', 2525,
          ${DAILY_LIMIT}, ${MIN_INTERVAL_SECONDS}
        from generate_series(1, ${MAILBOXES}) g`);
      const leads = await seedLeads(engine.deps, ws.id, { from: 1, to: leadsCount });
      const zones = ['Europe/Paris', 'Europe/Berlin', 'Europe/London', 'America/New_York'];
      await engine.deps.db.execute(sql`
        update leads set timezone = (${sql.param(zones)}::text[])[1 + abs(hashtext(id::text)) % 4]
        where workspace_id = ${ws.id}`);
      const email = (n: number) => ({
        type: 'email',
        subject: `Note ${n}`,
        body: `Hello {{ firstName }} ${n}`,
      });
      const sequenceId = await activeSequence(engine.app, ws.apiKey, {
        name: 'Six steps',
        steps: [
          email(1),
          { type: 'wait', days: 2, businessDays: true },
          email(2),
          { type: 'wait', days: 3, businessDays: true },
          email(3),
          { type: 'wait', days: 4 },
          email(4),
          { type: 'wait', days: 5, businessDays: true },
          email(5),
          { type: 'wait', days: 7 },
          email(6),
        ],
        schedule: { days: [1, 2, 3, 4, 5], start: '09:00', end: '17:00' },
      } as never);
      const leadIds = leads.map((l) => l.id);
      const start = new Date();

      const simulated = await ctx.phase('simulate', () =>
        peakHeap(async () => {
          const t0 = performance.now();
          const result = await simulateSequence(engine.deps, ws.id, sequenceId, { leadIds, start });
          return { result, ms: performance.now() - t0 };
        }),
      );
      const enrolled = await ctx.phase('enroll', async () => {
        const t0 = performance.now();
        const result = await enrollLeads(engine.deps, ws.id, sequenceId, leadIds);
        return { result, ms: performance.now() - t0 };
      });
      if (!enrolled.result.ok || enrolled.result.enrolled.length !== leadsCount)
        throw new Error('the enrollment did not take every lead');
      const plan = simulated.value.result;
      if (!plan) throw new Error('the simulation found no sequence');
      const steps = plan.leads.reduce((n, l) => n + l.steps.length, 0);
      const deferrals = plan.leads.reduce(
        (n, l) => n + l.steps.reduce((m, s) => m + (s.deferrals ?? 0), 0),
        0,
      );
      const simMs = simulated.value.ms;
      const enrollMs = enrolled.ms;
      ctx.log(
        `simulate ${round(simMs)} ms (${steps} steps, ${deferrals} deferrals, peak heap +${round(simulated.peakBytes / 2 ** 20)} MiB), enroll ${round(enrollMs)} ms`,
      );
      return {
        rows: [
          throughputRow(
            `simulate: ${leadsCount.toLocaleString('en-US')} leads × 6 emails, ${MAILBOXES} mailboxes`,
            perSecond((leadsCount * 1000) / simMs),
            { ...perSecond((leadsCount * 1000) / enrollMs), what: 'enrolling the same leads, same run' },
            5,
          ),
          {
            scenario: 'simulate: peak heap above the start',
            engine: { value: round(simulated.peakBytes / 2 ** 20, 1), unit: 'MiB' },
            ceiling: null,
            ratio: null,
            target: null,
            met: null,
          },
        ],
        details: {
          leads: leadsCount,
          mailboxes: MAILBOXES,
          dailyLimit: DAILY_LIMIT,
          minIntervalSeconds: MIN_INTERVAL_SECONDS,
          simulateMs: round(simMs),
          enrollMs: round(enrollMs),
          steps,
          deferrals,
          days: plan.days.length,
          finishesAt: plan.finishesAt,
          bottlenecks: plan.bottlenecks.length,
          peakHeapMiB: round(simulated.peakBytes / 2 ** 20, 1),
          summary: plan.summary,
        },
      };
    } finally {
      await engine.close();
      await stage.drop();
    }
  },
};
