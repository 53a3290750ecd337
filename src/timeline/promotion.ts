import { eq } from 'drizzle-orm';
import { promotionStages } from '../core/scoring';
import type { DbOrTx } from '../db/client';
import { stages, workspaces } from '../db/schema/index';
import type { EventInput } from './events';
import { moveStage, stageChangedEvents } from './stage-moves';

/**
 * Score promotion's stage moves, which hand their `lead.stage_changed` events back instead of
 * recording them: `recordEvents` promotes the leads its own events qualify and records the result in
 * the same call, so this file never imports it (the circle events → promotion → events is one
 * function calling itself, not three files importing each other).
 */

/**
 * Moves these leads from the promotion's first stage to its second (`promotionStages`: named in the
 * scoring rules, else the first two open stages in pipeline order), with reason `score`. Returns the
 * events to record.
 */
export async function promotionMoves(
  db: DbOrTx,
  workspaceId: string,
  leadIds: string[],
): Promise<{ promoted: number; events: EventInput[] }> {
  if (leadIds.length === 0) return { promoted: 0, events: [] };
  const stagesOf = await promotionStagesOf(db, workspaceId);
  if (!stagesOf) return { promoted: 0, events: [] };
  const input = {
    workspaceId,
    leadIds,
    toStage: stagesOf.to,
    reason: 'score',
    source: 'score' as const,
    onlyFrom: [stagesOf.from],
  };
  const move = await moveStage(db, input);
  if (!move.known) return { promoted: 0, events: [] };
  const events = stageChangedEvents(input, move);
  return { promoted: events.length, events };
}

/** The promotions of leads found at or above their workspace's threshold, per workspace. */
export async function promoteScored(
  db: DbOrTx,
  found: { workspaceId: string; leadId: string }[],
): Promise<EventInput[]> {
  const byWorkspace = new Map<string, string[]>();
  for (const { workspaceId, leadId } of found)
    byWorkspace.set(workspaceId, [...(byWorkspace.get(workspaceId) ?? []), leadId]);
  const events: EventInput[] = [];
  // In id order, so two transactions promoting overlapping leads lock them in the same order.
  for (const [workspaceId, ids] of byWorkspace) {
    events.push(...(await promotionMoves(db, workspaceId, ids.sort())).events);
  }
  return events;
}

/** The workspace's promotion stages, from its pipeline and scoring rules (see `promotionStages`). */
export async function promotionStagesOf(db: DbOrTx, workspaceId: string) {
  // One round trip: the pipeline, each row with the workspace's scoring settings.
  const pipeline = await db
    .select({ key: stages.key, kind: stages.kind, position: stages.position, settings: workspaces.settings })
    .from(stages)
    .innerJoin(workspaces, eq(workspaces.id, stages.workspaceId))
    .where(eq(stages.workspaceId, workspaceId));
  const scoring = pipeline[0]?.settings.scoring;
  return promotionStages(
    { qualifyFrom: scoring?.qualifyFrom ?? null, qualifyTo: scoring?.qualifyTo ?? null },
    pipeline,
  );
}
