import { and, eq, sql } from 'drizzle-orm';
import type { Deps } from '../context';
import type { AutomationAction } from '../core/automations';
import type { Tx } from '../db/client';
import { automationRuns, leads } from '../db/schema/index';
import { inTransaction } from '../db/transaction';
import { recordEvent } from '../timeline/events';
import { changeStage } from '../timeline/stages';
import { enrollLeads } from './enroll';
import { createTask } from './tasks';

type AutomationDeps = Pick<Deps, 'db' | 'queues' | 'config' | 'log'>;

/** Rules applied per pass: a burst (an import that fires a rule for 50,000 leads) drains in passes. */
export const AUTOMATION_BATCH = 200;

type PendingRun = {
  id: number;
  workspace_id: string;
  automation_id: string;
  lead_id: string;
  name: string;
  action: AutomationAction;
};

type Applied = { status: 'applied' | 'skipped' | 'failed'; result: Record<string, unknown> };

/**
 * Applies pending automation runs (written with their triggering events, see
 * `automationTriggerInsert`), oldest first. Each run is claimed with `skip locked`, so several
 * workers share the work, and is settled with an `automation.applied` event on the lead's timeline
 * in the transaction that applies it. An enrollment is made by `enrollLeads` (its own transaction);
 * should a crash fall between it and the settling, the next pass finds the lead already enrolled.
 * Returns how many runs were settled.
 */
export async function applyPendingAutomations(
  deps: AutomationDeps,
  limit = AUTOMATION_BATCH,
): Promise<number> {
  let settled = 0;
  for (;;) {
    const done = await inTransaction(deps, async (tx) => {
      const { rows } = await tx.execute<PendingRun>(sql`
        select r.id::int as id, r.workspace_id, r.automation_id, r.lead_id, a.name, a.action
        from automation_runs r join automations a on a.id = r.automation_id
        where r.id = (select id from automation_runs where status = 'pending' order by id limit 1 for update skip locked)`);
      const run = rows[0];
      if (!run) return false;
      const outcome = await apply(deps, tx, run);
      await tx
        .update(automationRuns)
        .set({ status: outcome.status, result: outcome.result, appliedAt: new Date() })
        .where(eq(automationRuns.id, run.id));
      await recordEvent(tx, {
        workspaceId: run.workspace_id,
        type: 'automation.applied',
        leadId: run.lead_id,
        data: {
          automationId: run.automation_id,
          name: run.name,
          action: run.action.type,
          status: outcome.status,
          ...outcome.result,
        },
      });
      return true;
    });
    if (!done) return settled;
    settled += 1;
    if (settled >= limit) return settled;
  }
}

async function apply(deps: AutomationDeps, tx: Tx, run: PendingRun): Promise<Applied> {
  const action = run.action;
  switch (action.type) {
    case 'enroll': {
      const result = await enrollLeads(deps, run.workspace_id, action.sequenceId, [run.lead_id]);
      if (!result.ok)
        return { status: 'skipped', result: { sequenceId: action.sequenceId, reason: result.error } };
      const enrolled = result.enrolled[0];
      if (enrolled)
        return {
          status: 'applied',
          result: { sequenceId: action.sequenceId, enrollmentId: enrolled.enrollmentId },
        };
      return {
        status: 'skipped',
        result: { sequenceId: action.sequenceId, reason: result.skipped[0]?.reason ?? 'not_enrolled' },
      };
    }
    case 'move': {
      const change = await changeStage(tx, {
        workspaceId: run.workspace_id,
        leadId: run.lead_id,
        toStage: action.stage,
        reason: `automation:${run.automation_id}`,
        source: 'automation',
      });
      if (!change.ok) return { status: 'skipped', result: { stage: action.stage, reason: change.error } };
      return {
        status: change.changed ? 'applied' : 'skipped',
        result: { stage: action.stage, from: change.from },
      };
    }
    case 'task': {
      const [lead] = await tx
        .select()
        .from(leads)
        .where(and(eq(leads.id, run.lead_id), sql`${leads.erasedAt} is null`));
      if (!lead) return { status: 'skipped', result: { reason: 'lead_not_found' } };
      const dueAt =
        action.dueInDays === undefined ? null : new Date(Date.now() + action.dueInDays * 86_400_000);
      const task = await createTask(tx, {
        workspaceId: run.workspace_id,
        lead,
        title: action.title,
        kind: action.kind,
        assignee: action.assignee ?? null,
        dueAt,
      });
      return { status: 'applied', result: { taskId: task.id } };
    }
  }
}
