import { sql } from 'drizzle-orm';
import type { DbOrTx } from '../../db/client';
import { events } from '../../db/schema/index';
import { inChunks } from '../../lib/chunks';
import { applyEventScores } from '../pipeline/scoring.service';
import { queueEventDeliveries } from '../webhook-endpoints/fan-out';

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
const activityTypes = new Set([
  'message.sent',
  'lead.replied',
  'email.opened',
  'email.clicked',
  'linkedin.invite_accepted',
]);

/**
 * Records an event on the activity timeline, inside the caller's transaction, so the event exists
 * exactly when the change it describes does. Outbound webhooks and scoring hang off `recordEvents`.
 */
export async function recordEvent(db: DbOrTx, input: EventInput): Promise<number> {
  const [id] = await recordEvents(db, [input]);
  if (id === undefined) throw new Error('event insert returned nothing');
  return id;
}

/** Bulk form of `recordEvent` (one statement), for enrollment batches and other set-based writes. */
export async function recordEvents(db: DbOrTx, inputs: EventInput[]): Promise<number[]> {
  if (inputs.length === 0) return [];
  const now = new Date();
  const rows = await inChunks(inputs, 5000, (chunk) =>
    db
      .insert(events)
      .values(
        chunk.map((input) => ({
          workspaceId: input.workspaceId,
          type: input.type,
          leadId: input.leadId ?? null,
          enrollmentId: input.enrollmentId ?? null,
          stepRunId: input.stepRunId ?? null,
          data: input.data ?? {},
          at: input.at ?? now,
        })),
      )
      .returning({ id: events.id }),
  );
  // Activity moves forward only, to the event's own time (an imported, backdated event stays old).
  const latest = new Map<string, Date>();
  for (const input of inputs) {
    if (!input.leadId || !activityTypes.has(input.type)) continue;
    const at = input.at ?? now;
    const seen = latest.get(input.leadId);
    if (!seen || at > seen) latest.set(input.leadId, at);
  }
  if (latest.size > 0) {
    await db.execute(sql`
      update leads l set last_activity_at = greatest(l.last_activity_at, a.at)
      from unnest(${sql.param([...latest.keys()])}::uuid[], ${sql.param([...latest.values()].map((d) => d.toISOString()))}::timestamptz[]) as a(id, at)
      where l.id = a.id`);
  }
  // The webhook outbox: deliveries for subscribed endpoints, committed with the events themselves.
  await queueEventDeliveries(
    db,
    inputs,
    rows.map((r) => r.id),
    now,
  );
  // Scoring adds each event's points to its lead and may promote it (which records more events).
  await applyEventScores(db, inputs);
  return rows.map((r) => r.id);
}
