import { sql } from 'drizzle-orm';
import type { DbOrTx } from '../../db/client';
import { listStages } from '../../timeline/stage-moves';
import type { Funnel } from './analytics.schemas';
import { progressTargets } from './funnel';

const DEFAULT_PERIOD_MS = 30 * 86_400_000;

type StageRow = { stage: string; entered: number; reached: number; median: number | null };

/**
 * Conversion between stages over `[from, to]`, from stage_events alone (erased leads keep theirs, so
 * the counts survive erasure). Each lead counts once per stage, from its first entry in the period;
 * what happened after the entry counts even when it falls after `to`.
 */
export async function funnel(
  db: DbOrTx,
  workspaceId: string,
  period: { from?: Date; to?: Date },
): Promise<Funnel> {
  const to = period.to ?? new Date();
  const from = period.from ?? new Date(to.getTime() - DEFAULT_PERIOD_MS);
  const stageList = await listStages(db, workspaceId);
  const targets = progressTargets(stageList);
  const reach = Object.fromEntries([...targets].map(([key, t]) => [key, t.reach]));
  const result = await db.execute<StageRow>(sql`
    with entries as (
      select distinct on (lead_id, to_stage) id, lead_id, to_stage as stage, at
      from stage_events
      where workspace_id = ${workspaceId} and at >= ${from} and at <= ${to}
      order by lead_id, to_stage, at, id
    ), stays as (
      select e.stage,
        (select n.at from stage_events n
          where n.lead_id = e.lead_id and (n.at, n.id) > (e.at, e.id)
          order by n.at, n.id limit 1) - e.at as stay,
        exists (select 1 from stage_events n
          where n.lead_id = e.lead_id and (n.at, n.id) > (e.at, e.id)
            and n.to_stage in (select jsonb_array_elements_text(${JSON.stringify(reach)}::jsonb -> e.stage))
        ) as reached
      from entries e
    )
    select stage, count(*)::int as entered, (count(*) filter (where reached))::int as reached,
      percentile_cont(0.5) within group (order by extract(epoch from stay))
        filter (where stay is not null) as median
    from stays group by stage`);
  const byStage = new Map(result.rows.map((r) => [r.stage, r]));
  return {
    from: from.toISOString(),
    to: to.toISOString(),
    data: stageList.map((stage) => {
      const row = byStage.get(stage.key);
      const entered = row?.entered ?? 0;
      const next = targets.get(stage.key)?.next ?? null;
      const reachedNext = row?.reached ?? 0;
      return {
        key: stage.key,
        name: stage.name,
        kind: stage.kind,
        entered,
        nextStage: next,
        reachedNext,
        conversionRate: entered > 0 && next ? reachedNext / entered : null,
        medianSecondsInStage: row?.median === null || row?.median === undefined ? null : Number(row.median),
      };
    }),
  };
}
