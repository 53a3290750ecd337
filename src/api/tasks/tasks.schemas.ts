import { z } from 'zod';
import { taskKinds } from '../../db/schema/index';
import { Text } from '../../core/text-input';
import { PageQuery, page } from '../http/schemas';

/** An ISO instant within years 1970 to 9999: Postgres refuses year 0, and an offset can reach it. */
const Instant = z.iso
  .datetime({ offset: true })
  .transform((v) => new Date(v))
  .refine((d) => d.getUTCFullYear() >= 1970 && d.getUTCFullYear() <= 9999, 'must be between 1970 and 9999');
/** `true`/`false` in a query string: `z.coerce.boolean()` would read "false" as true. */
const QueryBoolean = z.enum(['true', 'false']).transform((v) => v === 'true');
const Assignee = Text(200, 1);

export const TaskListQuery = PageQuery.extend({
  /** Tasks assigned to exactly this person (as written on the task). */
  assignee: Assignee.optional(),
  /** `true`: only tasks with no assignee. */
  unassigned: QueryBoolean.optional(),
  leadId: z.uuid().optional(),
  done: QueryBoolean.optional(),
  /** Only tasks due strictly before, or at or after, this instant; tasks with no due date never match. */
  dueBefore: Instant.optional(),
  dueAfter: Instant.optional(),
});
export type TaskListQuery = z.infer<typeof TaskListQuery>;

export const TaskPatch = z
  .object({
    done: z.boolean(),
    dueAt: Instant.nullable(),
    assignee: Assignee.nullable(),
  })
  .partial()
  .strict()
  .refine((patch) => Object.keys(patch).length > 0, 'give at least one of done, dueAt, assignee');
export type TaskPatch = z.infer<typeof TaskPatch>;

export const Task = z.object({
  id: z.uuid(),
  leadId: z.uuid(),
  enrollmentId: z.uuid().nullable(),
  title: z.string(),
  kind: z.enum(taskKinds),
  done: z.boolean(),
  assignee: z.string().nullable(),
  dueAt: z.string().nullable(),
  doneAt: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type Task = z.infer<typeof Task>;
export const TaskPage = page(Task);
