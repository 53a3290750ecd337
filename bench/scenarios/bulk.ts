import pg from 'pg';
import { z } from 'zod';
import type { Throughput } from '../ceilings/bullmq';
import { startBenchEngine } from '../engine';
import { startServer } from '../http';
import { type PerOperation, startUsage } from '../usage';
import { throughputRow } from '../report';
import { perSecond, round, roundThroughput, type Scenario } from '../scenario';
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
      const apiSequence = await activeSequence(engine.app, apiWs.apiKey, { name: 'bulk', steps });
      const rawSequence = await activeSequence(engine.app, rawWs.apiKey, { name: 'bulk', steps });
      const base = `http://127.0.0.1:${server.port}`;
      const post = async (path: string, body: string) => {
        const t0 = performance.now();
        const res = await fetch(`${base}${path}`, {
          method: 'POST',
          headers: { authorization: `Bearer ${apiWs.apiKey}`, 'content-type': 'application/json' },
          body,
        });
        const text = await res.text();
        if (!res.ok) throw new Error(`POST ${path} answered ${res.status}: ${text.slice(0, 300)}`);
        return {
          seconds: (performance.now() - t0) / 1000,
          json: z.record(z.string(), z.unknown()).parse(JSON.parse(text)),
        };
      };
      const times = { leads: 0, enroll: 0, rawLeads: 0, rawEnroll: 0 };
      const costs: Record<'leads' | 'enroll' | 'rawLeads' | 'rawEnroll', PerOperation[]> = {
        leads: [],
        enroll: [],
        rawLeads: [],
        rawEnroll: [],
      };
      for (let b = 0; b < batches; b++) {
        const rows = leadRows(b, size);
        // Serialised before the clock starts: the client's JSON is not the engine's cost.
        const leadsBody = JSON.stringify({ leads: rows });
        // The work happens in the server process: --cpu-prof profiles it there, not here.
        const leadsUsage = await startUsage(server, stage.databaseUrl);
        const leads = await post('/v1/leads/bulk', leadsBody);
        costs.leads.push(await leadsUsage.stop(size));
        if (leads.json.created !== size) throw new Error(`bulk created ${leads.json.created} of ${size}`);
        times.leads += leads.seconds;
        const ids = await leadIds(client, apiWs.id, rows);
        const enrollBody = JSON.stringify({ leadIds: ids });
        const enrollUsage = await startUsage(server, stage.databaseUrl);
        const enrolled = await post(`/v1/sequences/${apiSequence}/enrollments`, enrollBody);
        costs.enroll.push(await enrollUsage.stop(size));
        const count = Array.isArray(enrolled.json.enrolled) ? enrolled.json.enrolled.length : 0;
        if (count !== size) throw new Error(`enrolled ${count} of ${size}`);
        times.enroll += enrolled.seconds;

        const rawLeadsUsage = await startUsage(null, stage.databaseUrl);
        const raw = await rawLeads(client, rawWs.id, rows);
        costs.rawLeads.push(await rawLeadsUsage.stop(size));
        const rawEnrollUsage = await startUsage(null, stage.databaseUrl);
        const rawEnroll = await rawEnrollments(
          client,
          { workspaceId: rawWs.id, sequenceId: rawSequence },
          raw.ids,
        );
        costs.rawEnroll.push(await rawEnrollUsage.stop(size));
        times.rawLeads += raw.seconds;
        times.rawEnroll += rawEnroll.seconds;
      }
      const total = batches * size;
      const rate = (seconds: number): Throughput => ({ count: total, seconds, perSecond: total / seconds });
      const raw = { leads: rate(times.rawLeads), enroll: rate(times.rawEnroll) };
      ctx.ceilings.set('leads-raw', raw.leads);
      ctx.ceilings.set('enroll-raw', raw.enroll);
      return {
        rows: [
          throughputRow(
            `bulk leads, ${batches} × ${size.toLocaleString('en-US')} (HTTP)`,
            perSecond(total / times.leads),
            { ...perSecond(raw.leads.perSecond), what: 'raw INSERT' },
            0.5,
          ),
          throughputRow(
            `enrollment, ${batches} × ${size.toLocaleString('en-US')} (HTTP)`,
            perSecond(total / times.enroll),
            { ...perSecond(raw.enroll.perSecond), what: 'raw INSERT' },
            null,
          ),
        ],
        details: {
          batches,
          batchSize: size,
          leadsPerSecond: round(total / times.leads),
          enrollmentsPerSecond: round(total / times.enroll),
          // Statements, server CPU and Postgres CPU per lead and per enrollment, batch by batch.
          perRow: costs,
          raw: { leads: roundThroughput(raw.leads), enrollments: roundThroughput(raw.enroll) },
        },
      };
    } finally {
      await client.end();
      await server.stop();
      await engine.close();
      await stage.drop();
    }
  },
};

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
