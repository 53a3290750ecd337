import { and, eq, inArray } from 'drizzle-orm';
import type { DbOrTx } from '../../db/client';
import { type EnrollmentStatus, enrollments, stepRuns } from '../../db/schema/index';
import { recordEvents } from '../events/events.service';

export type StopStatus = Extract<
  EnrollmentStatus,
  'replied' | 'stopped' | 'bounced' | 'unsubscribed' | 'failed' | 'completed'
>;

/**
 * Ends every live (active or paused) enrollment of the given leads and cancels their scheduled runs,
 * in the caller's transaction. A run already `claimed` is left to its worker: the claim re-checks
 * the enrollment and the advance step refuses to schedule anything after this commit.
 */
export async function stopLeadEnrollments(
  db: DbOrTx,
  input: {
    workspaceId: string;
    leadIds: string[];
    status: StopStatus;
    reason: string;
    /** Limit the stop to these enrollments (a manual stop of one enrollment). */
    onlyEnrollmentIds?: string[];
  },
): Promise<{ enrollmentIds: string[] }> {
  if (input.leadIds.length === 0) return { enrollmentIds: [] };
  const stopped = await db
    .update(enrollments)
    .set({
      status: input.status,
      reason: input.reason,
      nextRunAt: null,
      endedAt: new Date(),
      updatedAt: new Date(),
    })
    .where(
      and(
        eq(enrollments.workspaceId, input.workspaceId),
        inArray(enrollments.leadId, input.leadIds),
        inArray(enrollments.status, ['active', 'paused']),
        input.onlyEnrollmentIds ? inArray(enrollments.id, input.onlyEnrollmentIds) : undefined,
      ),
    )
    .returning({ id: enrollments.id, leadId: enrollments.leadId });
  const ids = stopped.map((e) => e.id);
  if (ids.length > 0) {
    await db
      .update(stepRuns)
      .set({ status: 'canceled', reason: input.reason, updatedAt: new Date() })
      .where(and(inArray(stepRuns.enrollmentId, ids), eq(stepRuns.status, 'scheduled')));
    await recordEvents(
      db,
      stopped.map((e) => ({
        workspaceId: input.workspaceId,
        type: 'enrollment.stopped',
        leadId: e.leadId,
        enrollmentId: e.id,
        data: { status: input.status, reason: input.reason },
      })),
    );
  }
  return { enrollmentIds: ids };
}
