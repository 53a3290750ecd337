import { sql } from 'drizzle-orm';
import { enrollFresh } from '../burst-setup';
import { type BenchEngine, startBenchEngine } from '../engine';
import { cannon, durableRouteCeiling, startServer } from '../http';
import { latencySummary } from '../paced-posts';
import { type Row, throughputRow } from '../report';
import { perSecond, round, type Scenario } from '../scenario';
import { activeSequence, benchWorkspace } from '../seed';
import { signedEmailRequest } from '../signed';
import { startUsage } from '../usage';
import { waitUntil } from '../wait';
import { type Child, startChild } from '../child';
import { replySteps as steps, sentFirstEmails } from './replies';

const CONNECTIONS = 20;

/**
 * Reply burst (an auto-reply wave, a mailbox's first sync): N signed replies from N enrolled leads
 * as fast as the machine takes them, into the engine's app in its own process, posted with
 * `Prefer: respond-async` (stored, then applied by the engine's appliers in a process of their own, as a worker runs them); acknowledgements
 * against bare Fastify committing one row per request (the least a durable acknowledgement costs),
 * then how long until every reply's effects (enrollment stopped, stage moved, events) are in
 * Postgres, and each reply's time from being sent to its effects.
 */
export const replyBurstScenario: Scenario = {
  name: 'reply-burst',
  async run(ctx) {
    const count = ctx.env.options.quick ? 1000 : 10_000;
    const warmup = Math.max(20, Math.round(count * 0.05));
    const stage = await ctx.env.stage('reply-burst');
    const durable = await durableRouteCeiling(
      ctx.env.options,
      stage.databaseUrl,
      CONNECTIONS,
      ctx.env.options.quick ? 2 : 10,
    );
    ctx.log(`durable route: ${Math.round(durable.perSecond)}/s, p99 ${durable.p99Ms} ms`);
    const engine = await startBenchEngine(stage);
    let appliers: Child | null = null;
    const server = await startServer(ctx.env.options, 'engine', 'reply-burst-engine', stage.env);
    try {
      const ws = await benchWorkspace(engine.deps, 'reply-burst');
      const sequenceId = await activeSequence(engine.app, ws.apiKey, {
        name: 'reply burst',
        steps,
        settings: { onReply: { stage: 'proposal' } },
      });
      ctx.log(`enrolling ${count + warmup} leads`);
      await enrollFresh(engine, { workspaceId: ws.id, sequenceId, count: count + warmup });
      const leads = await sentFirstEmails(engine.deps.db, ws.id);
      // Posted as a provider with a deadline would: acknowledged once stored, applied by the
      // engine's appliers (in their own process, as a worker runs them) in the background.
      const sign = signedEmailRequest(ws.webhookSecret, { prefer: 'respond-async' });
      appliers = await startChild('inbound-appliers', {
        env: stage.env,
        label: 'reply-burst-appliers',
        ...(ctx.env.options.cpuProf ? { cpuProfDir: ctx.env.options.profileDir } : {}),
      });
      /** When each lead's reply was handed to the load generator's socket, by lead email. */
      const sentAt = new Map<string, number>();
      let next = 0;
      const replyTo = () => {
        const lead = leads[next++ % leads.length];
        if (lead) sentAt.set(lead.email, Date.now());
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
      await waitUntil(async () => (await effects(engine, ws.id)).complete >= warmup, {
        timeoutMs: 5 * 60_000,
        intervalMs: 200,
        what: 'the warm-up replies to be applied',
      });
      ctx.log(`${count} signed replies over ${CONNECTIONS} connections`);
      // The API's own CPU and statements per acknowledgement: counted, so other load on the machine
      // moves them far less than the rates (Postgres's share is not separable from the appliers').
      const usage = await startUsage(server, null);
      const started = Date.now();
      const result = await ctx.phase('burst', () =>
        cannon({ url, connections: CONNECTIONS, amount: count, requests: [request] }),
      );
      const ackedAt = Date.now();
      const apiPerAck = await usage.stop(result.requests);
      if (result.errors > 0 || result.non2xx > 0)
        throw new Error(
          `replies: ${result.errors} errors, ${result.non2xx} non-2xx ${JSON.stringify(result.statusCodes)}`,
        );
      await waitUntil(async () => (await effects(engine, ws.id)).complete >= count + warmup, {
        timeoutMs: 15 * 60_000,
        intervalMs: 100,
        what: `every reply's effects to be applied`,
      });
      const appliedAt = Date.now();
      const applied = await effects(engine, ws.id);
      const lags = await effectLags(engine, ws.id, sentAt, new Set(leads.slice(warmup).map((l) => l.email)));
      const lag = latencySummary(lags.ms);
      const lastEffectSeconds = (lags.lastAt - started) / 1000;
      ctx.log(
        `acknowledged ${Math.round(result.perSecond)}/s (p99 ${result.p99Ms} ms); every effect applied ` +
          `${round(lastEffectSeconds)} s after the first reply (acknowledgements took ${round((ackedAt - started) / 1000)} s); ` +
          `reply → effect p99 ${lag.p99} ms; the API used ${apiPerAck.nodeCpuMs} ms CPU and ` +
          `${apiPerAck.queries} statements per acknowledgement (durable route: ${durable.cpu.serverMs} ms)`,
      );
      const rows: Row[] = [
        throughputRow(
          `reply burst, ${count.toLocaleString('en-US')} signed: acknowledged (p99 ${Math.round(result.p99Ms)} ms)`,
          perSecond(result.perSecond),
          {
            ...perSecond(durable.perSecond),
            what: `durable one-INSERT route, p99 ${Math.round(durable.p99Ms)} ms`,
          },
          0.5,
        ),
        {
          scenario: 'reply burst: API CPU per acknowledgement',
          engine: { value: apiPerAck.nodeCpuMs, unit: 'ms' },
          ceiling: { value: durable.cpu.serverMs, unit: 'ms', what: 'durable one-INSERT route, per request' },
          ratio: durable.cpu.serverMs > 0 ? apiPerAck.nodeCpuMs / durable.cpu.serverMs : null,
          target: null,
          met: null,
        },
        {
          scenario: `reply burst: every effect applied (stop, stage, events), from the first reply`,
          engine: { value: lastEffectSeconds, unit: 's' },
          ceiling: { value: (ackedAt - started) / 1000, unit: 's', what: 'last acknowledgement' },
          ratio: ackedAt > started ? (lags.lastAt - started) / (ackedAt - started) : null,
          target: null,
          met: null,
        },
        {
          scenario: 'reply burst: reply → effects applied (p99)',
          engine: { value: lag.p99, unit: 'ms' },
          ceiling: { value: result.p99Ms, unit: 'ms', what: 'acknowledgement p99' },
          ratio: result.p99Ms > 0 ? lag.p99 / result.p99Ms : null,
          target: null,
          met: null,
        },
      ];
      return {
        rows,
        details: {
          count,
          warmup,
          connections: CONNECTIONS,
          acknowledged: {
            perSecond: round(result.perSecond),
            seconds: round((ackedAt - started) / 1000),
            p50Ms: result.p50Ms,
            p99Ms: result.p99Ms,
            apiCpuMsPerAck: apiPerAck.nodeCpuMs,
            statementsPerAck: apiPerAck.queries,
          },
          effects: {
            ...applied,
            lastAppliedSecondsAfterFirstReply: round(lastEffectSeconds),
            seenAppliedSecondsAfterFirstReply: round((appliedAt - started) / 1000),
            replyToEffectMs: lag,
            matchedLeads: lags.ms.length,
          },
          durableRoute: {
            perSecond: round(durable.perSecond),
            p50Ms: durable.p50Ms,
            p99Ms: durable.p99Ms,
            serverCpuMsPerRequest: durable.cpu.serverMs,
          },
        },
      };
    } finally {
      await appliers?.stop();
      await server.stop();
      await engine.close();
      await stage.drop();
    }
  },
};

/** Leads whose reply has had every effect: enrollment `replied`, stage moved, its three events. */
async function effects(engine: BenchEngine, workspaceId: string) {
  const { rows } = await engine.deps.db.execute<{
    replied: number;
    staged: number;
    replied_events: number;
    stopped_events: number;
    stage_events: number;
    scheduled_left: number;
  }>(sql`
    select
      (select count(*)::int from enrollments where workspace_id = ${workspaceId} and status = 'replied') as replied,
      (select count(*)::int from leads where workspace_id = ${workspaceId} and stage = 'proposal') as staged,
      (select count(*)::int from events where workspace_id = ${workspaceId} and type = 'lead.replied') as replied_events,
      (select count(*)::int from events where workspace_id = ${workspaceId} and type = 'enrollment.stopped') as stopped_events,
      (select count(*)::int from events where workspace_id = ${workspaceId} and type = 'lead.stage_changed') as stage_events,
      (select count(*)::int from step_runs s join enrollments e on e.id = s.enrollment_id
        where s.workspace_id = ${workspaceId} and e.status = 'replied' and s.status = 'scheduled') as scheduled_left`);
  const r = rows[0];
  const counts = {
    enrollmentsReplied: r?.replied ?? 0,
    leadsMovedToProposal: r?.staged ?? 0,
    leadRepliedEvents: r?.replied_events ?? 0,
    enrollmentStoppedEvents: r?.stopped_events ?? 0,
    stageChangedEvents: r?.stage_events ?? 0,
    runsLeftScheduledAfterStop: r?.scheduled_left ?? 0,
  };
  const complete =
    counts.runsLeftScheduledAfterStop > 0
      ? 0
      : Math.min(
          counts.enrollmentsReplied,
          counts.leadsMovedToProposal,
          counts.leadRepliedEvents,
          counts.enrollmentStoppedEvents,
          counts.stageChangedEvents,
        );
  return { ...counts, complete };
}

/**
 * Per measured lead, the time from its reply being sent to its effects: the later of the enrollment's
 * end and the lead's stage move, both stamped by the engine when it applied them.
 */
async function effectLags(
  engine: BenchEngine,
  workspaceId: string,
  sentAt: Map<string, number>,
  measured: Set<string>,
) {
  const { rows } = await engine.deps.db.execute<{ email: string; at: string }>(sql`
    select l.email, greatest(max(e.ended_at), l.stage_entered_at) as at
    from leads l join enrollments e on e.lead_id = l.id
    where l.workspace_id = ${workspaceId}
    group by l.id`);
  const ms: number[] = [];
  let lastAt = 0;
  for (const row of rows) {
    const sent = sentAt.get(row.email);
    if (sent === undefined || !measured.has(row.email)) continue;
    const at = new Date(row.at).getTime();
    lastAt = Math.max(lastAt, at);
    ms.push(at - sent);
  }
  return { ms, lastAt };
}
