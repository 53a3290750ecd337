import { and, eq, type SQL } from 'drizzle-orm';
import type { Deps } from '../../context';
import type { DbOrTx } from '../../db/client';
import {
  type EnrollmentStatus,
  enrollments,
  leads,
  sequences,
  type StepRunStatus,
  stepRuns,
} from '../../db/schema/index';
import { type Cursor, decodeCursor, keyset, toPage } from '../../db/keyset';

type ListDeps = Pick<Deps, 'db'>;
export type EnrollmentRow = typeof enrollments.$inferSelect;
export type StepRunRow = typeof stepRuns.$inferSelect;
type PageOf<T> = { data: T[]; nextCursor: string | null };
export type EnrollmentListQuery = {
  status?: EnrollmentStatus | undefined;
  limit: number;
  cursor?: string | undefined;
};

/** Enrollments matching `where`, newest first, a keyset page. */
async function enrollmentPage(
  db: DbOrTx,
  where: SQL | undefined,
  query: EnrollmentListQuery,
): Promise<PageOf<EnrollmentRow>> {
  const page = keyset(enrollments.createdAt, enrollments.id, decodeCursor(query.cursor));
  const rows = await db
    .select()
    .from(enrollments)
    .where(and(where, query.status ? eq(enrollments.status, query.status) : undefined, page.where))
    .orderBy(...page.orderBy)
    .limit(query.limit + 1);
  return toPage(rows, query.limit, (row) => row);
}

/** A sequence's enrollments (every version), newest first. Null: no such sequence in the workspace. */
export async function listSequenceEnrollments(
  deps: ListDeps,
  workspaceId: string,
  sequenceId: string,
  query: EnrollmentListQuery,
): Promise<PageOf<EnrollmentRow> | null> {
  const [sequence] = await deps.db
    .select({ id: sequences.id })
    .from(sequences)
    .where(and(eq(sequences.id, sequenceId), eq(sequences.workspaceId, workspaceId)));
  if (!sequence) return null;
  return enrollmentPage(
    deps.db,
    and(eq(enrollments.workspaceId, workspaceId), eq(enrollments.sequenceId, sequenceId)),
    query,
  );
}

/** A lead's enrollments in every sequence, newest first. Null: no such lead in the workspace. */
export async function listLeadEnrollments(
  deps: ListDeps,
  workspaceId: string,
  leadId: string,
  query: EnrollmentListQuery,
): Promise<PageOf<EnrollmentRow> | null> {
  const [lead] = await deps.db
    .select({ id: leads.id })
    .from(leads)
    .where(and(eq(leads.id, leadId), eq(leads.workspaceId, workspaceId)));
  if (!lead) return null;
  return enrollmentPage(
    deps.db,
    and(eq(enrollments.workspaceId, workspaceId), eq(enrollments.leadId, leadId)),
    query,
  );
}

/**
 * Step runs across the workspace, in one status or all, oldest first (by creation, then id), a
 * keyset page: e.g. `?status=ambiguous` for the runs an operator must settle.
 */
export async function listStepRunsPage(
  deps: ListDeps,
  workspaceId: string,
  query: { status?: StepRunStatus | undefined; limit: number; cursor?: string | undefined },
): Promise<PageOf<StepRunRow>> {
  const cursor: Cursor | null = decodeCursor(query.cursor);
  const page = keyset(stepRuns.createdAt, stepRuns.id, cursor, 'asc');
  const rows = await deps.db
    .select()
    .from(stepRuns)
    .where(
      and(
        eq(stepRuns.workspaceId, workspaceId),
        query.status ? eq(stepRuns.status, query.status) : undefined,
        page.where,
      ),
    )
    .orderBy(...page.orderBy)
    .limit(query.limit + 1);
  return toPage(rows, query.limit, (row) => row);
}
