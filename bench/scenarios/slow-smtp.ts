import { emailSteps as steps } from './email';
import pg from 'pg';
import { cpuBudgetMs } from '../budget';
import { dueAtOnce, enrollFresh } from '../burst-setup';
import { nodemailerCeiling } from '../ceilings/nodemailer';
import { type Child, startChild } from '../child';
import { startBenchEngine } from '../engine';
import { sinkMailboxes } from '../mailboxes';
import { watchConnections } from '../pg-connections';
import { sampleSessions } from '../sink-sampler';
import { type Row, throughputRow } from '../report';
import { perSecond, round, roundThroughput, type Scenario, type ScenarioContext } from '../scenario';
import { activeSequence, benchWorkspace, lateness } from '../seed';
import { startUsage } from '../usage';
import { waitUntil } from '../wait';

const MAILBOXES = 50;
const COMMAND_MS = 50;
const DATA_MS = 300;
/** The engine's default pool, which the target holds whatever the sessions in flight. */
const MAX_CONNECTIONS = 20;
/**
 * Steps a worker runs at once per SMTP session: above 1, because a step also spends time claiming,
 * rendering and recording (no session in use). Two, not 1.5: the emails fall due at one instant, so
 * the first sends end together too, and with 1.5 sessions went idle in waves for the 3 to 4 s it
 * took the next steps to be claimed and prepared (sends per half second 63 to 135 against 150).
 */
const STEPS_PER_SESSION = 2;

/**
 * Slow SMTP: N emails due at once over 50 mailboxes into a sink that answers each command after
 * 50 ms and each message after 300 ms, as real providers do; against raw pooled nodemailer with
 * the same number of SMTP sessions into the same sink. Once at the default 3 sessions per mailbox
 * (150) and once at 4 (200), with the pool at its default 20 connections both times.
 */
export const slowSmtpScenario: Scenario = {
  name: 'slow-smtp',
  async run(ctx) {
    const count = ctx.env.options.quick ? 500 : 5000;
    const sink = await startChild('slow-smtp-sink', {
      args: [`--command-ms=${COMMAND_MS}`, `--data-ms=${DATA_MS}`],
      label: 'slow-smtp-sink',
      ...(ctx.env.options.cpuProf ? { cpuProfDir: ctx.env.options.profileDir } : {}),
    });
    try {
      const rows: Row[] = [];
      const details: Record<string, unknown> = { count, mailboxes: MAILBOXES, commandMs: COMMAND_MS };
      for (const sessionsPerMailbox of [3, 4]) {
        const part = await measure(ctx, sink, count, sessionsPerMailbox);
        rows.push(...part.rows);
        details[`sessions${MAILBOXES * sessionsPerMailbox}`] = part.details;
      }
      return { rows, details: { ...details, dataMs: DATA_MS } };
    } finally {
      await sink.stop();
    }
  },
};

