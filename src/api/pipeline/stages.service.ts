import { and, eq, inArray, isNull, sql } from 'drizzle-orm';
import type { Db, DbOrTx } from '../../db/client';
import { leads, stages } from '../../db/schema/index';
import type { LeadRow } from '../leads/leads.repo';
import { bulkChangeStage } from '../../timeline/stages';
import { listStages, type StageView } from '../../timeline/stage-moves';
import type { ReplaceStagesBody } from './pipeline.schemas';

export type ReplaceOutcome =
  | { ok: true; stages: StageView[]; moved: number }
  | { ok: false; error: 'stage_has_leads'; holding: { stage: string; leads: number }[] };

/**
 * Replaces the stage list (reorder, rename, add, remove) in one transaction. A removed stage that still
 * holds leads is refused unless `moveLeadsTo` names where they go; those leads then move with
 * ordinary stage events (source `api`, reason `stage_removed`), so the history stays complete.
 */
export async function replaceStages(db: Db, workspaceId: string, body: ReplaceStagesBody) {
  return db.transaction(async (tx): Promise<ReplaceOutcome> => {
    // Two concurrent replacements would each see the other's stages as "removed": serialise them.
    await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${`stages:${workspaceId}`}, 0))`);
    const current = await listStages(tx, workspaceId);
    const kept = new Set(body.stages.map((s) => s.key));
    const removed = current.map((s) => s.key).filter((key) => !kept.has(key));
    const counts = await countByStage(tx, workspaceId, removed);
    const holding = removed
      .map((stage) => ({ stage, leads: counts.get(stage) ?? 0 }))
      .filter((h) => h.leads > 0 && !body.moveLeadsTo?.[h.stage]);
    if (holding.length > 0) return { ok: false, error: 'stage_has_leads', holding };

    await tx.delete(stages).where(eq(stages.workspaceId, workspaceId));
    await tx.insert(stages).values(body.stages.map((s, position) => ({ ...s, position, workspaceId })));
    let moved = 0;
    for (const from of removed) {
      const to = body.moveLeadsTo?.[from];
      if (!to || !counts.get(from)) continue;
      const ids = await tx
        .select({ id: leads.id })
        .from(leads)
        .where(and(eq(leads.workspaceId, workspaceId), eq(leads.stage, from), isNull(leads.erasedAt)));
      const result = await bulkChangeStage(tx, {
        workspaceId,
        leadIds: ids.map((r) => r.id),
        toStage: to,
        reason: 'stage_removed',
        source: 'api',
        onlyFrom: [from],
      });
      if (result.ok) moved += result.moved.length;
    }
    return { ok: true, stages: await listStages(tx, workspaceId), moved };
  });
}

/** Live leads per stage key, for the given stages (all of them when `only` is omitted). */
export async function countByStage(db: DbOrTx, workspaceId: string, only?: string[]) {
  if (only?.length === 0) return new Map<string, number>();
  const rows = await db
    .select({ stage: leads.stage, count: sql<number>`count(*)::int` })
    .from(leads)
    .where(
      and(
        eq(leads.workspaceId, workspaceId),
        isNull(leads.erasedAt),
        only ? inArray(leads.stage, only) : undefined,
      ),
    )
    .groupBy(leads.stage);
  return new Map(rows.map((r) => [r.stage, r.count]));
}

/** `GET /v1/pipeline`: every stage with its lead count and its most recently updated leads. */
export async function pipelineBoard(db: DbOrTx, workspaceId: string, perStage: number) {
  const [stageList, counts] = await Promise.all([listStages(db, workspaceId), countByStage(db, workspaceId)]);
  const ids =
    perStage === 0
      ? []
      : (
          await db.execute<{ id: string }>(sql`
            select id from (
              select id, row_number() over (partition by stage order by updated_at desc, id desc) as n
              from leads where workspace_id = ${workspaceId} and erased_at is null
            ) ranked where n <= ${perStage}`)
        ).rows.map((r) => r.id);
  const rows: LeadRow[] =
    ids.length === 0
      ? []
      : await db.select().from(leads).where(inArray(leads.id, ids)).orderBy(sql`updated_at desc, id desc`);
  return stageList.map((stage) => ({
    ...stage,
    count: counts.get(stage.key) ?? 0,
    leads: rows.filter((l) => l.stage === stage.key),
  }));
}
