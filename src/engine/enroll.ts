import { channelStepTypes } from '../core/step-types';
import { and, eq, isNull, sql } from 'drizzle-orm';
import type { Deps } from '../context';
import type { Tx } from '../db/client';
import { leads, sequences } from '../db/schema/index';
import { leadCountry, leadTimezone } from './advance';
import type { LeadRow } from './channel';
import { dispatchRuns, type RunRef } from './dispatch';
import { nextActionStep, type PlannedStep, reachableSteps } from '../core/plan';
import { computeRunAt, spreadSeed } from '../core/schedule';
import { firstMissing, leadVariables, requiredVariables } from '../core/templates';
import { recordEvents } from '../timeline/events';
import { suppressedLeadIds } from './suppressions';
import { type SequenceDefinition, templateFields } from '../core/sequences';
import { isLinkedInStep } from '../core/steps';
import { loadVersion } from './versions';

export type EnrollResult =
  | {
      ok: true;
      enrolled: { leadId: string; enrollmentId: string }[];
      skipped: { leadId: string; reason: string }[];
    }
  | { ok: false; error: 'not_found' | 'archived' };

type EnrollDeps = Pick<Deps, 'db' | 'queues' | 'config' | 'log'>;

/** What a lead must have to enter the sequence, for the steps its own data lets it reach. */
type Requirements = { email: boolean; linkedinUrl: boolean; variables: readonly string[] };

/**
 * The requirements of each kind of lead: reachable steps depend only on whether the lead has an
 * email and a LinkedIn URL, so a batch of thousands computes them (and reads the templates) at most
 * four times.
 */
export function requirementsFor(def: SequenceDefinition) {
  const known = new Map<string, Requirements>();
  return (lead: LeadRow): Requirements => {
    const key = `${Boolean(lead.email)}:${Boolean(lead.linkedinUrl)}`;
    const hit = known.get(key);
    if (hit) return hit;
    const steps = reachableSteps(def, lead);
    const templates = steps.flatMap((s) => templateFields(s).map(([, source]) => source));
    const found = {
      email: steps.some((s) => s.type === 'email'),
      linkedinUrl: steps.some(isLinkedInStep),
      variables: [...new Set(templates.flatMap((t) => requiredVariables(t)))],
    };
    known.set(key, found);
    return found;
  };
}

/** Why a lead cannot enter the sequence, or null when it can. Order matters: the first reason wins. */
export function skipReason(lead: LeadRow, needs: Requirements, suppressed: Set<string>): string | null {
  if (lead.status !== 'active') return lead.status;
  if (suppressed.has(lead.id)) return 'suppressed';
  if (!lead.email && needs.email) return 'missing_email';
  if (!lead.linkedinUrl && needs.linkedinUrl) return 'missing_linkedin_url';
  const missing = firstMissing(needs.variables, leadVariables(lead));
  return missing ? `missing_variable:${missing}` : null;
}

/**
 * Enrolls up to 10,000 leads in set-based statements: skips come back with reasons, the rest get an
 * enrollment pinned to the current version and their first run, all in one transaction.
 */
