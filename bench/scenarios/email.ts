import { cpuBudgetMs, startProcessCpu, startRedisCpu } from '../budget';
import { benchMessage, nodemailerCeiling } from '../ceilings/nodemailer';
import { startChild } from '../child';
import { dueAtOnce, enrollFresh } from '../burst-setup';
import { api, startBenchEngine } from '../engine';
import { startUsage } from '../usage';
import { sampleWaits } from '../waits';
import { throughputRow } from '../report';
import { perSecond, round, roundThroughput, type Scenario } from '../scenario';
import { activeSequence, benchWorkspace, lateness } from '../seed';
import { waitUntil } from '../wait';

const MAILBOXES = 10;

/** The same message the ceiling sends, as Liquid templates over the seeded leads' fields. */
export const emailSteps = [
  { type: 'wait', days: 1 },
  {
    type: 'email',
    subject: 'Quick question for {{ company }}',
    body:
      'Hi {{ firstName }},\n\nI noticed {{ company }} is growing its sales team. We help teams like yours ' +
      'book more meetings without more headcount. Would a 15-minute call next week be useful?\n\nBest,\nAlex',
  },
  { type: 'wait', days: 3 },
  { type: 'email', subject: 'Following up', body: 'Hi again {{ firstName }}', thread: 'reply' },
];

/**
 * Email burst: N email steps due at once, sent by the real email channel across 10 mailboxes whose
 * limits do not bind, into an SMTP sink in its own process; against raw pooled nodemailer into the
 * same sink at the same concurrency.
 */
