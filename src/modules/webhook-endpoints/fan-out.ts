import { and, arrayOverlaps, inArray, isNull, sql } from 'drizzle-orm';
import type { DbOrTx } from '../../db/client';
import { leads, webhookDeliveries, webhookEndpoints } from '../../db/schema/index';
import { chunks } from '../../lib/chunks';
import { ALL_EVENTS, isOutboundEventType } from './event-types';

export type RecordedEvent = {
  id: number;
  workspaceId: string;
  type: string;
  leadId: string | null;
  enrollmentId: string | null;
  data: Record<string, unknown>;
  at: Date;
};

/** The lead as a CRM wants it in every payload, so a receiver never has to call back to sync. */
export type LeadSnapshot = {
  id: string;
  email: string | null;
  linkedinUrl: string | null;
  firstName: string | null;
  lastName: string | null;
  company: string | null;
  title: string | null;
  stage: string;
  score: number;
  status: string;
  customFields: Record<string, unknown>;
};

/** An event as `recordEvents` takes it. */
export type EventLike = {
  workspaceId: string;
  type: string;
  leadId?: string | null;
  enrollmentId?: string | null;
  data?: Record<string, unknown>;
  at?: Date;
};

/**
 * The outbox write: one `webhook_deliveries` row per (event, subscribed endpoint), in the caller's
 * transaction, so a delivery exists exactly when its event commits. The dispatcher hands pending
 * rows to the queue after commit. Costs nothing for event types no endpoint can subscribe to.
 * `ids[i]` is the stored id of `inputs[i]`; `now` stands in for a missing `at`.
 */
export async function queueEventDeliveries(
  db: DbOrTx,
  inputs: EventLike[],
  ids: number[],
  now: Date,
): Promise<void> {
  const outbound = inputs.flatMap((e, i): RecordedEvent[] => {
    const id = ids[i];
    if (id === undefined || !isOutboundEventType(e.type)) return [];
    return [
      {
        id,
        workspaceId: e.workspaceId,
        type: e.type,
        leadId: e.leadId ?? null,
        enrollmentId: e.enrollmentId ?? null,
        data: e.data ?? {},
        at: e.at ?? now,
      },
    ];
  });
  if (outbound.length === 0) return;
  const types = [...new Set(outbound.map((e) => e.type)), ALL_EVENTS];
  const endpoints = await db
    .select({
      id: webhookEndpoints.id,
      workspaceId: webhookEndpoints.workspaceId,
      events: webhookEndpoints.events,
    })
    .from(webhookEndpoints)
    .where(
      and(
        inArray(webhookEndpoints.workspaceId, [...new Set(outbound.map((e) => e.workspaceId))]),
        isNull(webhookEndpoints.deletedAt),
        arrayOverlaps(webhookEndpoints.events, types),
      ),
    );
  if (endpoints.length === 0) return;
  const snapshots = await leadSnapshots(db, outbound);
  const rows = outbound.flatMap((event) =>
    endpoints
      .filter((ep) => ep.workspaceId === event.workspaceId)
      .filter((ep) => ep.events.includes(event.type) || ep.events.includes(ALL_EVENTS))
      .map((ep) => ({
        workspaceId: event.workspaceId,
        endpointId: ep.id,
        eventId: event.id,
        eventType: event.type,
        payload: eventPayload(event, event.leadId ? (snapshots.get(event.leadId) ?? null) : null),
      })),
  );
  for (const chunk of chunks(rows, 2000)) await db.insert(webhookDeliveries).values(chunk);
}

/**
 * The Standard Webhooks payload shape `{type, timestamp, data}`. `data` carries the event's own
 * fields (from/to for a stage change, channel for a reply…) next to the ids and the lead snapshot.
 */
export function eventPayload(event: RecordedEvent, lead: LeadSnapshot | null): Record<string, unknown> {
  return {
    type: event.type,
    timestamp: event.at.toISOString(),
    data: {
      ...event.data,
      eventId: event.id,
      workspaceId: event.workspaceId,
      leadId: event.leadId,
      enrollmentId: event.enrollmentId,
      lead,
    },
  };
}

async function leadSnapshots(db: DbOrTx, recorded: RecordedEvent[]): Promise<Map<string, LeadSnapshot>> {
  const ids = [...new Set(recorded.map((e) => e.leadId).filter((id): id is string => id !== null))];
  if (ids.length === 0) return new Map();
  const rows = await db
    .select({
      id: leads.id,
      email: leads.email,
      linkedinUrl: leads.linkedinUrl,
      firstName: leads.firstName,
      lastName: leads.lastName,
      company: leads.company,
      title: leads.title,
      stage: leads.stage,
      score: leads.score,
      status: leads.status,
      customFields: leads.customFields,
    })
    .from(leads)
    .where(inArray(leads.id, ids));
  return new Map(rows.map((r) => [r.id, r]));
}

/** For lead erasure (GDPR): payloads still waiting to be delivered lose their lead snapshot. */
export async function scrubPendingLeadPayloads(
  db: DbOrTx,
  workspaceId: string,
  leadId: string,
): Promise<void> {
  await db.execute(sql`
    update webhook_deliveries set payload = jsonb_set(payload, '{data,lead}', 'null'::jsonb)
    where workspace_id = ${workspaceId} and status = 'pending' and payload->'data'->>'leadId' = ${leadId}`);
}
