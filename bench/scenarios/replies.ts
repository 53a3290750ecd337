import { sql } from 'drizzle-orm';
import type { Db } from '../../src/db/client';
import { messages } from '../../src/db/schema/index';
import { cpuBudgetMs } from '../budget';
import { enrollFresh } from '../burst-setup';
import { startBenchEngine } from '../engine';
import {
  cannon,
  durableRouteCeiling,
  emptyRouteCeiling,
  type HttpFigures,
  type RequestCpu,
  startServer,
} from '../http';
import { startUsage } from '../usage';
import { sampleWaits } from '../waits';
import { throughputRow } from '../report';
import { perSecond, round, type Scenario } from '../scenario';
import { activeSequence, benchWorkspace } from '../seed';
import { signedEmailRequest } from '../signed';

const CONNECTIONS = 20;
/** A two-email cadence whose first email the replies answer (also the reply-burst scenario's). */
export const replySteps = [
  { type: 'email', subject: 'Quick question for {{ company }}', body: 'Hi {{ firstName }}' },
  { type: 'wait', days: 3 },
  { type: 'email', subject: 'Following up', body: 'Hi again {{ firstName }}', thread: 'reply' },
];

/**
 * Reply webhooks: each a signed `POST /v1/webhooks/:ws/email` answering the first email of a distinct
 * enrolled lead (signature, dedupe, thread match, classification, stop, stage change, events), sent
 * to the engine in its own process; against bare Fastify answering an empty route.
 */
export const repliesScenario: Scenario = {
  name: 'replies',
  async run(ctx) {
    const count = ctx.env.options.quick ? 200 : 5000;
    const warmup = Math.max(20, Math.round(count * 0.05));
    const ceiling = await emptyRouteCeiling(ctx.env.options, CONNECTIONS, ctx.env.options.quick ? 2 : 10);
    ctx.log(`empty route: ${Math.round(ceiling.perSecond)}/s, p99 ${ceiling.p99Ms} ms`);
    const stage = await ctx.env.stage('replies');
    const durable = await durableRouteCeiling(
      ctx.env.options,
      stage.databaseUrl,
      CONNECTIONS,
      ctx.env.options.quick ? 2 : 10,
    );
    ctx.log(`durable route: ${Math.round(durable.perSecond)}/s, p99 ${durable.p99Ms} ms`);
    const engine = await startBenchEngine(stage);
    const server = await startServer(ctx.env.options, 'engine', 'replies-engine', stage.env);
    try {
      const ws = await benchWorkspace(engine.deps, 'replies');
      const sequenceId = await activeSequence(engine.app, ws.apiKey, {
        name: 'replies',
        steps: replySteps,
        settings: { onReply: { stage: 'proposal' } },
      });
      await enrollFresh(engine, { workspaceId: ws.id, sequenceId, count: count + warmup });
      const leads = await sentFirstEmails(engine.deps.db, ws.id);
      const sign = signedEmailRequest(ws.webhookSecret);
      let next = 0;
      const replyTo = () => {
        const lead = leads[next++ % leads.length];
        return sign({
          from: lead?.email,
          to: 'alex@sender.test',
          text: 'Interested, call me Tuesday.',
          inReplyTo: lead?.messageId,
        });
      };
      const url = `http://127.0.0.1:${server.port}/v1/webhooks/${ws.id}/email`;
      const request = { method: 'POST' as const, setupRequest: (r: object) => ({ ...r, ...replyTo() }) };
      await cannon({ url, connections: CONNECTIONS, amount: warmup, requests: [request] });
      const usage = await startUsage(server, stage.databaseUrl);
      const waits = await sampleWaits(stage.databaseUrl);
      const result = await cannon({ url, connections: CONNECTIONS, amount: count, requests: [request] });
      const perWebhook = await usage.stop(count);
      const cpu = cpuPerReply(ceiling, durable, perWebhook);
      ctx.log(
        `CPU per reply: the target allows ${cpu.targetAllowsMs} ms on all cores; the load generator ` +
          `takes ${cpu.clientMs} ms, leaving ${cpu.leftForServerMs} ms; one committed INSERT per ` +
          `request costs ${cpu.durableRouteMs} ms, a reply ${cpu.replyMs} ms`,
      );
      const postgresWaits = await waits.stop();
      const { rows } = await engine.deps.db.execute<{ n: number }>(
        sql`select count(*)::int as n from enrollments where workspace_id = ${ws.id} and status = 'replied'`,
      );
      const replied = rows[0]?.n ?? 0;
      if (result.errors > 0 || result.non2xx > 0 || replied !== count + warmup)
        throw new Error(
          `replies: ${result.errors} errors, ${result.non2xx} non-2xx ${JSON.stringify(result.statusCodes)}, ` +
            `${replied} of ${count + warmup} enrollments replied`,
        );
      return {
        rows: [
          throughputRow(
            `reply webhooks, ${count.toLocaleString('en-US')} signed (p99 ${Math.round(result.p99Ms)} ms)`,
            perSecond(result.perSecond),
            { ...perSecond(ceiling.perSecond), what: `empty route, p99 ${Math.round(ceiling.p99Ms)} ms` },
            0.25,
          ),
          {
            scenario: 'reply webhooks vs one committed INSERT per request',
            engine: perSecond(result.perSecond),
            ceiling: {
              ...perSecond(durable.perSecond),
              what: `durable route, p99 ${Math.round(durable.p99Ms)} ms`,
            },
            ratio: result.perSecond / durable.perSecond,
            target: '—',
            met: null,
          },
        ],
        details: {
          count,
          connections: CONNECTIONS,
          webhooksPerSecond: round(result.perSecond),
          latencyMs: { p50: result.p50Ms, p99: result.p99Ms },
          // Statements, server CPU and Postgres CPU per webhook: what the rate is made of.
          perWebhook,
          cpuPerReply: cpu,
          postgresWaits,
          replied,
          ceiling: { perSecond: round(ceiling.perSecond), p50Ms: ceiling.p50Ms, p99Ms: ceiling.p99Ms },
          durableRoute: { perSecond: round(durable.perSecond), p50Ms: durable.p50Ms, p99Ms: durable.p99Ms },
        },
      };
    } finally {
      await server.stop();
      await engine.close();
      await stage.drop();
    }
  },
};