export async function enrollLeads(
  deps: EnrollDeps,
  workspaceId: string,
  sequenceId: string,
  leadIds: string[],
): Promise<EnrollResult> {
  const [sequence] = await deps.db
    .select()
    .from(sequences)
    .where(and(eq(sequences.id, sequenceId), eq(sequences.workspaceId, workspaceId)));
  if (!sequence) return { ok: false, error: 'not_found' };
  if (sequence.status === 'archived') return { ok: false, error: 'archived' };
  const definition = await loadVersion(deps.db, sequence.id, sequence.currentVersion);
  if (!definition) throw new Error(`sequence ${sequence.id} lacks version ${sequence.currentVersion}`);

  const unique = [...new Set(leadIds)];
  const batch = await deps.db
    .select()
    .from(leads)
    .where(
      and(
        eq(leads.workspaceId, workspaceId),
        sql`${leads.id} = any(${sql.param(unique)}::uuid[])`,
        isNull(leads.erasedAt),
      ),
    );
  const byId = new Map(batch.map((l) => [l.id, l]));
  const live = await deps.db.execute<{ lead_id: string }>(sql`
    select lead_id from enrollments
    where sequence_id = ${sequenceId} and lead_id = any(${sql.param(unique)}::uuid[])
      and status in ('active', 'paused')`);
  const already = new Set(live.rows.map((e) => e.lead_id));
  const suppressed = await suppressedLeadIds(deps.db, workspaceId, batch);

  const needs = requirementsFor(definition);
  const skipped: { leadId: string; reason: string }[] = [];
  const accepted: LeadRow[] = [];
  for (const leadId of unique) {
    const lead = byId.get(leadId);
    const reason = !lead
      ? 'not_found'
      : already.has(leadId)
        ? 'already_enrolled'
        : skipReason(lead, needs(lead), suppressed);
    if (lead && !reason) accepted.push(lead);
    else skipped.push({ leadId, reason: reason ?? 'not_found' });
  }
  const first = nextActionStep(definition, 0);
  if (!first) throw new Error('validated sequences always have an action step');

  const enrolled = await deps.db.transaction(async (tx) => {
    const [ws] = await tx
      .execute<{ timezone: string; country: string | null }>(
        sql`select timezone, country from workspaces where id = ${workspaceId}`,
      )
      .then((r) => r.rows);
    const now = new Date();
    const runAts = accepted.map((lead) =>
      computeRunAt({
        base: now,
        waits: first.waits,
        schedule: definition.schedule,
        tz: leadTimezone(lead, definition, ws?.timezone ?? 'UTC'),
        applyWindow: channelStepTypes.has(first.step.type),
        country: leadCountry(lead, ws?.country),
        seed: spreadSeed(lead.id, first.step.id),
      }).toISOString(),
    );
    const rows = await insertEnrollments(tx, {
      workspaceId,
      sequenceId,
      version: sequence.currentVersion,
      first,
      leadIds: accepted.map((l) => l.id),
      runAts,
    });
    await recordEvents(
      tx,
      rows.map((e) => ({
        workspaceId,
        type: 'enrollment.started',
        leadId: e.leadId,
        enrollmentId: e.enrollmentId,
        data: { sequenceId, version: sequence.currentVersion },
      })),
    );
    return rows;
  });
  const enrolledLeads = new Set(enrolled.map((e) => e.leadId));
  for (const lead of accepted)
    if (!enrolledLeads.has(lead.id)) skipped.push({ leadId: lead.id, reason: 'already_enrolled' });
  await dispatchRuns(
    deps,
    enrolled.map((e) => e.run),
  );
  return {
    ok: true,
    enrolled: enrolled.map((e) => ({ leadId: e.leadId, enrollmentId: e.enrollmentId })),
    skipped,
  };
}

type EnrolledRow = { leadId: string; enrollmentId: string; run: RunRef };

/**
 * One statement writes the enrollments and their first runs, from two parallel arrays (no per-row
 * parameters), and returns them in the order of `leadIds`.
 */
async function insertEnrollments(
  tx: Tx,
  input: {
    workspaceId: string;
    sequenceId: string;
    version: number;
    first: PlannedStep;
    leadIds: string[];
    runAts: string[];
  },
): Promise<EnrolledRow[]> {
  if (input.leadIds.length === 0) return [];
  const { step, index } = input.first;
  const { rows } = await tx.execute<{
    lead_id: string;
    enrollment_id: string;
    run_id: string;
    run_at: string;
    generation: number;
  }>(sql`
    with input as (
      select * from unnest(${sql.param(input.leadIds)}::uuid[], ${sql.param(input.runAts)}::timestamptz[])
        as x(lead_id, run_at)
    ), enrolled as (
      insert into enrollments (workspace_id, sequence_id, version, lead_id, current_step_id, next_run_at)
      select ${input.workspaceId}, ${input.sequenceId}, ${input.version}, lead_id, ${step.id}, run_at from input
      -- A concurrent request enrolling the same lead loses here, on the live-enrollment index.
      on conflict do nothing
      returning id, lead_id, next_run_at
    ), runs as (
      insert into step_runs (workspace_id, enrollment_id, step_id, step_index, step_type, run_at, due_at)
      select ${input.workspaceId}, id, ${step.id}, ${index}, ${step.type}, next_run_at, next_run_at from enrolled
      returning id, enrollment_id, run_at, generation
    )
    select e.lead_id, e.id as enrollment_id, r.id as run_id, r.run_at, r.generation
    from enrolled e join runs r on r.enrollment_id = e.id`);
  const byLead = new Map(rows.map((r) => [r.lead_id, r]));
  return input.leadIds.flatMap((leadId) => {
    const r = byLead.get(leadId);
    return r
      ? [
          {
            leadId,
            enrollmentId: r.enrollment_id,
            run: { id: r.run_id, runAt: new Date(r.run_at), generation: r.generation },
          },
        ]
      : [];
  });
}
