import { type SQL, sql } from 'drizzle-orm';
import type { DbOrTx } from '../db/client';
import { unscoredEventTypes } from '../core/scoring';
import { promoteScored } from './promotion';
import { outboxInsert } from './outbox/fan-out';
import { automationTriggerInsert } from './automation-triggers';
import { prepared } from '../db/prepared';

export type EventInput = {
  workspaceId: string;
  type: string;
  leadId?: string | null;
  enrollmentId?: string | null;
  stepRunId?: string | null;
  data?: Record<string, unknown>;
  at?: Date;
};

/** Event types that count as lead activity for the `staleDays` filter and clean-up. */
const activityTypes = [
  'message.sent',
  'lead.replied',
  'email.opened',
  'email.clicked',
  'linkedin.invite_accepted',
];

/**
 * Records an event on the activity timeline, inside the caller's transaction, so the event exists
 * exactly when the change it describes does. Outbound webhooks and scoring hang off `recordEvents`.
 */
export async function recordEvent(db: DbOrTx, input: EventInput): Promise<number> {
  const [id] = await recordEvents(db, [input]);
  if (id === undefined) throw new Error('event insert returned nothing');
  return id;
}

/**
 * Bulk form of `recordEvent`. One statement writes the events, moves their leads' activity forward
 * (to the event's own time: an imported, backdated event stays old), adds their scoring points, and
 * queues a webhook delivery per subscribed endpoint (the outbox). Only a lead whose new score reaches
 * the qualification threshold costs more statements: its promotion. Returns the ids in input order.
 */
export async function recordEvents(db: DbOrTx, inputs: EventInput[]): Promise<number[]> {
  if (inputs.length === 0) return [];
  const recorded = eventsSql(inputs);
  const { rows } = await db.execute<RecordedEvents>(
    prepared(sql`with ${recorded.ctes} select ${recorded.ids} as ids, ${recorded.promote} as promote`),
  );
  return settleRecordedEvents(db, inputs.length, rows[0]);
}

export type RecordedEvents = { ids: (number | string)[] | null; promote: Promotion[] | null };
type Promotion = { workspaceId: string; leadId: string };

/**
 * The CTEs (`ev_input`, `ev_written`, `ev_per_lead`, `ev_touched`, `ev_outbox`, `ev_automation`) that record events,
 * for a statement that does more in the same round trip; `ids` and `promote` are the scalar
 * sub-selects whose values `settleRecordedEvents` takes.
 */
export function eventsSql(
  inputs: EventInput[],
  /** Keeps only the inputs this predicate (over the `x` row of an input) holds for. */
  only: SQL = sql`true`,
): { ctes: SQL; ids: SQL; promote: SQL } {
  const now = new Date();
  const rows = inputs.map((input, ord) => ({
    ord,
    workspace_id: input.workspaceId,
    type: input.type,
    lead_id: input.leadId ?? null,
    enrollment_id: input.enrollmentId ?? null,
    step_run_id: input.stepRunId ?? null,
    data: input.data ?? {},
    at: input.at ?? now,
  }));
  // Leads are reached by primary key (`= any`), so stale statistics cannot turn this into a scan.
  const leadIds = sql`${sql.param([...new Set(inputs.flatMap((i) => (i.leadId ? [i.leadId] : [])))])}::uuid[]`;
  const ctes = sql`
    ev_input as materialized (
      select nextval('events_id_seq') as id, x.*
      from json_to_recordset(${JSON.stringify(rows)}::json) as x(ord int, workspace_id uuid, type text,
        lead_id uuid, enrollment_id uuid, step_run_id uuid, data jsonb, at timestamptz)
      where ${only}
    ), ev_written as (
      insert into events (id, workspace_id, type, lead_id, enrollment_id, step_run_id, data, at)
      select id, workspace_id, type, lead_id, enrollment_id, step_run_id, data, at from ev_input
    ), ev_per_lead as (
      select i.lead_id,
        max(i.at) filter (where i.type = any(${sql.param(activityTypes)}::text[])) as active_at,
        coalesce(sum((w.settings #>> array['scoring', 'events', i.type])::int)
          filter (where i.type <> all(${sql.param([...unscoredEventTypes])}::text[])), 0)::int as points
      from ev_input i join workspaces w on w.id = i.workspace_id
      where i.lead_id is not null
      group by i.lead_id
    ), ev_touched as (
      update leads l set
        last_activity_at = greatest(l.last_activity_at, p.active_at),
        score = l.score + case when l.erased_at is null then p.points else 0 end
      from ev_per_lead p
      where l.id = p.lead_id and l.id = any(${leadIds}) and (p.active_at is not null or p.points <> 0)
      returning l.id, l.workspace_id, l.score, l.stage, l.erased_at, p.points
    ), ev_outbox as (${outboxInsert(sql`ev_input`, { ids: leadIds })}
    ), ev_automation as (${automationTriggerInsert(sql`ev_input`, { touched: sql`ev_touched` })})`;
  return {
    ctes,
    ids: sql`(select array_agg(id order by ord) from ev_input)`,
    promote: sql`(select json_agg(json_build_object('workspaceId', t.workspace_id, 'leadId', t.id))
      from ev_touched t join workspaces w on w.id = t.workspace_id
      where t.points <> 0 and t.erased_at is null
        -- The promotion's first stage: named in the rules, else the pipeline's first open stage.
        and t.stage = coalesce(w.settings #>> '{scoring,qualifyFrom}', (select s.key from stages s
          where s.workspace_id = t.workspace_id and s.kind = 'open' order by s.position limit 1))
        and t.score >= (w.settings #>> '{scoring,qualifyThreshold}')::int)`,
  };
}

/** Checks every event was written and promotes the leads that reached their threshold. */
export async function settleRecordedEvents(
  db: DbOrTx,
  expected: number,
  row: RecordedEvents | undefined,
): Promise<number[]> {
  const ids = (row?.ids ?? []).map(Number);
  if (ids.length !== expected) throw new Error(`recorded ${ids.length} of ${expected} events`);
  // A promotion records `lead.stage_changed`, which is never scored: this recursion ends.
  const promoted = await promoteScored(db, row?.promote ?? []);
  if (promoted.length > 0) await recordEvents(db, promoted);
  return ids;
}
