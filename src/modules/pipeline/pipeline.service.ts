import { and, asc, eq, isNull, sql } from 'drizzle-orm';
import type { DbOrTx } from '../../db/client';
import { leads, type StageKind, stageEvents, stages } from '../../db/schema/index';
import { recordEvent, recordEvents } from '../events/events.service';

export type StageChangeSource = 'api' | 'engine' | 'reply' | 'score' | 'cleanup' | 'import';

export type StageChange =
  | { ok: true; changed: boolean; from: string | null; to: string }
  | { ok: false; error: 'unknown_stage' | 'lead_not_found' };

export type StageView = { key: string; name: string; kind: StageKind; position: number };

async function stageExists(db: DbOrTx, workspaceId: string, key: string): Promise<boolean> {
  const [stage] = await db
    .select({ key: stages.key })
    .from(stages)
    .where(and(eq(stages.workspaceId, workspaceId), eq(stages.key, key)));
  return stage !== undefined;
}

/** The workspace's stages in pipeline order. */
export async function listStages(db: DbOrTx, workspaceId: string): Promise<StageView[]> {
  return db
    .select({ key: stages.key, name: stages.name, kind: stages.kind, position: stages.position })
    .from(stages)
    .where(eq(stages.workspaceId, workspaceId))
    .orderBy(asc(stages.position));
}

/**
 * Moves a lead to a stage and records the stage event (and a `lead.stage_changed` event), in the
 * caller's transaction. The one function every single stage change goes through: API, engine,
 * replies, scoring. An erased lead is not found: it no longer moves.
 */
export async function changeStage(
  db: DbOrTx,
  input: {
    workspaceId: string;
    leadId: string;
    toStage: string;
    reason?: string | null;
    source: StageChangeSource;
    at?: Date;
  },
): Promise<StageChange> {
  if (!(await stageExists(db, input.workspaceId, input.toStage)))
    return { ok: false, error: 'unknown_stage' };
  const [lead] = await db
    .select({ stage: leads.stage })
    .from(leads)
    .where(and(eq(leads.id, input.leadId), eq(leads.workspaceId, input.workspaceId), isNull(leads.erasedAt)))
    .for('update');
  if (!lead) return { ok: false, error: 'lead_not_found' };
  if (lead.stage === input.toStage) return { ok: true, changed: false, from: lead.stage, to: input.toStage };
  const at = input.at ?? new Date();
  await db.update(leads).set({ stage: input.toStage, updatedAt: at }).where(eq(leads.id, input.leadId));
  await db.insert(stageEvents).values({
    workspaceId: input.workspaceId,
    leadId: input.leadId,
    fromStage: lead.stage,
    toStage: input.toStage,
    reason: input.reason ?? null,
    source: input.source,
    at,
  });
  await recordEvent(db, {
    workspaceId: input.workspaceId,
    type: 'lead.stage_changed',
    leadId: input.leadId,
    data: { from: lead.stage, to: input.toStage, reason: input.reason ?? null, source: input.source },
    at,
  });
  return { ok: true, changed: true, from: lead.stage, to: input.toStage };
}

export type BulkStageChange =
  | { ok: true; moved: { leadId: string; from: string }[] }
  | { ok: false; error: 'unknown_stage' };

/**
 * The set-based form of `changeStage` for many leads at once (clean-up, score promotion, imports,
 * removed stages): one statement locks, moves and writes the stage events, one more writes the
 * `lead.stage_changed` events. Leads already at `toStage`, erased, or (with `onlyFrom`) elsewhere are skipped.
 */
export async function bulkChangeStage(
  db: DbOrTx,
  input: {
    workspaceId: string;
    leadIds: string[];
    toStage: string;
    reason?: string | null;
    source: StageChangeSource;
    onlyFrom?: string[];
    at?: Date;
  },
): Promise<BulkStageChange> {
  if (!(await stageExists(db, input.workspaceId, input.toStage)))
    return { ok: false, error: 'unknown_stage' };
  if (input.leadIds.length === 0) return { ok: true, moved: [] };
  const at = input.at ?? new Date();
  const reason = input.reason ?? null;
  const fromFilter = input.onlyFrom ? sql`and stage = any(${sql.param(input.onlyFrom)}::text[])` : sql``;
  // Locking in id order keeps two concurrent bulk moves from deadlocking each other.
  const result = await db.execute<{ id: string; from_stage: string }>(sql`
    with locked as (
      select id, stage from leads
      where workspace_id = ${input.workspaceId} and id = any(${sql.param(input.leadIds)}::uuid[])
        and erased_at is null and stage <> ${input.toStage} ${fromFilter}
      order by id
      for update
    ), moved as (
      update leads l set stage = ${input.toStage}, updated_at = ${at}
      from locked where l.id = locked.id
      returning l.id, locked.stage as from_stage
    ), history as (
      insert into stage_events (workspace_id, lead_id, from_stage, to_stage, reason, source, at)
      select ${input.workspaceId}, id, from_stage, ${input.toStage}, ${reason}, ${input.source}, ${at}
      from moved
    )
    select id, from_stage from moved`);
  const moved = result.rows.map((r) => ({ leadId: r.id, from: r.from_stage }));
  await recordEvents(
    db,
    moved.map((m) => ({
      workspaceId: input.workspaceId,
      type: 'lead.stage_changed',
      leadId: m.leadId,
      data: { from: m.from, to: input.toStage, reason, source: input.source },
      at,
    })),
  );
  return { ok: true, moved };
}
