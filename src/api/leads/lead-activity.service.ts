import { and, desc, eq, ne } from 'drizzle-orm';
import type { Db, DbOrTx } from '../../db/client';
import { events, messages, notes, stageEvents } from '../../db/schema/index';
import { changeStage } from '../../timeline/stages';
import { findLead, type LeadRow } from './leads.repo';
import type { TimelineItem } from './leads.schemas';

export type MoveOutcome =
  | { ok: true; changed: boolean; from: string | null; to: string; lead: LeadRow }
  | { ok: false; error: 'not_found' | 'unknown_stage' };

/** `POST /v1/leads/:id/stage`: the API's way into `changeStage`, the one function all stage moves use. */
export async function moveLeadToStage(
  db: Db,
  workspaceId: string,
  leadId: string,
  input: { stage: string; reason?: string },
): Promise<MoveOutcome> {
  return db.transaction(async (tx) => {
    const change = await changeStage(tx, {
      workspaceId,
      leadId,
      toStage: input.stage,
      reason: input.reason ?? null,
      source: 'api',
    });
    if (!change.ok)
      return { ok: false, error: change.error === 'unknown_stage' ? 'unknown_stage' : 'not_found' };
    const lead = await findLead(tx, workspaceId, leadId);
    if (!lead) return { ok: false, error: 'not_found' };
    return { ok: true, changed: change.changed, from: change.from, to: change.to, lead };
  });
}

/**
 * Stage changes, notes, messages (both directions) and other events, newest first. `lead.stage_changed`
 * events are left out: the stage_events rows already show each change, with the same details.
 */
export async function leadTimeline(
  db: DbOrTx,
  workspaceId: string,
  leadId: string,
  limit: number,
): Promise<TimelineItem[] | null> {
  if (!(await findLead(db, workspaceId, leadId))) return null;
  const [stageRows, noteRows, messageRows, eventRows] = await Promise.all([
    db
      .select()
      .from(stageEvents)
      .where(and(eq(stageEvents.leadId, leadId), eq(stageEvents.workspaceId, workspaceId)))
      .orderBy(desc(stageEvents.at), desc(stageEvents.id))
      .limit(limit),
    db
      .select()
      .from(notes)
      .where(and(eq(notes.leadId, leadId), eq(notes.workspaceId, workspaceId)))
      .orderBy(desc(notes.createdAt))
      .limit(limit),
    db
      .select()
      .from(messages)
      .where(and(eq(messages.leadId, leadId), eq(messages.workspaceId, workspaceId)))
      .orderBy(desc(messages.createdAt))
      .limit(limit),
    db
      .select()
      .from(events)
      .where(
        and(
          eq(events.leadId, leadId),
          eq(events.workspaceId, workspaceId),
          ne(events.type, 'lead.stage_changed'),
        ),
      )
      .orderBy(desc(events.at), desc(events.id))
      .limit(limit),
  ]);
  const items: { at: Date; item: TimelineItem }[] = [
    ...stageRows.map((s) => ({
      at: s.at,
      item: {
        type: 'stage_changed' as const,
        at: s.at.toISOString(),
        from: s.fromStage,
        to: s.toStage,
        reason: s.reason,
        source: s.source,
      },
    })),
    ...noteRows.map((n) => ({
      at: n.createdAt,
      item: {
        type: 'note' as const,
        at: n.createdAt.toISOString(),
        id: n.id,
        body: n.body,
        author: n.author,
      },
    })),
    ...messageRows.map((m) => ({
      at: m.createdAt,
      item: {
        type: 'message' as const,
        at: m.createdAt.toISOString(),
        id: m.id,
        direction: m.direction,
        channel: m.channel,
        subject: m.subject,
        text: m.bodyText,
        status: m.status,
      },
    })),
    ...eventRows.map((e) => ({
      at: e.at,
      item: { type: 'event' as const, at: e.at.toISOString(), event: e.type, data: e.data },
    })),
  ];
  // A stable sort keeps each source's own newest-first order for equal timestamps.
  return items
    .sort((a, b) => b.at.getTime() - a.at.getTime())
    .slice(0, limit)
    .map((i) => i.item);
}