async function measure(ctx: ScenarioContext, sink: Child, count: number, sessionsPerMailbox: number) {
  const sessions = MAILBOXES * sessionsPerMailbox;
  const stepConcurrency = Math.ceil(sessions * STEPS_PER_SESSION);
  ctx.log(`ceiling: raw nodemailer, ${count} messages, ${MAILBOXES} pools × ${sessionsPerMailbox} sessions`);
  const rawUsage = await startUsage(null, null);
  const rawSessions = sampleSessions(sink);
  const raw = await ctx.phase(`ceiling-${sessions}`, () =>
    nodemailerCeiling({
      port: sink.port,
      count,
      mailboxes: MAILBOXES,
      concurrency: sessions,
      sessionsPerMailbox,
    }),
  );
  const ceilingSessionUse = await rawSessions.stop();
  raw.cost = await rawUsage.stop(count);
  const afterCeiling = await sink.request('reset');
  if (afterCeiling.received !== count) throw new Error(`the sink got ${afterCeiling.received} of ${count}`);
  ctx.log(`ceiling: ${round(raw.perSecond)}/s over ${afterCeiling.peakSessions} sessions`);

  const stage = await ctx.env.stage(`slow-smtp-${sessions}`, {
    STEP_CONCURRENCY: String(stepConcurrency),
    SMTP_SESSIONS_PER_MAILBOX: String(sessionsPerMailbox),
  });
  const engine = await startBenchEngine(stage);
  try {
    const ws = await benchWorkspace(engine.deps, `slow-smtp-${sessions}`);
    await sinkMailboxes(engine.app, ws.apiKey, sink.port, MAILBOXES);
    const sequenceId = await activeSequence(engine.app, ws.apiKey, { name: 'slow smtp', steps });
    ctx.log(`enrolling ${count} leads`);
    await enrollFresh(engine, { workspaceId: ws.id, sequenceId, count });
    const { dueAt, stepIndex } = await dueAtOnce(engine, ws.id, count);
    const usage = await startUsage(null, stage.databaseUrl);
    const connections = await watchConnections(engine.deps.pool, stage.databaseUrl);
    // Steps handed to the channel and not yet answered by the server, read on a connection of the
    // bench's own (not counted as the engine's): against the sink's busy sessions, they show sends
    // waiting in a mailbox's nodemailer queue while other mailboxes' sessions sit idle.
    const observer = new pg.Client({
      connectionString: stage.databaseUrl,
      application_name: 'bench-observer',
    });
    await observer.connect();
    const sessionUse = sampleSessions(sink, {
      handedOff: async () =>
        Number(
          (
            await observer.query<{ n: number }>(
              "select count(*)::int as n from step_runs where status = 'claimed' and handoff = 'started'",
            )
          ).rows[0]?.n ?? 0,
        ),
    });
    await engine.startWorkers();
    ctx.log(`${count} emails due at ${dueAt.toISOString()}; STEP_CONCURRENCY ${stepConcurrency}`);
    // Progress from the sink, not from Postgres, so the bench takes none of the pool it measures.
    await ctx.phase(`send-${sessions}`, () =>
      waitUntil(async () => Number((await sink.request('count')).received) >= count, {
        timeoutMs: 15 * 60_000,
        intervalMs: 200,
        what: `${count} emails to reach the sink`,
      }),
    );
    await waitUntil(
      async () => (await lateness(engine.deps, { workspaceId: ws.id, stepIndex })).count >= count,
      {
        timeoutMs: 60_000,
        intervalMs: 200,
        what: `${count} step runs to be recorded sent`,
      },
    );
    const engineSessionUse = await sessionUse.stop();
    await observer.end();
    const peaks = await connections.stop();
    const perEmail = await usage.stop(count);
    const late = await lateness(engine.deps, { workspaceId: ws.id, stepIndex });
    const got = await sink.request('reset');
    if (got.received !== count || got.duplicates !== 0)
      throw new Error(
        `the sink got ${got.received} messages (${got.duplicates} duplicated) for ${count} steps`,
      );
    const seconds = ((late.lastAt?.getTime() ?? Date.now()) - dueAt.getTime()) / 1000;
    const rate = count / seconds;
    const peak = Math.max(peaks.poolPeak, peaks.backendsPeak);
    ctx.log(
      `engine: ${round(rate)}/s over ${got.peakSessions} sessions; ${peak} Postgres connections at most ` +
        `(statements waited for one ${Math.round(peaks.waitingShare * 100)}% of the time)`,
    );
    // What the machine allows: at 0.8 of the ceiling's rate, every process together may spend this
    // much CPU per email; the engine's own Node and Postgres time is what it spends.
    const cpu = {
      targetAllowsMs: round(cpuBudgetMs(raw.perSecond, 0.8)),
      engineMs: round(perEmail.nodeCpuMs + perEmail.pgCpuMs),
      ceilingNodeMs: raw.cost.nodeCpuMs,
    };
    ctx.log(
      `CPU per email: 0.8 of the ceiling allows ${cpu.targetAllowsMs} ms on all cores; raw nodemailer ` +
        `takes ${cpu.ceilingNodeMs} ms, the engine ${cpu.engineMs} ms (Node ${perEmail.nodeCpuMs}, ` +
        `Postgres ${perEmail.pgCpuMs})`,
    );
    const rows: Row[] = [
      throughputRow(
        `slow SMTP (${COMMAND_MS}/${DATA_MS} ms), ${count.toLocaleString('en-US')} over ${MAILBOXES} mailboxes × ${sessionsPerMailbox} sessions`,
        perSecond(rate),
        { ...perSecond(raw.perSecond), what: `raw nodemailer, ${sessions} sessions` },
        0.8,
      ),
      {
        scenario: `peak Postgres connections, ${sessions} SMTP sessions (STEP_CONCURRENCY ${stepConcurrency})`,
        engine: { value: peak, unit: 'conn' },
        ceiling: { value: sessions, unit: 'conn', what: 'one per send in flight' },
        ratio: peak / sessions,
        target: `≤ ${MAX_CONNECTIONS}`,
        met: peak <= MAX_CONNECTIONS,
      },
    ];
    return {
      rows,
      details: {
        sessionsPerMailbox,
        sessions,
        stepConcurrency,
        poolSize: engine.deps.pool.options.max,
        sendSeconds: round(seconds),
        messagesPerSecond: round(rate),
        ratio: round(rate / raw.perSecond),
        connections: peaks,
        smtpSessionsOpened: { engine: got.peakSessions, ceiling: afterCeiling.peakSessions },
        smtpSessionsInUse: { engine: engineSessionUse, ceiling: ceilingSessionUse },
        perEmail,
        cpuPerEmail: cpu,
        latenessMs: { p50: round(late.p50Ms), p99: round(late.p99Ms) },
        sink: { received: got.received, duplicates: got.duplicates },
        ceiling: roundThroughput(raw),
      },
    };
  } finally {
    await engine.close();
    await stage.drop();
  }
}
