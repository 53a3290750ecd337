import type autocannon from 'autocannon';
import { z } from 'zod';
import { startBenchEngine } from '../engine';
import { cannon, emptyRouteCeiling, startServer } from '../http';
import { startUsage } from '../usage';
import { sampleWaits } from '../waits';
import { throughputRow } from '../report';
import { perSecond, round, type Scenario } from '../scenario';
import { activeSequence, type BenchWorkspace, benchWorkspace } from '../seed';
import { signedEmailRequest } from '../signed';

const CLIENTS = 100;
const WORKSPACES = 10;
const steps = [
  { type: 'email', subject: 'Quick question for {{ company }}', body: 'Hi {{ firstName }}' },
  { type: 'wait', days: 3 },
  { type: 'email', subject: 'Following up', body: 'Hi again {{ firstName }}', thread: 'reply' },
];

type Tenant = BenchWorkspace & { sequenceId: string; sign: ReturnType<typeof signedEmailRequest> };
/** What one client carries through its cycle (autocannon clears it when the cycle starts over). */
type Cycle = { tenant?: Tenant; email?: string; leadId?: string };

/**
 * Issue 8's load test: 100 concurrent API clients for 60 s, spread over 10 workspaces, each cycling
 * through create a lead → enroll it → its signed reply webhook → read the lead back. Reports
 * errors (there must be none) and p99, against bare Fastify at the same 100 connections.
 */
export const loadScenario: Scenario = {
  name: 'load',
  async run(ctx) {
    const seconds = ctx.env.options.quick ? 5 : 60;
    const ceiling = await emptyRouteCeiling(ctx.env.options, CLIENTS, ctx.env.options.quick ? 2 : 10);
    ctx.log(
      `empty route at ${CLIENTS} connections: ${Math.round(ceiling.perSecond)}/s, p99 ${ceiling.p99Ms} ms`,
    );
    const stage = await ctx.env.stage('load');
    const engine = await startBenchEngine(stage);
    const server = await startServer(ctx.env.options, 'engine', 'load-engine', stage.env);
    try {
      const tenants: Tenant[] = [];
      for (let i = 0; i < WORKSPACES; i++) {
        const ws = await benchWorkspace(engine.deps, `load ${i}`);
        const sequenceId = await activeSequence(engine.app, ws.apiKey, { name: 'load', steps });
        tenants.push({ ...ws, sequenceId, sign: signedEmailRequest(ws.webhookSecret) });
      }
      const requests = cycleRequests(tenants);
      ctx.log(`${CLIENTS} clients for ${seconds} s`);
      const usage = await startUsage(server, stage.databaseUrl);
      const waits = await sampleWaits(stage.databaseUrl);
      const result = await cannon({
        url: `http://127.0.0.1:${server.port}`,
        connections: CLIENTS,
        duration: seconds,
        requests,
      });
      const perRequest = await usage.stop(result.requests);
      const postgresWaits = await waits.stop();
      const failures = result.errors + result.non2xx;
      return {
        rows: [
          {
            ...throughputRow(
              `load: ${CLIENTS} clients × ${seconds} s, ${failures} errors (p99 ${Math.round(result.p99Ms)} ms)`,
              perSecond(result.perSecond),
              { ...perSecond(ceiling.perSecond), what: `empty route, p99 ${Math.round(ceiling.p99Ms)} ms` },
              null,
            ),
            target: '0 errors',
            met: failures === 0,
          },
        ],
        details: {
          clients: CLIENTS,
          workspaces: WORKSPACES,
          seconds,
          requests: result.requests,
          requestsPerSecond: round(result.perSecond),
          latencyMs: { p50: result.p50Ms, p99: result.p99Ms },
          perRequest,
          postgresWaits,
          errors: result.errors,
          non2xx: result.non2xx,
          statusCodes: result.statusCodes,
          ceiling: { perSecond: round(ceiling.perSecond), p50Ms: ceiling.p50Ms, p99Ms: ceiling.p99Ms },
        },
      };
    } finally {
      await server.stop();
      await engine.close();
      await stage.drop();
    }
  },
};

const NO_LEAD = '00000000-0000-0000-0000-000000000000';

/**
 * One client's cycle. A request whose input is missing (its earlier request failed) still goes out,
 * with an id that does not exist, so the failure is counted rather than hidden.
 */
function cycleRequests(tenants: Tenant[]): autocannon.Request[] {
  let cycles = 0;
  // autocannon hands each client a fresh context object per cycle; our state hangs off it.
  const state = new WeakMap<object, Cycle>();
  const cycleOf = (context: object) => state.get(context) ?? {};
  const json = (tenant: Tenant) => ({
    authorization: `Bearer ${tenant.apiKey}`,
    'content-type': 'application/json',
  });
  const first = tenants[0];
  if (!first) throw new Error('no tenants');
  return [
    {
      method: 'POST',
      path: '/v1/leads',
      setupRequest: (req, context) => {
        const n = ++cycles;
        const tenant = tenants[n % tenants.length] ?? first;
        const email = `load${n}@company${n % 500}.test`;
        state.set(context, { tenant, email });
        const body = { email, firstName: `Load${n}`, company: `Company ${n % 500}` };
        return { ...req, headers: json(tenant), body: JSON.stringify(body) };
      },
      onResponse: (status, body, context) => {
        const cycle = cycleOf(context);
        if (status < 300) cycle.leadId = z.object({ id: z.string() }).parse(JSON.parse(body)).id;
      },
    },
    {
      method: 'POST',
      setupRequest: (req, context) => {
        const { tenant = first, leadId = NO_LEAD } = cycleOf(context);
        return {
          ...req,
          path: `/v1/sequences/${tenant.sequenceId}/enrollments`,
          headers: json(tenant),
          body: JSON.stringify({ leadIds: [leadId] }),
        };
      },
    },
    {
      method: 'POST',
      setupRequest: (req, context) => {
        const { tenant = first, email = 'nobody@nowhere.test' } = cycleOf(context);
        const signed = tenant.sign({ from: email, to: 'alex@sender.test', text: 'Sounds good, call me.' });
        return { ...req, path: `/v1/webhooks/${tenant.id}/email`, ...signed };
      },
    },
    {
      method: 'GET',
      setupRequest: (req, context) => {
        const { tenant = first, leadId = NO_LEAD } = cycleOf(context);
        return { ...req, path: `/v1/leads/${leadId}`, headers: { authorization: `Bearer ${tenant.apiKey}` } };
      },
    },
  ];
}
