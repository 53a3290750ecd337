import type { DbOrTx } from '../db/client';
import { stopForClosedStage } from './enrollment-stops';
import { recordEvents } from './events';
import { moveStage, type StageChangeSource, type StageMoveInput, stageChangedEvents } from './stage-moves';

export type StageChange =
  | { ok: true; changed: boolean; from: string | null; to: string }
  | { ok: false; error: 'unknown_stage' | 'lead_not_found' };

/**
 * Moves a lead to a stage and records the stage event (and a `lead.stage_changed` event), in the
 * caller's transaction. A move into a won or lost stage also stops the lead's cadences
 * (`stopForClosedStage`). Every single stage change goes through it or `moveStage`: API, engine,
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
    forwardOnly?: boolean;
    untouchedDuring?: string;
    byEnrollment?: string;
    at?: Date;
  },
): Promise<StageChange> {
  const move = { ...input, leadIds: [input.leadId] };
  const stops = await stopForClosedStage(db, move);
  const result = await moveStage(db, move);
  if (!result.known) return { ok: false, error: 'unknown_stage' };
  const [lead] = result.leads;
  if (!lead) return { ok: false, error: 'lead_not_found' };
  await recordEvents(db, [...stageChangedEvents(move, result), ...stops.events]);
  return { ok: true, changed: lead.moved, from: lead.stage, to: input.toStage };
}

export type BulkStageChange =
  | { ok: true; moved: { leadId: string; from: string }[] }
  | { ok: false; error: 'unknown_stage' };

/**
 * The set-based form of `changeStage` for many leads at once (clean-up, score promotion, imports,
 * removed stages): one statement locks, moves and writes the stage events, one more writes the
 * `lead.stage_changed` events. Leads already at `toStage`, erased, or (with `onlyFrom`) elsewhere are skipped.
 */
export async function bulkChangeStage(db: DbOrTx, input: StageMoveInput): Promise<BulkStageChange> {
  const stops = await stopForClosedStage(db, input);
  const result = await moveStage(db, input);
  if (!result.known) return { ok: false, error: 'unknown_stage' };
  await recordEvents(db, [...stageChangedEvents(input, result), ...stops.events]);
  const moved = result.leads.filter((l) => l.moved).map((l) => ({ leadId: l.id, from: l.stage }));
  return { ok: true, moved };
}
