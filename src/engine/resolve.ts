import { and, eq } from 'drizzle-orm';
import type { Deps } from '../context';
import { enrollments, leads, stepRuns } from '../db/schema/index';
import { recordEvent } from '../timeline/events';
import { loadVersion } from './versions';
import { scheduleNextStep, workspaceCalendar } from './advance';
import { dispatchRuns } from './dispatch';

export type ResolveResult = { ok: true } | { ok: false; error: 'not_found' | 'not_ambiguous' };

/**
 * An operator settles an ambiguous run: `sent` (the lead did get it) or `skipped` (it did not, and
 * we choose not to resend). Either way the sequence moves on to the next step. The engine never
 * resends an ambiguous run by itself: at-most-once is the promise.
 */
export async function resolveAmbiguousRun(
  deps: Pick<Deps, 'db' | 'queues' | 'config' | 'log'>,
  workspaceId: string,
  stepRunId: string,
  outcome: 'sent' | 'skipped',
  /** Who settled it: an operator (the API) or the inbox reader that found the message in the mailbox. */
  by: 'operator' | 'sent_folder' = 'operator',
): Promise<ResolveResult> {
  const result = await deps.db.transaction(async (tx) => {
    const [run] = await tx
      .select()
      .from(stepRuns)
      .where(and(eq(stepRuns.id, stepRunId), eq(stepRuns.workspaceId, workspaceId)))
      .for('update');
    if (!run) return { ok: false, error: 'not_found' } as const;
    if (run.status !== 'ambiguous') return { ok: false, error: 'not_ambiguous' } as const;
    const [enrollment] = await tx
      .select()
      .from(enrollments)
      .where(eq(enrollments.id, run.enrollmentId))
      .for('update');
    const [lead] = await tx
      .select({ id: leads.id, timezone: leads.timezone, country: leads.country })
      .from(leads)
      .where(eq(leads.id, enrollment?.leadId ?? ''));
    const definition = enrollment && (await loadVersion(tx, enrollment.sequenceId, enrollment.version));
    if (!enrollment || !lead || !definition) throw new Error(`step run ${run.id} has no complete context`);
    await tx
      .update(stepRuns)
      .set({
        status: outcome,
        reason: by === 'operator' ? `resolved_${outcome}` : `found_in_${by}`,
        executedAt: run.executedAt ?? new Date(),
        updatedAt: new Date(),
      })
      .where(eq(stepRuns.id, run.id));
    await recordEvent(tx, {
      workspaceId,
      type: 'step.resolved',
      leadId: enrollment.leadId,
      enrollmentId: enrollment.id,
      stepRunId: run.id,
      data: { outcome, by },
    });
    if (enrollment.status !== 'active' && enrollment.status !== 'paused')
      return { ok: true, next: null } as const;
    const next = await scheduleNextStep(tx, {
      enrollment,
      lead,
      definition,
      ...(await workspaceCalendar(tx, workspaceId)),
      fromIndex: run.stepIndex + 1,
      base: new Date(),
    });
    return { ok: true, next } as const;
  });
  if (!result.ok) return result;
  if (result.next) await dispatchRuns(deps, [result.next]);
  return { ok: true };
}