export const emailScenario: Scenario = {
  name: 'email',
  async run(ctx) {
    const count = ctx.env.options.quick ? 200 : 5000;
    const sink = await startChild('smtp-sink');
    const stage = await ctx.env.stage('email');
    const engine = await startBenchEngine(stage);
    try {
      const concurrency = engine.config.STEP_CONCURRENCY;
      ctx.log(`ceiling: raw nodemailer, ${count} messages over ${MAILBOXES} pooled transports`);
      const rawUsage = await startUsage(null, stage.databaseUrl);
      const rawSink = startProcessCpu([sink.pid]);
      const raw = await ctx.phase('ceiling-nodemailer', () =>
        nodemailerCeiling({ port: sink.port, count, mailboxes: MAILBOXES, concurrency }),
      );
      raw.cost = await rawUsage.stop(count);
      const rawSinkMs = rawSink.stop(count);
      const afterCeiling = await sink.request('reset');
      if (afterCeiling.received !== count)
        throw new Error(`the sink got ${afterCeiling.received} of ${count}`);
      ctx.ceilings.set('nodemailer', raw);

      const ws = await benchWorkspace(engine.deps, 'email');
      for (let i = 0; i < MAILBOXES; i++) {
        await api(engine.app, 'POST', '/v1/mailboxes', {
          key: ws.apiKey,
          payload: {
            name: `Sender ${i}`,
            fromEmail: `alex@sender${i}.test`,
            fromName: 'Alex',
            smtp: { host: '127.0.0.1', port: sink.port, tls: 'none' },
            dailyLimit: 100_000,
            minIntervalSeconds: 0,
          },
        });
      }
      const sequenceId = await activeSequence(engine.app, ws.apiKey, { name: 'email', steps: emailSteps });
      ctx.log(`enrolling ${count} leads`);
      await enrollFresh(engine, { workspaceId: ws.id, sequenceId, count });
      const { dueAt, stepIndex } = await dueAtOnce(engine, ws.id, count);
      const usage = await startUsage(null, stage.databaseUrl);
      const sinkCpu = startProcessCpu([sink.pid]);
      const redisCpu = await startRedisCpu(engine.deps.redis);
      const waits = await sampleWaits(stage.databaseUrl);
      await engine.startWorkers();
      ctx.log(`${count} emails due at ${dueAt.toISOString()}; sending`);
      await ctx.phase('send', () =>
        waitUntil(
          async () => {
            const late = await lateness(engine.deps, { workspaceId: ws.id, stepIndex });
            return late.count >= count;
          },
          { timeoutMs: 15 * 60_000, intervalMs: 500, what: `${count} emails to be sent` },
        ),
      );
      const perEmail = await usage.stop(count);
      const cpu = cpuPerEmail({
        ceilingPerSecond: raw.perSecond,
        nodemailerMs: raw.cost.nodeCpuMs,
        ceilingSinkMs: rawSinkMs,
        engine: perEmail,
        sinkMs: sinkCpu.stop(count),
        redisMs: redisCpu.stop(count),
      });
      ctx.log(
        `CPU per email: the target allows ${cpu.targetAllowsMs} ms on all cores; SMTP alone ` +
          `(nodemailer + sink) takes ${cpu.smtpMs} ms, leaving ${cpu.leftForEngineMs} ms; ` +
          `the engine's own work took ${cpu.engineOwnMs} ms`,
      );
      const postgresWaits = await waits.stop();
      const late = await lateness(engine.deps, { workspaceId: ws.id, stepIndex });
      const got = await sink.request('count');
      if (got.received !== count || got.duplicates !== 0)
        throw new Error(
          `the sink got ${got.received} messages (${got.duplicates} duplicated) for ${count} steps`,
        );
      const seconds = ((late.lastAt?.getTime() ?? Date.now()) - dueAt.getTime()) / 1000;
      const messagesPerSecond = count / seconds;
      return {
        rows: [
          throughputRow(
            `email burst, ${count.toLocaleString('en-US')} over ${MAILBOXES} mailboxes`,
            perSecond(messagesPerSecond),
            { ...perSecond(raw.perSecond), what: 'raw nodemailer' },
            0.7,
          ),
        ],
        details: {
          count,
          mailboxes: MAILBOXES,
          concurrency,
          sendSeconds: round(seconds),
          messagesPerSecond: round(messagesPerSecond),
          // Statements to Postgres and CPU of this process per email while sending.
          perEmail,
          cpuPerEmail: cpu,
          postgresWaits,
          latenessMs: { p50: round(late.p50Ms), p99: round(late.p99Ms) },
          sink: { received: got.received, duplicates: got.duplicates },
          ceiling: roundThroughput(raw),
          messageBytes: benchMessage.text(0).length,
        },
      };
    } finally {
      await engine.close();
      await sink.stop();
      await stage.drop();
    }
  },
};

/**
 * Where an email's CPU goes, against what the 0.7 target allows on this machine's cores. The
 * engine pays what the ceiling pays (nodemailer and the sink) plus its own work: Node beyond
 * nodemailer, Postgres and Redis. The target is reachable only if that own work fits in what
 * is left.
 */
function cpuPerEmail(m: {
  ceilingPerSecond: number;
  nodemailerMs: number;
  ceilingSinkMs: number;
  engine: { nodeCpuMs: number; pgCpuMs: number };
  sinkMs: number;
  redisMs: number;
}) {
  const targetAllowsMs = cpuBudgetMs(m.ceilingPerSecond, 0.7);
  const smtpMs = m.nodemailerMs + m.ceilingSinkMs;
  return {
    targetAllowsMs: round(targetAllowsMs),
    smtpMs: round(smtpMs),
    leftForEngineMs: round(targetAllowsMs - smtpMs),
    engineOwnMs: round(m.engine.nodeCpuMs - m.nodemailerMs + m.engine.pgCpuMs + m.redisMs),
    ceiling: { nodemailerMs: m.nodemailerMs, sinkMs: m.ceilingSinkMs },
    engine: {
      nodeMs: m.engine.nodeCpuMs,
      postgresMs: m.engine.pgCpuMs,
      redisMs: m.redisMs,
      sinkMs: m.sinkMs,
    },
  };
}
