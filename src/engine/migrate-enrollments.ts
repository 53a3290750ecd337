import { and, eq, inArray, sql } from 'drizzle-orm';
import type { Tx } from '../db/client';
import { enrollments, stepRuns } from '../db/schema/index';
import type { SequenceDefinition } from '../core/sequences';
import { recordEvents } from '../timeline/events';

export type MigrateInput = {
  workspaceId: string;
  sequenceId: string;
  fromVersion: number;
  toVersion: number;
  from: SequenceDefinition;
  to: SequenceDefinition;
  /** Old step id → step id in `to`, for steps `to` no longer has (or to move people on purpose). */
  stepMap: Record<string, string>;
};

export type MigrateSkip = { enrollmentId: string; reason: 'in_flight' | 'target_step_already_ran' };

export type MigrateResult =
  | { ok: true; migrated: number; skipped: MigrateSkip[] }
  /** Enrollments wait on these steps of `from`, which `to` lacks and `stepMap` does not map. */
  | { ok: false; error: 'unmapped_steps'; stepIds: string[] }
  /** `stepMap` names a step `from` does not have, or maps to one `to` cannot run. */
  | { ok: false; error: 'invalid_step_map'; details: { path: string; message: string }[] };

/** Runs that belong to an enrollment's position; `claimed` and `ambiguous` are a send in flight. */
const OPEN_RUN = ['scheduled', 'claimed', 'ambiguous'] as const;

/**
 * Moves the live (active and paused) enrollments of `fromVersion` to `toVersion`, in the caller's
 * transaction. Nothing already sent runs again: sent runs stay in the ledger, and each enrollment's
 * one scheduled run is re-pointed (same row, same time, same job) at the step with its id in `to`,
 * else at `stepMap[id]`. An enrollment whose run is claimed or ambiguous is left on its version and
 * reported `in_flight` (the send may be happening now; calling again later moves it). Enrollments
 * already on `toVersion` are not touched, so a repeated call moves only what is left.
 */
export async function migrateEnrollments(tx: Tx, input: MigrateInput): Promise<MigrateResult> {
  const invalid = checkStepMap(input);
  if (invalid.length > 0) return { ok: false, error: 'invalid_step_map', details: invalid };
  // An explicit mapping wins; a step of the same id counts only if it still runs (a wait does not).
  // A Map: a step may be called `constructor`, which a plain object would answer from its prototype.
  const mapped = new Map(Object.entries(input.stepMap));
  const targetOf = (stepId: string) =>
    mapped.get(stepId) ??
    (input.to.steps.some((s) => s.id === stepId && s.type !== 'wait') ? stepId : undefined);

  // The enrollment locks order this after any advance or reply already holding them, and hold new
  // ones off until commit; the run locks do the same for a claim.
  const live = await tx
    .select({ id: enrollments.id, leadId: enrollments.leadId, currentStepId: enrollments.currentStepId })
    .from(enrollments)
    .where(
      and(
        eq(enrollments.workspaceId, input.workspaceId),
        eq(enrollments.sequenceId, input.sequenceId),
        eq(enrollments.version, input.fromVersion),
        inArray(enrollments.status, ['active', 'paused']),
      ),
    )
    .orderBy(enrollments.id)
    .for('update');
  if (live.length === 0) return { ok: true, migrated: 0, skipped: [] };
  const ids = live.map((e) => e.id);
  const runs = await tx
    .select({
      id: stepRuns.id,
      enrollmentId: stepRuns.enrollmentId,
      stepId: stepRuns.stepId,
      status: stepRuns.status,
    })
    .from(stepRuns)
    .where(and(inArray(stepRuns.enrollmentId, ids), inArray(stepRuns.status, [...OPEN_RUN])))
    .orderBy(stepRuns.id)
    .for('update');
  const openRun = new Map(runs.map((r) => [r.enrollmentId, r]));

  const skipped: MigrateSkip[] = [];
  const unmapped = new Set<string>();
  const moves: {
    enrollment: (typeof live)[number];
    runId: string | null;
    from: string | null;
    to: string | null;
  }[] = [];
  for (const enrollment of live) {
    const run = openRun.get(enrollment.id);
    if (run && run.status !== 'scheduled') {
      skipped.push({ enrollmentId: enrollment.id, reason: 'in_flight' });
      continue;
    }
    const from = run?.stepId ?? enrollment.currentStepId;
    const to = from === null ? null : targetOf(from);
    if (from !== null && to === undefined) unmapped.add(from);
    else moves.push({ enrollment, runId: run?.id ?? null, from, to: to ?? null });
  }
  if (unmapped.size > 0) return { ok: false, error: 'unmapped_steps', stepIds: [...unmapped].sort() };

  // A step is in an enrollment's ledger at most once: one that already ran cannot be its next step.
  const ran = await alreadyRan(
    tx,
    moves.flatMap((m) => (m.runId && m.to && m.to !== m.from ? [m.enrollment.id] : [])),
  );
  const ready = moves.filter((m) => {
    if (!m.to || m.to === m.from || !ran.has(`${m.enrollment.id}:${m.to}`)) return true;
    skipped.push({ enrollmentId: m.enrollment.id, reason: 'target_step_already_ran' });
    return false;
  });
  await repointRuns(tx, input.to, ready);
  await tx
    .update(enrollments)
    .set({
      version: input.toVersion,
      currentStepId: sql`coalesce(x.step_id, ${enrollments.currentStepId})`,
      updatedAt: new Date(),
    })
    .from(
      sql`unnest(${sql.param(ready.map((m) => m.enrollment.id))}::uuid[], ${sql.param(ready.map((m) => m.to))}::text[]) as x(id, step_id)`,
    )
    .where(sql`${enrollments.id} = x.id`);
  await recordEvents(
    tx,
    ready.map((m) => ({
      workspaceId: input.workspaceId,
      type: 'enrollment.migrated',
      leadId: m.enrollment.leadId,
      enrollmentId: m.enrollment.id,
      data: {
        sequenceId: input.sequenceId,
        fromVersion: input.fromVersion,
        toVersion: input.toVersion,
        fromStepId: m.from,
        toStepId: m.to,
      },
    })),
  );
  return { ok: true, migrated: ready.length, skipped };
}

