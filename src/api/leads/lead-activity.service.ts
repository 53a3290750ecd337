import { and, eq, ne, sql } from 'drizzle-orm';
import type { AnyPgColumn } from 'drizzle-orm/pg-core';
import { z } from 'zod';
import { InvalidCursorError } from '../../db/keyset';
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

/** Where a timeline page ends: the last item's time (ms), source and id, opaque to clients. */
const TimelineCursorJson = z.object({
  t: z.iso.datetime(),
  k: z.number().int().min(0).max(3),
  id: z.string().max(64),
});
type TimelineCursor = { at: Date; kind: number; id: string };

const encodeTimelineCursor = (c: TimelineCursor) =>
  Buffer.from(JSON.stringify({ t: c.at.toISOString(), k: c.kind, id: c.id })).toString('base64url');

function decodeTimelineCursor(cursor: string | undefined): TimelineCursor | null {
  if (!cursor) return null;
  try {
    const parsed = TimelineCursorJson.parse(JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')));
    return { at: new Date(parsed.t), kind: parsed.k, id: parsed.id };
  } catch {
    throw new InvalidCursorError();
  }
}

/**
 * The rows of one source after `cursor`, in timeline order. The order is (time to the millisecond,
 * source, id as text in byte order), newest first, the same in SQL and in the merge below, so a page
 * boundary between equal timestamps neither repeats nor skips an item.
 */
function afterCursor(at: AnyPgColumn, id: AnyPgColumn, kind: number, cursor: TimelineCursor | null) {
  const ms = sql`date_trunc('milliseconds', ${at})`;
  const key = sql`(${id})::text collate "C"`;
  const where = !cursor
    ? undefined
    : kind < cursor.kind
      ? sql`${ms} <= ${cursor.at}`
      : kind > cursor.kind
        ? sql`${ms} < ${cursor.at}`
        : sql`(${ms} < ${cursor.at} or (${ms} = ${cursor.at} and ${key} < ${cursor.id}))`;
  return { where, orderBy: [sql`${ms} desc`, sql`${key} desc`] };
}

/** `leadTimelinePage`'s first page, as the web app shows it. */
export async function leadTimeline(
  db: DbOrTx,
  workspaceId: string,
  leadId: string,
  limit: number,
): Promise<TimelineItem[] | null> {
  return (await leadTimelinePage(db, workspaceId, leadId, { limit }))?.data ?? null;
}

/**
 * Stage changes, notes, messages (both directions) and other events, newest first, a page of at most
 * `limit` after `cursor`. `lead.stage_changed` events are left out: the stage_events rows already show
 * each change, with the same details. Null: no such lead.
 */
export async function leadTimelinePage(
  db: DbOrTx,
  workspaceId: string,
  leadId: string,
  query: { limit: number; cursor?: string | undefined },
): Promise<{ data: TimelineItem[]; nextCursor: string | null } | null> {
  const cursor = decodeTimelineCursor(query.cursor);
  if (!(await findLead(db, workspaceId, leadId))) return null;
  const limit = query.limit + 1;
  const [stagePage, notePage, messagePage, eventPage] = [
    afterCursor(stageEvents.at, stageEvents.id, 0, cursor),
    afterCursor(notes.createdAt, notes.id, 1, cursor),
    afterCursor(messages.createdAt, messages.id, 2, cursor),
    afterCursor(events.at, events.id, 3, cursor),
  ];
  const [stageRows, noteRows, messageRows, eventRows] = await Promise.all([
    db
      .select()
      .from(stageEvents)
      .where(and(eq(stageEvents.leadId, leadId), eq(stageEvents.workspaceId, workspaceId), stagePage.where))
      .orderBy(...stagePage.orderBy)
      .limit(limit),
    db
      .select()
      .from(notes)
      .where(and(eq(notes.leadId, leadId), eq(notes.workspaceId, workspaceId), notePage.where))
      .orderBy(...notePage.orderBy)
      .limit(limit),
    db
      .select()
      .from(messages)
      .where(and(eq(messages.leadId, leadId), eq(messages.workspaceId, workspaceId), messagePage.where))
      .orderBy(...messagePage.orderBy)
      .limit(limit),
    db
      .select()
      .from(events)
      .where(
        and(
          eq(events.leadId, leadId),
          eq(events.workspaceId, workspaceId),
          ne(events.type, 'lead.stage_changed'),
          eventPage.where,
        ),
      )
      .orderBy(...eventPage.orderBy)
      .limit(limit),
  ]);
  const items: (TimelineCursor & { item: TimelineItem })[] = [
    ...stageRows.map((s) => ({
      at: s.at,
      kind: 0,
      id: String(s.id),
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
      kind: 1,
      id: n.id,
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
      kind: 2,
      id: m.id,
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
      kind: 3,
      id: String(e.id),
      item: { type: 'event' as const, at: e.at.toISOString(), event: e.type, data: e.data },
    })),
  ];
  const sorted = items.sort(
    (a, b) => b.at.getTime() - a.at.getTime() || b.kind - a.kind || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0),
  );
  const pageItems = sorted.slice(0, query.limit);
  const last = pageItems[pageItems.length - 1];
  return {
    data: pageItems.map((i) => i.item),
    nextCursor: sorted.length > query.limit && last ? encodeTimelineCursor(last) : null,
  };
}
