import { sql } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import type { Deps } from '../src/context';
import { createWorkspace } from '../src/api/workspaces/workspaces.service';
import { api } from './engine';

export type BenchWorkspace = { id: string; apiKey: string; webhookSecret: string };

export const benchWorkspace = (deps: Deps, name: string): Promise<BenchWorkspace> =>
  createWorkspace(deps, { name });

/** Creates and activates a sequence through the API, as a user would; returns its id. */
export async function activeSequence(
  app: FastifyInstance,
  key: string,
  body: { name: string; steps: object[]; settings?: object },
): Promise<string> {
  const { id } = await api<{ id: string }>(app, 'POST', '/v1/sequences', { key, payload: body });
  await api(app, 'POST', `/v1/sequences/${id}/activate`, { key });
  return id;
}

/**
 * Inserts leads `from..to` (inclusive) straight into Postgres: set-up, not a measured figure. The
 * emails are unique per index and spread over 1,000 company domains, as a real list would be.
 */
export async function seedLeads(
  deps: Deps,
  workspaceId: string,
  range: { from: number; to: number },
): Promise<{ id: string; email: string }[]> {
  const { rows } = await deps.db.execute<{ id: string; email: string }>(sql`
    insert into leads (workspace_id, email, email_key, company_domain, first_name, last_name, company)
    select ${workspaceId}::uuid, e, e, d, 'First' || g, 'Last' || g, 'Company ' || (g % 1000)
    from generate_series(${range.from}::int, ${range.to}::int) g,
      lateral (select 'company' || (g % 1000) || '.test' as d) dom,
      lateral (select 'lead' || g || '@' || d as e) em
    returning id, email`);
  return rows;
}

/** The lead-level percentiles of how late a set of step runs executed, and when the last one did. */
export async function lateness(
  deps: Deps,
  filter: { workspaceId: string; stepIndex: number },
): Promise<{ count: number; p50Ms: number; p99Ms: number; maxMs: number; lastAt: Date | null }> {
  const { rows } = await deps.db.execute<{
    count: number;
    p50: number | null;
    p99: number | null;
    max: number | null;
    last_at: string | null;
  }>(sql`
    select count(*)::int as count,
      percentile_cont(0.5) within group (order by extract(epoch from executed_at - due_at)) * 1000 as p50,
      percentile_cont(0.99) within group (order by extract(epoch from executed_at - due_at)) * 1000 as p99,
      max(extract(epoch from executed_at - due_at)) * 1000 as max,
      max(executed_at) as last_at
    from step_runs
    where workspace_id = ${filter.workspaceId} and step_index = ${filter.stepIndex} and status = 'sent'`);
  const row = rows[0];
  return {
    count: row?.count ?? 0,
    p50Ms: Number(row?.p50 ?? 0),
    p99Ms: Number(row?.p99 ?? 0),
    maxMs: Number(row?.max ?? 0),
    lastAt: row?.last_at ? new Date(row.last_at) : null,
  };
}
