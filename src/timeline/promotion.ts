import { and, eq, inArray } from 'drizzle-orm';
import { PROMOTE_FROM, PROMOTE_TO } from '../core/scoring';
import type { DbOrTx } from '../db/client';
import { stages } from '../db/schema/index';
import type { EventInput } from './events';
import { moveStage, stageChangedEvents } from './stage-moves';

/**
 * Score promotion's stage moves, which hand their `lead.stage_changed` events back instead of
 * recording them: `recordEvents` promotes the leads its own events qualify and records the result in
 * the same call, so this file never imports it (the circle events → promotion → events is one
 * function calling itself, not three files importing each other).
 */

/**
 * Moves these leads from `lead` to `qualified` with reason `score`, when the workspace still has
 * both stages and `lead` is an open stage (a renamed pipeline without them has no automatic
 * promotion). Returns the events to record.
 */
export async function promotionMoves(
  db: DbOrTx,
  workspaceId: string,
  leadIds: string[],
): Promise<{ promoted: number; events: EventInput[] }> {
  if (leadIds.length === 0) return { promoted: 0, events: [] };
  const found = await db
    .select({ key: stages.key, kind: stages.kind })
    .from(stages)
    .where(and(eq(stages.workspaceId, workspaceId), inArray(stages.key, [PROMOTE_FROM, PROMOTE_TO])));
  const from = found.find((s) => s.key === PROMOTE_FROM);
  if (from?.kind !== 'open' || !found.some((s) => s.key === PROMOTE_TO)) return { promoted: 0, events: [] };
  const input = {
    workspaceId,
    leadIds,
    toStage: PROMOTE_TO,
    reason: 'score',
    source: 'score' as const,
    onlyFrom: [PROMOTE_FROM],
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
