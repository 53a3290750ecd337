import type { Tx } from '../db/client';
import { tasks } from '../db/schema/index';
import { leadVariables } from '../core/templates';
import { recordEvent } from '../timeline/events';
import type { LeadRow } from './channel';
import { renderTemplates } from './render/template-pool';

const TASK_TITLE_MAX = 500;

/**
 * A task's title rendered over the lead's fields, on one line. A title that does not render keeps
 * its source: a person still gets the task, and the cadence does not stop over a title.
 */
async function taskTitle(source: string, lead: LeadRow): Promise<string> {
  const [rendered] = await renderTemplates([{ source, vars: leadVariables(lead) }]);
  if (!rendered?.ok) return source;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: a title is one line of text
  const line = rendered.text.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  return (line || source).slice(0, TASK_TITLE_MAX);
}

/**
 * Creates a task for a person about a lead (a `task` step, an automation), its title rendered over
 * the lead, with its `task.created` event, in the caller's transaction.
 */
export async function createTask(
  tx: Tx,
  input: {
    workspaceId: string;
    lead: LeadRow;
    title: string;
    kind: 'call' | 'manual';
    enrollmentId?: string | null;
    stepRunId?: string | null;
    assignee?: string | null;
    dueAt?: Date | null;
  },
): Promise<{ id: string; title: string }> {
  const title = await taskTitle(input.title, input.lead);
  const [task] = await tx
    .insert(tasks)
    .values({
      workspaceId: input.workspaceId,
      leadId: input.lead.id,
      enrollmentId: input.enrollmentId ?? null,
      stepRunId: input.stepRunId ?? null,
      title,
      kind: input.kind,
      assignee: input.assignee ?? null,
      dueAt: input.dueAt ?? null,
    })
    .returning({ id: tasks.id });
  if (!task) throw new Error('task insert returned nothing');
  await recordEvent(tx, {
    workspaceId: input.workspaceId,
    type: 'task.created',
    leadId: input.lead.id,
    enrollmentId: input.enrollmentId ?? null,
    stepRunId: input.stepRunId ?? null,
    data: { taskId: task.id, title, kind: input.kind },
  });
  return { id: task.id, title };
}
