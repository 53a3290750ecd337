import { and, asc, eq } from 'drizzle-orm';
import type { Deps } from '../../context';
import { enrollments, type StepRunStatus, stepRuns } from '../../db/schema/index';
import { pauseEnrollments, resumeEnrollments } from '../../engine/pause';
import { stopLeadEnrollments } from '../../engine/stop-rules';

type EnrollmentDeps = Pick<Deps, 'db' | 'queues' | 'config' | 'log'>;

export async function getEnrollment(deps: EnrollmentDeps, workspaceId: string, id: string) {
  const [enrollment] = await deps.db
    .select()
    .from(enrollments)
    .where(and(eq(enrollments.id, id), eq(enrollments.workspaceId, workspaceId)));
  if (!enrollment) return null;
  const runs = await deps.db
    .select()
    .from(stepRuns)
    .where(eq(stepRuns.enrollmentId, id))
    .orderBy(asc(stepRuns.stepIndex), asc(stepRuns.createdAt));
  return { ...enrollment, stepRuns: runs };
}

/** Runs in one status across the workspace, oldest first (e.g. the ambiguous ones to settle). */
export async function listStepRuns(
  deps: EnrollmentDeps,
  workspaceId: string,
  query: { status: StepRunStatus; limit: number },
) {
  return deps.db
    .select()
    .from(stepRuns)
    .where(and(eq(stepRuns.workspaceId, workspaceId), eq(stepRuns.status, query.status)))
    .orderBy(asc(stepRuns.updatedAt))
    .limit(query.limit);
}

export type ControlResult =
  | { ok: true }
  | { ok: false; error: 'not_found' | 'invalid_state'; status?: string };

/** pause / resume / stop one enrollment; the answer says why nothing happened when it didn't. */
export async function controlEnrollment(
  deps: EnrollmentDeps,
  workspaceId: string,
  id: string,
  action: 'pause' | 'resume' | 'stop',
): Promise<ControlResult> {
  const [current] = await deps.db
    .select({ status: enrollments.status, leadId: enrollments.leadId })
    .from(enrollments)
    .where(and(eq(enrollments.id, id), eq(enrollments.workspaceId, workspaceId)));
  if (!current) return { ok: false, error: 'not_found' };
  const changed =
    action === 'pause'
      ? (await pauseEnrollments(deps.db, { workspaceId, enrollmentIds: [id], reason: 'manual' })).length
      : action === 'resume'
        ? (await resumeEnrollments(deps, { workspaceId, enrollmentIds: [id] })).length
        : await deps.db.transaction(async (tx) => {
            const { enrollmentIds } = await stopLeadEnrollments(tx, {
              workspaceId,
              leadIds: [current.leadId],
              status: 'stopped',
              reason: 'manual',
              onlyEnrollmentIds: [id],
            });
            return enrollmentIds.length;
          });
  return changed > 0 ? { ok: true } : { ok: false, error: 'invalid_state', status: current.status };
}
