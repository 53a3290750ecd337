import { sql } from 'drizzle-orm';
import { bigint, boolean, index, integer, jsonb, pgTable, text, uuid } from 'drizzle-orm/pg-core';
import { createdAt, id, tstz } from './columns';
import { workspaces } from './workspaces';

export const webhookEndpoints = pgTable(
  'webhook_endpoints',
  {
    id: id(),
    workspaceId: uuid('workspace_id')
      .notNull()
      .references(() => workspaces.id, { onDelete: 'cascade' }),
    url: text('url').notNull(),
    events: text('events').array().notNull(),
    /** `whsec_…`, AES-256-GCM encrypted; shown once at creation. */
    secretEnc: text('secret_enc').notNull(),
    /** After a rotation, the secret before it: deliveries carry both signatures until it expires. */
    previousSecretEnc: text('previous_secret_enc'),
    previousSecretExpiresAt: tstz('previous_secret_expires_at'),
    description: text('description'),
    /** A disabled endpoint gets no new deliveries; ones already pending still go out. */
    enabled: boolean('enabled').notNull().default(true),
    createdAt: createdAt(),
    deletedAt: tstz('deleted_at'),
  },
  (t) => [index('webhook_endpoints_ws_idx').on(t.workspaceId)],
);

export const webhookDeliveries = pgTable(
  'webhook_deliveries',
  {
    id: id(),
    workspaceId: uuid('workspace_id').notNull(),
    endpointId: uuid('endpoint_id')
      .notNull()
      .references(() => webhookEndpoints.id, { onDelete: 'cascade' }),
    /** events.id is a bigserial, so this is a bigint too. */
    eventId: bigint('event_id', { mode: 'number' }),
    eventType: text('event_type').notNull(),
    payload: jsonb('payload').$type<Record<string, unknown>>().notNull(),
    status: text('status').$type<'pending' | 'succeeded' | 'failed'>().notNull().default('pending'),
    attempts: integer('attempts').notNull().default(0),
    /** `attempts` when the delivery was last replayed: the retry budget counts from there. */
    replayedAtAttempt: integer('replayed_at_attempt').notNull().default(0),
    createdAt: createdAt(),
    deliveredAt: tstz('delivered_at'),
    /** When the dispatcher last handed the delivery to the queue (the outbox's "sent to Redis" mark). */
    enqueuedAt: tstz('enqueued_at'),
  },
  (t) => [
    index('webhook_deliveries_endpoint_idx').on(t.endpointId, t.createdAt),
    index('webhook_deliveries_pending_idx').on(t.createdAt).where(sql`${t.status} = 'pending'`),
  ],
);

export const webhookAttempts = pgTable(
  'webhook_attempts',
  {
    id: id(),
    deliveryId: uuid('delivery_id')
      .notNull()
      .references(() => webhookDeliveries.id, { onDelete: 'cascade' }),
    attempt: integer('attempt').notNull(),
    statusCode: integer('status_code'),
    error: text('error'),
    durationMs: integer('duration_ms'),
    at: tstz('at').notNull().defaultNow(),
  },
  (t) => [index('webhook_attempts_delivery_idx').on(t.deliveryId, t.attempt)],
);
