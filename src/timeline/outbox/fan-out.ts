import { type SQL, sql } from 'drizzle-orm';
import type { DbOrTx } from '../../db/client';
import { ALL_EVENTS, outboundEventTypes } from './event-types';

/**
 * The outbox write, as the body of a CTE over `events` (a relation with the new events' `id`,
 * `workspace_id`, `type`, `lead_id`, `enrollment_id`, `data` and `at`): one `webhook_deliveries`
 * row per (event, subscribed endpoint), in the statement that records the events, so a delivery
 * exists exactly when its event commits. The dispatcher hands pending rows to the queue after commit.
 *
 * The payload is the Standard Webhooks shape `{type, timestamp, data}`; `data` carries the event's
 * own fields (from/to for a stage change, channel for a reply…) next to the ids and the lead as it
 * stood before this statement: read from the table through `ids` (a `uuid[]` of the events' leads),
 * or from `rows` when the statement creates those leads itself.
 */
export function outboxInsert(events: SQL, leads: { ids: SQL } | { rows: SQL }): SQL {
  // The snapshot's lead: the table, by primary key, or rows this same statement has just written
  // (a statement does not see its own inserts in the table).
  const lead =
    'rows' in leads
      ? sql`${leads.rows} l on l.id = ev.lead_id`
      : sql`leads l on l.id = ev.lead_id and l.id = any(${leads.ids})`;
  return sql`
    insert into webhook_deliveries (workspace_id, endpoint_id, event_id, event_type, payload)
    select ev.workspace_id, ep.id, ev.id, ev.type, jsonb_build_object(
      'type', ev.type,
      'timestamp', to_char(ev.at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
      'data', ev.data || jsonb_build_object(
        'eventId', ev.id,
        'workspaceId', ev.workspace_id,
        'leadId', ev.lead_id,
        'enrollmentId', ev.enrollment_id,
        'lead', case when l.id is null then null else jsonb_build_object(
          'id', l.id, 'email', l.email, 'linkedinUrl', l.linkedin_url, 'firstName', l.first_name,
          'lastName', l.last_name, 'company', l.company, 'title', l.title, 'stage', l.stage,
          'score', l.score, 'status', l.status, 'customFields', l.custom_fields) end))
    from ${events} ev
    join webhook_endpoints ep on ep.workspace_id = ev.workspace_id and ep.deleted_at is null and ep.enabled
      and (ev.type = any(ep.events) or ${ALL_EVENTS} = any(ep.events))
    left join ${lead}
    where ev.type = any(${sql.param([...outboundEventTypes])}::text[])`;
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
