import { and, asc, eq, isNull, sql } from 'drizzle-orm';
import type { DbOrTx } from '../../db/client';
import type { AutomationAction, AutomationTrigger } from '../../core/automations';
import { automations, sequences } from '../../db/schema/index';
import { listStages } from '../../timeline/stage-moves';
import type { Automation, AutomationBody, AutomationPatch } from './automations.schemas';

/** Rules a workspace may keep: each one is checked against every event of its leads. */
export const MAX_AUTOMATIONS = 100;

type Row = typeof automations.$inferSelect;

/** What a rule names that the workspace lacks, as `{path, message}` for a 400. */
export async function invalidReferences(
  db: DbOrTx,
  workspaceId: string,
  rule: { trigger?: AutomationTrigger; action?: AutomationAction },
): Promise<{ path: string; message: string }[]> {
  const issues: { path: string; message: string }[] = [];
  const stageRefs = [
    ...(rule.trigger?.type === 'stage_entered'
      ? [{ path: 'body.trigger.stage', key: rule.trigger.stage }]
      : []),
    ...(rule.action?.type === 'move' ? [{ path: 'body.action.stage', key: rule.action.stage }] : []),
  ];
  if (stageRefs.length > 0) {
    const known = new Set((await listStages(db, workspaceId)).map((s) => s.key));
    for (const ref of stageRefs)
      if (!known.has(ref.key))
        issues.push({ path: ref.path, message: `no stage "${ref.key}" in this workspace's pipeline` });
  }
  if (rule.action?.type === 'enroll') {
    const [seq] = await db
      .select({ status: sequences.status })
      .from(sequences)
      .where(and(eq(sequences.id, rule.action.sequenceId), eq(sequences.workspaceId, workspaceId)));
    if (!seq) issues.push({ path: 'body.action.sequenceId', message: 'no such sequence in this workspace' });
    else if (seq.status === 'archived')
      issues.push({ path: 'body.action.sequenceId', message: 'the sequence is archived' });
  }
  return issues;
}

async function view(db: DbOrTx, rows: Row[]): Promise<Automation[]> {
  if (rows.length === 0) return [];
  const { rows: counts } = await db.execute<{ automation_id: string; status: string; n: number }>(sql`
    select automation_id, status, count(*)::int as n from automation_runs
    where automation_id = any(${sql.param(rows.map((r) => r.id))}::uuid[])
    group by 1, 2`);
  return rows.map((r) => {
    const of = (status: string) =>
      counts.find((c) => c.automation_id === r.id && c.status === status)?.n ?? 0;
    return {
      id: r.id,
      name: r.name,
      trigger: r.trigger,
      action: r.action,
      enabled: r.enabled,
      runs: { pending: of('pending'), applied: of('applied'), skipped: of('skipped'), failed: of('failed') },
      createdAt: r.createdAt.toISOString(),
      updatedAt: r.updatedAt.toISOString(),
    };
  });
}

const live = (workspaceId: string) =>
  and(eq(automations.workspaceId, workspaceId), isNull(automations.deletedAt));

export async function listAutomations(db: DbOrTx, workspaceId: string): Promise<Automation[]> {
  const rows = await db
    .select()
    .from(automations)
    .where(live(workspaceId))
    .orderBy(asc(automations.createdAt));
  return view(db, rows);
}

export async function getAutomation(db: DbOrTx, workspaceId: string, id: string): Promise<Automation | null> {
  const rows = await db
    .select()
    .from(automations)
    .where(and(live(workspaceId), eq(automations.id, id)));
  return (await view(db, rows))[0] ?? null;
}

export async function countAutomations(db: DbOrTx, workspaceId: string): Promise<number> {
  const [row] = await db.select({ n: sql<number>`count(*)::int` }).from(automations).where(live(workspaceId));
  return row?.n ?? 0;
}

export async function createAutomation(
  db: DbOrTx,
  workspaceId: string,
  body: AutomationBody,
): Promise<Automation> {
  const [row] = await db
    .insert(automations)
    .values({
      workspaceId,
      name: body.name,
      trigger: body.trigger,
      action: body.action,
      enabled: body.enabled,
    })
    .returning();
  if (!row) throw new Error('automation insert returned nothing');
  return (await view(db, [row]))[0] as Automation;
}

export async function updateAutomation(
  db: DbOrTx,
  workspaceId: string,
  id: string,
  patch: AutomationPatch,
): Promise<Automation | null> {
  const [row] = await db
    .update(automations)
    .set({ ...patch, updatedAt: new Date() })
    .where(and(live(workspaceId), eq(automations.id, id)))
    .returning();
  return row ? ((await view(db, [row]))[0] ?? null) : null;
}

/** Deleted rules stop acting at once; their runs stay (the timeline keeps what they did). */
export async function deleteAutomation(db: DbOrTx, workspaceId: string, id: string): Promise<boolean> {
  const rows = await db
    .update(automations)
    .set({ deletedAt: new Date(), enabled: false, updatedAt: new Date() })
    .where(and(live(workspaceId), eq(automations.id, id)))
    .returning({ id: automations.id });
  return rows.length > 0;
}
