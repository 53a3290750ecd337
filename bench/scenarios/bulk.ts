import pg from 'pg';
import { z } from 'zod';
import type { Throughput } from '../ceilings/bullmq';
import { startBenchEngine } from '../engine';
import type { Child } from '../child';
import { startServer } from '../http';
import { type PerOperation, startUsage } from '../usage';
import { throughputRow } from '../report';
import {
  perSecond,
  round,
  roundThroughput,
  type Scenario,
  type ScenarioContext,
  type ScenarioResult,
} from '../scenario';
import { activeSequence, benchWorkspace } from '../seed';

const steps = [
  { type: 'email', subject: 'Quick question for {{ company }}', body: 'Hi {{ firstName }}' },
  { type: 'wait', days: 3 },
  { type: 'email', subject: 'Following up', body: 'Hi again {{ firstName }}', thread: 'reply' },
];

type LeadRow = { email: string; firstName: string; lastName: string; company: string; title: string };
const leadRows = (batch: number, size: number): LeadRow[] =>
  Array.from({ length: size }, (_, k) => {
    const i = batch * size + k;
    return {
      email: `Lead${i}@Company${i % 1000}.test`,
      firstName: `First${i}`,
      lastName: `Last${i}`,
      company: `Company ${i % 1000}`,
      title: i % 3 === 0 ? 'Head of Sales' : 'VP Growth',
    };
  });

/**
 * Bulk leads and enrollment, batches of 10,000 through the real HTTP API (the engine in its own
 * process), against raw multi-row INSERTs of the same rows from a plain pg client.
 */
export const bulkScenario: Scenario = {
  name: 'bulk',
  async run(ctx) {
    // The API's maximum batch is 10,000; the quick run sends one smaller batch.
    const [batches, size] = ctx.env.options.quick ? [1, 2000] : [5, 10_000];
    const stage = await ctx.env.stage('bulk');
    const engine = await startBenchEngine(stage);
    const server = await startServer(ctx.env.options, 'engine', 'bulk-engine', stage.env);
    const client = new pg.Client({ connectionString: stage.databaseUrl });
    await client.connect();
    try {
      const apiWs = await benchWorkspace(engine.deps, 'bulk api');
      const rawWs = await benchWorkspace(engine.deps, 'bulk raw');
      const api = {
        post: httpPoster(`http://127.0.0.1:${server.port}`, apiWs.apiKey),
        workspaceId: apiWs.id,
        sequenceId: await activeSequence(engine.app, apiWs.apiKey, { name: 'bulk', steps }),
      };
      const raw = {
        workspaceId: rawWs.id,
        sequenceId: await activeSequence(engine.app, rawWs.apiKey, { name: 'bulk', steps }),
      };
      const tally = newTally();
      for (let b = 0; b < batches; b++) {
        const rows = leadRows(b, size);
        await apiBatch({ server, client, databaseUrl: stage.databaseUrl, ...api }, rows, tally);
        await rawBatch(client, stage.databaseUrl, raw, rows, tally);
      }
      return bulkResult(ctx, { batches, size }, tally);
    } finally {
      await client.end();
      await server.stop();
      await engine.close();
      await stage.drop();
    }
  },
};

type Kind = 'leads' | 'enroll' | 'rawLeads' | 'rawEnroll';
/** Seconds and per-row costs of each kind of write, summed over the batches. */
type Tally = { seconds: Record<Kind, number>; costs: Record<Kind, PerOperation[]> };
const newTally = (): Tally => ({
  seconds: { leads: 0, enroll: 0, rawLeads: 0, rawEnroll: 0 },
  costs: { leads: [], enroll: [], rawLeads: [], rawEnroll: [] },
});

