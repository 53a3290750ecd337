import { and, desc, eq } from 'drizzle-orm';
import type { DbOrTx } from '../../db/client';
import { enrollments, sequences, stageEvents } from '../../db/schema/index';

/** The lead's stage history, newest first. */
export async function stageHistory(db: DbOrTx, workspaceId: string, leadId: string) {
  return db
    .select()
    .from(stageEvents)
    .where(and(eq(stageEvents.leadId, leadId), eq(stageEvents.workspaceId, workspaceId)))
    .orderBy(desc(stageEvents.at), desc(stageEvents.id))
    .limit(200);
}

/** Every enrollment of the lead with its sequence's name, newest first. */
export async function leadEnrollments(db: DbOrTx, workspaceId: string, leadId: string) {
  return db
    .select({
      id: enrollments.id,
      status: enrollments.status,
      step: enrollments.currentStepId,
      nextRunAt: enrollments.nextRunAt,
      reason: enrollments.reason,
      sequenceId: sequences.id,
      sequence: sequences.name,
    })
    .from(enrollments)
    .innerJoin(sequences, eq(sequences.id, enrollments.sequenceId))
    .where(and(eq(enrollments.leadId, leadId), eq(enrollments.workspaceId, workspaceId)))
    .orderBy(desc(enrollments.createdAt));
}