/**
 * Where a reply's CPU goes, against what the 0.25 target allows on this machine's cores. The
 * load generator's share comes from the empty-route run, where it was the only work in this process.
 */
function cpuPerReply(
  ceiling: HttpFigures & { cpu: RequestCpu },
  durable: HttpFigures & { cpu: RequestCpu },
  reply: { nodeCpuMs: number; pgCpuMs: number },
) {
  const targetAllowsMs = cpuBudgetMs(ceiling.perSecond, 0.25);
  const clientMs = ceiling.cpu.clientMs;
  return {
    targetAllowsMs: round(targetAllowsMs, 3),
    clientMs: round(clientMs, 3),
    leftForServerMs: round(targetAllowsMs - clientMs, 3),
    emptyRouteMs: round(ceiling.cpu.serverMs, 3),
    durableRouteMs: round(durable.cpu.serverMs + durable.cpu.postgresMs, 3),
    replyMs: round(reply.nodeCpuMs + reply.pgCpuMs, 3),
    durableRoute: { serverMs: durable.cpu.serverMs, postgresMs: durable.cpu.postgresMs },
    reply: { serverMs: reply.nodeCpuMs, postgresMs: reply.pgCpuMs },
  };
}

/** Gives every enrolled lead the first email as if sent, so each reply matches by its thread. */
export async function sentFirstEmails(db: Db, workspaceId: string) {
  const { rows } = await db.execute<{ id: string; email: string }>(
    sql`select id, email from leads where workspace_id = ${workspaceId} order by email`,
  );
  const leads = rows.map((r, i) => ({ ...r, messageId: `<bench-${i}-${workspaceId}@sender.test>` }));
  for (let i = 0; i < leads.length; i += 5000) {
    await db.insert(messages).values(
      leads.slice(i, i + 5000).map((l) => ({
        workspaceId,
        leadId: l.id,
        direction: 'outbound' as const,
        channel: 'email' as const,
        messageId: l.messageId,
        fromAddress: 'alex@sender.test',
        toAddress: l.email,
        subject: 'Quick question',
        status: 'sent',
      })),
    );
  }
  return leads;
}
