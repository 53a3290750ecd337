import { and, eq, inArray, isNull, sql } from 'drizzle-orm';
import type { Deps } from '../../context';
import { enrollments, leads, sequences, stepRuns } from '../../db/schema/index';
import { leadTimezone } from '../../engine/advance';
import type { LeadRow } from '../../engine/channel';
import { dispatchRuns } from '../../engine/dispatch';
import { channelStepTypes, nextActionStep, reachableSteps } from '../../engine/plan';
import { computeRunAt } from '../../engine/schedule';
import { leadVariables, missingVariable } from '../../engine/templates';
import { inChunks } from '../../lib/chunks';
import { recordEvents } from '../events/events.service';
import { suppressedLeadIds } from '../suppressions/suppressions.service';
import { type SequenceDefinition, templateFields } from '../sequences/sequences.schemas';
import { isLinkedInStep } from '../sequences/steps.schemas';
import { loadVersion } from '../sequences/versions';

export type EnrollResult =
  | {
      ok: true;
      enrolled: { leadId: string; enrollmentId: string }[];
      skipped: { leadId: string; reason: string }[];
    }
  | { ok: false; error: 'not_found' | 'archived' };

type EnrollDeps = Pick<Deps, 'db' | 'queues' | 'config' | 'log'>;

/** Why a lead cannot enter the sequence, or null when it can. Order matters: the first reason wins. */
function skipReason(lead: LeadRow, def: SequenceDefinition, suppressed: Set<string>): string | null {
  if (lead.status !== 'active') return lead.status;
  if (suppressed.has(lead.id)) return 'suppressed';
  const steps = reachableSteps(def, lead);
  if (!lead.email && steps.some((s) => s.type === 'email')) return 'missing_email';
  if (!lead.linkedinUrl && steps.some(isLinkedInStep)) return 'missing_linkedin_url';
  const templates = steps.flatMap((s) => templateFields(s).map(([, source]) => source));
  const missing = missingVariable(templates, leadVariables(lead));
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
    .where(and(eq(leads.workspaceId, workspaceId), inArray(leads.id, unique), isNull(leads.erasedAt)));
  const byId = new Map(batch.map((l) => [l.id, l]));
  const live = await deps.db
    .select({ leadId: enrollments.leadId })
    .from(enrollments)
    .where(
      and(
        eq(enrollments.sequenceId, sequenceId),
        inArray(enrollments.leadId, unique),
        sql`${enrollments.status} in ('active', 'paused')`,
      ),
    );
  const already = new Set(live.map((e) => e.leadId));
  const suppressed = await suppressedLeadIds(deps.db, workspaceId, batch);

  const skipped: { leadId: string; reason: string }[] = [];
  const accepted: LeadRow[] = [];
  for (const leadId of unique) {
    const lead = byId.get(leadId);
    const reason = !lead
      ? 'not_found'
      : already.has(leadId)
        ? 'already_enrolled'
        : skipReason(lead, definition, suppressed);
    if (lead && !reason) accepted.push(lead);
    else skipped.push({ leadId, reason: reason ?? 'not_found' });
  }
  const first = nextActionStep(definition, 0);
  if (!first) throw new Error('validated sequences always have an action step');

  const { enrolled, runs } = await deps.db.transaction(async (tx) => {
    const [ws] = await tx
      .execute<{ timezone: string }>(sql`select timezone from workspaces where id = ${workspaceId}`)
      .then((r) => r.rows);
    const now = new Date();
    const runAtOf = (lead: LeadRow) =>
      computeRunAt({
        base: now,
        waits: first.waits,
        schedule: definition.schedule,
        tz: leadTimezone(lead, definition, ws?.timezone ?? 'UTC'),
        applyWindow: channelStepTypes.has(first.step.type),
      });
    const inserted = await inChunks(accepted, 5000, (chunk) =>
      tx
        .insert(enrollments)
        .values(
          chunk.map((l) => ({
            workspaceId,
            sequenceId,
            version: sequence.currentVersion,
            leadId: l.id,
            currentStepId: first.step.id,
            nextRunAt: runAtOf(l),
          })),
        )
        // A concurrent request enrolling the same lead loses here, on the live-enrollment index.
        .onConflictDoNothing()
        .returning({ id: enrollments.id, leadId: enrollments.leadId, nextRunAt: enrollments.nextRunAt }),
    );
    const runs = await inChunks(inserted, 5000, (chunk) =>
      tx
        .insert(stepRuns)
        .values(
          chunk.map((e) => ({
            workspaceId,
            enrollmentId: e.id,
            stepId: first.step.id,
            stepIndex: first.index,
            stepType: first.step.type,
            runAt: e.nextRunAt ?? now,
            dueAt: e.nextRunAt ?? now,
          })),
        )
        .returning({ id: stepRuns.id, runAt: stepRuns.runAt, generation: stepRuns.generation }),
    );
    await recordEvents(
      tx,
      inserted.map((e) => ({
        workspaceId,
        type: 'enrollment.started',
        leadId: e.leadId,
        enrollmentId: e.id,
        data: { sequenceId, version: sequence.currentVersion },
      })),
    );
    return { enrolled: inserted, runs };
  });
  const enrolledLeads = new Set(enrolled.map((e) => e.leadId));
  for (const lead of accepted)
    if (!enrolledLeads.has(lead.id)) skipped.push({ leadId: lead.id, reason: 'already_enrolled' });
  await dispatchRuns(deps, runs);
  return { ok: true, enrolled: enrolled.map((e) => ({ leadId: e.leadId, enrollmentId: e.id })), skipped };
}