/** A stepMap key must be a step of `from`; its value a step of `to` that runs (not a wait). */
function checkStepMap(input: MigrateInput): { path: string; message: string }[] {
  return Object.entries(input.stepMap).flatMap(([from, to]) => {
    const problems: { path: string; message: string }[] = [];
    if (!input.from.steps.some((s) => s.id === from))
      problems.push({
        path: `body.stepMap.${from}`,
        message: `version ${input.fromVersion} has no step "${from}"`,
      });
    const target = input.to.steps.find((s) => s.id === to);
    if (!target)
      problems.push({
        path: `body.stepMap.${from}`,
        message: `version ${input.toVersion} has no step "${to}"`,
      });
    else if (target.type === 'wait')
      problems.push({
        path: `body.stepMap.${from}`,
        message: `step "${to}" is a wait; map to the step after it`,
      });
    return problems;
  });
}

async function alreadyRan(tx: Tx, enrollmentIds: string[]): Promise<Set<string>> {
  if (enrollmentIds.length === 0) return new Set();
  const rows = await tx
    .select({ enrollmentId: stepRuns.enrollmentId, stepId: stepRuns.stepId })
    .from(stepRuns)
    .where(inArray(stepRuns.enrollmentId, enrollmentIds));
  return new Set(rows.map((r) => `${r.enrollmentId}:${r.stepId}`));
}

/**
 * Each scheduled run now names its step in `to` (id, index, type). Its time, generation and queued
 * job stay: the job carries only the run id and generation, and the runner reads the step from the
 * enrollment's (new) version at the run's (new) index.
 */
async function repointRuns(
  tx: Tx,
  to: SequenceDefinition,
  moves: { runId: string | null; to: string | null }[],
): Promise<void> {
  const targets = moves.flatMap((m) => {
    const index = to.steps.findIndex((s) => s.id === m.to);
    const step = to.steps[index];
    return m.runId && step ? [{ runId: m.runId, stepId: step.id, index, type: step.type }] : [];
  });
  if (targets.length === 0) return;
  await tx.execute(sql`
    update step_runs r set step_id = x.step_id, step_index = x.step_index, step_type = x.step_type,
      updated_at = now()
    from unnest(${sql.param(targets.map((t) => t.runId))}::uuid[], ${sql.param(targets.map((t) => t.stepId))}::text[],
      ${sql.param(targets.map((t) => t.index))}::int[], ${sql.param(targets.map((t) => t.type))}::text[])
      as x(id, step_id, step_index, step_type)
    where r.id = x.id and r.status = 'scheduled'`);
}
