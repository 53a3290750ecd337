import { and, eq, gte, isNull, lt, type SQL } from 'drizzle-orm';
import type { Db } from '../../db/client';
import { tasks } from '../../db/schema/index';
import { decodeCursor, keyset, toPage } from '../../db/keyset';
import { recordEvent } from '../../timeline/events';
import type { Task, TaskListQuery, TaskPatch } from './tasks.schemas';

type TaskRow = typeof tasks.$inferSelect;

export const toTaskView = (t: TaskRow): Task => ({
  id: t.id,
  leadId: t.leadId,
  enrollmentId: t.enrollmentId,
  title: t.title,
  kind: t.kind,
  done: t.status === 'done',
  assignee: t.assignee,
  dueAt: t.dueAt?.toISOString() ?? null,
  doneAt: t.doneAt?.toISOString() ?? null,
  createdAt: t.createdAt.toISOString(),
  updatedAt: t.updatedAt.toISOString(),
});

/** `GET /v1/tasks`: the workspace's tasks, newest first, filtered. */
export async function listTasks(db: Db, workspaceId: string, query: TaskListQuery) {
  const page = keyset(tasks.createdAt, tasks.id, decodeCursor(query.cursor));
  const filters: (SQL | undefined)[] = [
    eq(tasks.workspaceId, workspaceId),
    query.assignee === undefined ? undefined : eq(tasks.assignee, query.assignee),
    query.unassigned ? isNull(tasks.assignee) : undefined,
    query.leadId === undefined ? undefined : eq(tasks.leadId, query.leadId),
    query.done === undefined ? undefined : eq(tasks.status, query.done ? 'done' : 'open'),
    query.dueBefore === undefined ? undefined : lt(tasks.dueAt, query.dueBefore),
    query.dueAfter === undefined ? undefined : gte(tasks.dueAt, query.dueAfter),
    page.where,
  ];
  const rows = await db
    .select()
    .from(tasks)
    .where(and(...filters))
    .orderBy(...page.orderBy)
    .limit(query.limit + 1);
  return toPage(rows, query.limit, toTaskView);
}

/**
 * `PATCH /v1/tasks/:id`. Marking an open task done records `task.completed` in the same
 * transaction; reopening clears `doneAt` and records nothing. Null when the task is not the
 * workspace's.
 */
export async function updateTask(
  db: Db,
  workspaceId: string,
  taskId: string,
  patch: TaskPatch,
): Promise<Task | null> {
  return db.transaction(async (tx) => {
    const [current] = await tx
      .select()
      .from(tasks)
      .where(and(eq(tasks.id, taskId), eq(tasks.workspaceId, workspaceId)))
      .for('update');
    if (!current) return null;
    const wasDone = current.status === 'done';
    const completes = patch.done === true && !wasDone;
    const reopens = patch.done === false && wasDone;
    const now = new Date();
    const [row] = await tx
      .update(tasks)
      .set({
        ...(patch.dueAt !== undefined ? { dueAt: patch.dueAt } : {}),
        ...(patch.assignee !== undefined ? { assignee: patch.assignee } : {}),
        ...(completes ? { status: 'done' as const, doneAt: now } : {}),
        ...(reopens ? { status: 'open' as const, doneAt: null } : {}),
        updatedAt: now,
      })
      .where(eq(tasks.id, taskId))
      .returning();
    if (!row) throw new Error('task update returned nothing');
    if (completes) {
      await recordEvent(tx, {
        workspaceId,
        type: 'task.completed',
        leadId: row.leadId,
        enrollmentId: row.enrollmentId,
        stepRunId: row.stepRunId,
        data: { taskId: row.id, title: row.title, kind: row.kind, assignee: row.assignee },
      });
    }
    return toTaskView(row);
  });
}
