import { and, eq } from 'drizzle-orm';
import type { DbOrTx } from '../../db/client';
import { leads, stageEvents, stages } from '../../db/schema/index';
import { recordEvent } from '../events/events.service';

export type StageChangeSource = 'api' | 'engine' | 'reply' | 'score' | 'cleanup' | 'import';

export type StageChange =
  | { ok: true; changed: boolean; from: string | null; to: string }
  | { ok: false; error: 'unknown_stage' | 'lead_not_found' };

/**
 * Moves a lead to a stage and records the stage event (and a `lead.stage_changed` event), in the
 * caller's transaction. The one function every stage change goes through: API, engine, replies, scoring.
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
  const [stage] = await db
    .select({ key: stages.key })
    .from(stages)
    .where(and(eq(stages.workspaceId, input.workspaceId), eq(stages.key, input.toStage)));
  if (!stage) return { ok: false, error: 'unknown_stage' };
  const [lead] = await db
    .select({ stage: leads.stage })
    .from(leads)
    .where(and(eq(leads.id, input.leadId), eq(leads.workspaceId, input.workspaceId)))
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