/** POSTs a pre-serialised body (the client's JSON is not the engine's cost) and times the answer. */
function httpPoster(base: string, apiKey: string) {
  return async (path: string, body: string) => {
    const t0 = performance.now();
    const res = await fetch(`${base}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
      body,
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`POST ${path} answered ${res.status}: ${text.slice(0, 300)}`);
    return {
      seconds: (performance.now() - t0) / 1000,
      json: z.record(z.string(), z.unknown()).parse(JSON.parse(text)),
    };
  };
}

/** One batch through the API: the leads, then their enrollment. The work happens in the server process. */
async function apiBatch(
  api: {
    server: Child;
    client: pg.Client;
    databaseUrl: string;
    workspaceId: string;
    sequenceId: string;
    post: ReturnType<typeof httpPoster>;
  },
  rows: LeadRow[],
  tally: Tally,
): Promise<void> {
  const leadsBody = JSON.stringify({ leads: rows });
  const leadsUsage = await startUsage(api.server, api.databaseUrl);
  const leads = await api.post('/v1/leads/bulk', leadsBody);
  tally.costs.leads.push(await leadsUsage.stop(rows.length));
  if (leads.json.created !== rows.length)
    throw new Error(`bulk created ${leads.json.created} of ${rows.length}`);
  tally.seconds.leads += leads.seconds;
  const enrollBody = JSON.stringify({ leadIds: await leadIds(api.client, api.workspaceId, rows) });
  const enrollUsage = await startUsage(api.server, api.databaseUrl);
  const enrolled = await api.post(`/v1/sequences/${api.sequenceId}/enrollments`, enrollBody);
  tally.costs.enroll.push(await enrollUsage.stop(rows.length));
  const count = Array.isArray(enrolled.json.enrolled) ? enrolled.json.enrolled.length : 0;
  if (count !== rows.length) throw new Error(`enrolled ${count} of ${rows.length}`);
  tally.seconds.enroll += enrolled.seconds;
}

/** The same batch written raw by this process: the ceiling. */
async function rawBatch(
  client: pg.Client,
  databaseUrl: string,
  raw: { workspaceId: string; sequenceId: string },
  rows: LeadRow[],
  tally: Tally,
): Promise<void> {
  const leadsUsage = await startUsage(null, databaseUrl);
  const leads = await rawLeads(client, raw.workspaceId, rows);
  tally.costs.rawLeads.push(await leadsUsage.stop(rows.length));
  const enrollUsage = await startUsage(null, databaseUrl);
  const enrolled = await rawEnrollments(client, raw, leads.ids);
  tally.costs.rawEnroll.push(await enrollUsage.stop(rows.length));
  tally.seconds.rawLeads += leads.seconds;
  tally.seconds.rawEnroll += enrolled.seconds;
}

function bulkResult(
  ctx: ScenarioContext,
  shape: { batches: number; size: number },
  tally: Tally,
): ScenarioResult {
  const total = shape.batches * shape.size;
  const label = `${shape.batches} × ${shape.size.toLocaleString('en-US')} (HTTP)`;
  const rate = (seconds: number): Throughput => ({ count: total, seconds, perSecond: total / seconds });
  const raw = { leads: rate(tally.seconds.rawLeads), enroll: rate(tally.seconds.rawEnroll) };
  ctx.ceilings.set('leads-raw', raw.leads);
  ctx.ceilings.set('enroll-raw', raw.enroll);
  return {
    rows: [
      throughputRow(
        `bulk leads, ${label}`,
        perSecond(total / tally.seconds.leads),
        { ...perSecond(raw.leads.perSecond), what: 'raw INSERT' },
        0.5,
      ),
      throughputRow(
        `enrollment, ${label}`,
        perSecond(total / tally.seconds.enroll),
        { ...perSecond(raw.enroll.perSecond), what: 'raw INSERT' },
        null,
      ),
    ],
    details: {
      batches: shape.batches,
      batchSize: shape.size,
      leadsPerSecond: round(total / tally.seconds.leads),
      enrollmentsPerSecond: round(total / tally.seconds.enroll),
      // Statements, server CPU and Postgres CPU per lead and per enrollment, batch by batch.
      perRow: tally.costs,
      raw: { leads: roundThroughput(raw.leads), enrollments: roundThroughput(raw.enroll) },
    },
  };
}

async function leadIds(client: pg.Client, workspaceId: string, rows: LeadRow[]): Promise<string[]> {
  const { rows: found } = await client.query<{ id: string }>(
    'select id from leads where workspace_id = $1 and email_key = any($2::text[])',
    [workspaceId, rows.map((r) => r.email.toLowerCase())],
  );
  return found.map((r) => r.id);
}

/** A multi-row `INSERT … VALUES` (5,000 rows a statement, under pg's 65,535 parameters) in one transaction. */
async function insertValues(
  client: pg.Client,
  head: string,
  rows: unknown[][],
  returning = '',
): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < rows.length; i += 5000) {
    const chunk = rows.slice(i, i + 5000);
    const width = chunk[0]?.length ?? 0;
    const values = chunk.map(
      (_, r) => `(${Array.from({ length: width }, (_, c) => `$${r * width + c + 1}`).join(',')})`,
    );
    const result = await client.query<{ id: string }>(
      `${head} values ${values.join(',')} ${returning}`,
      chunk.flat(),
    );
    ids.push(...result.rows.map((r) => r.id));
  }
  return ids;
}

/** Ceiling for bulk leads: the same lead rows written raw, in one transaction. */
async function rawLeads(
  client: pg.Client,
  workspaceId: string,
  rows: LeadRow[],
): Promise<{ seconds: number; ids: string[] }> {
  const t0 = performance.now();
  await client.query('begin');
  const ids = await insertValues(
    client,
    'insert into leads (workspace_id, email, email_key, company_domain, first_name, last_name, company, title, custom_fields)',
    rows.map((r) => {
      const key = r.email.toLowerCase();
      return [
        workspaceId,
        r.email,
        key,
        key.split('@')[1],
        r.firstName,
        r.lastName,
        r.company,
        r.title,
        '{}',
      ];
    }),
    'returning id',
  );
  await client.query('commit');
  return { seconds: (performance.now() - t0) / 1000, ids };
}

/** Ceiling for enrollment: the same enrollment and first-run rows (step `s1`), written raw. */
async function rawEnrollments(
  client: pg.Client,
  input: { workspaceId: string; sequenceId: string },
  leadIds: string[],
): Promise<{ seconds: number }> {
  const t0 = performance.now();
  await client.query('begin');
  const now = new Date();
  const enrollmentIds = await insertValues(
    client,
    'insert into enrollments (workspace_id, sequence_id, version, lead_id, current_step_id, next_run_at)',
    leadIds.map((id) => [input.workspaceId, input.sequenceId, 1, id, 's1', now]),
    'returning id',
  );
  await insertValues(
    client,
    'insert into step_runs (workspace_id, enrollment_id, step_id, step_index, step_type, run_at, due_at)',
    enrollmentIds.map((id) => [input.workspaceId, id, 's1', 0, 'email', now, now]),
  );
  await client.query('commit');
  return { seconds: (performance.now() - t0) / 1000 };
}
