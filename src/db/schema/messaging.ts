import { sql } from 'drizzle-orm';
import {
  bigserial,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import { bytea, createdAt, id, tstz } from './columns';
import { leads } from './leads';
import { workspaces } from './workspaces';

/** Outbound and inbound messages on every channel. */
export const messages = pgTable(
  'messages',
  {
    id: id(),
    workspaceId: uuid('workspace_id')
      .notNull()
      .references(() => workspaces.id, { onDelete: 'cascade' }),
    leadId: uuid('lead_id').references(() => leads.id, { onDelete: 'set null' }),
    enrollmentId: uuid('enrollment_id'),
    stepRunId: uuid('step_run_id'),
    /**
     * The step run's generation when this row was written. A `sending` row from an earlier
     * generation belongs to an attempt the engine has since rescheduled, which a channel asks for
     * only when nothing reached the server, so a retry may reuse it. One from the current
     * generation may be on the wire.
     */
    stepRunGeneration: integer('step_run_generation'),
    direction: text('direction').$type<'outbound' | 'inbound'>().notNull(),
    channel: text('channel').$type<'email' | 'linkedin'>().notNull(),
    mailboxId: uuid('mailbox_id'),
    /** RFC 5322 Message-ID, with angle brackets. */
    messageId: text('message_id'),
    inReplyTo: text('in_reply_to'),
    references: text('references'),
    fromAddress: text('from_address'),
    toAddress: text('to_address'),
    subject: text('subject'),
    bodyText: text('body_text'),
    bodyHtml: text('body_html'),
    /** outbound: `sending | sent | failed`; inbound: `matched | unmatched`. */
    status: text('status').notNull(),
    /** Inbound classification: `human | auto_reply | bounce | unsubscribe | complaint | receipt`. */
    classification: text('classification'),
    headers: jsonb('headers').$type<Record<string, string>>(),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex('messages_message_id_uq')
      .on(t.workspaceId, t.messageId)
      .where(sql`${t.direction} = 'outbound' and ${t.messageId} is not null`),
    index('messages_lead_idx').on(t.leadId, t.createdAt),
    // Inbound only: outbound rows (nearly all of them) neither pay for it on insert nor tempt the
    // planner away from the thread lookup above when statistics are stale.
    index('messages_inbound_status_idx')
      .on(t.workspaceId, t.status, t.createdAt)
      .where(sql`${t.direction} = 'inbound'`),
    // An inbound email is stored once per Message-ID (ingest checks under an advisory lock). Unique,
    // so the dedupe lookup is planned onto it even while statistics still say there are no rows.
    uniqueIndex('messages_inbound_message_id_uq')
      .on(t.workspaceId, t.messageId)
      .where(sql`${t.direction} = 'inbound' and ${t.messageId} is not null`),
    index('messages_mailbox_idx').on(t.mailboxId, t.createdAt),
  ],
);

/** The activity timeline: feeds analytics, branches, scoring and outbound webhooks. */
export const events = pgTable(
  'events',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    workspaceId: uuid('workspace_id')
      .notNull()
      .references(() => workspaces.id, { onDelete: 'cascade' }),
    leadId: uuid('lead_id').references(() => leads.id, { onDelete: 'cascade' }),
    enrollmentId: uuid('enrollment_id'),
    stepRunId: uuid('step_run_id'),
    type: text('type').notNull(),
    data: jsonb('data').$type<Record<string, unknown>>().notNull().default({}),
    at: tstz('at').notNull().defaultNow(),
  },
  (t) => [
    index('events_lead_idx').on(t.leadId, t.at),
    // Lead-level events (lead.created, replies, opens…) have no enrollment: not indexed here.
    index('events_enrollment_idx').on(t.enrollmentId, t.type).where(sql`${t.enrollmentId} is not null`),
    index('events_ws_type_idx').on(t.workspaceId, t.type, t.at),
  ],
);

export const suppressionKinds = ['email', 'domain', 'linkedin'] as const;
export type SuppressionKind = (typeof suppressionKinds)[number];

export const suppressions = pgTable(
  'suppressions',
  {
    id: id(),
    workspaceId: uuid('workspace_id')
      .notNull()
      .references(() => workspaces.id, { onDelete: 'cascade' }),
    kind: text('kind').$type<SuppressionKind>().notNull(),
    /** Lower-cased email, domain, or normalised LinkedIn URL. */
    value: text('value').notNull(),
    reason: text('reason'),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex('suppressions_uq').on(t.workspaceId, t.kind, t.value)],
);

/** Dedupe of inbound webhook ids: a replayed `webhook-id` has one effect. */
export const inboundReceipts = pgTable(
  'inbound_receipts',
  {
    workspaceId: uuid('workspace_id')
      .notNull()
      .references(() => workspaces.id, { onDelete: 'cascade' }),
    webhookId: text('webhook_id').notNull(),
    receivedAt: tstz('received_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.workspaceId, t.webhookId] })],
);

/**
 * Inbound webhooks acknowledged with `Prefer: respond-async`: kept here (with their receipt already
 * claimed) until a worker applies them. A workspace with rows here starts no hand-off meanwhile.
 */
export const inboundQueue = pgTable(
  'inbound_queue',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    workspaceId: uuid('workspace_id')
      .notNull()
      .references(() => workspaces.id, { onDelete: 'cascade' }),
    kind: text('kind').$type<'email_json' | 'email_raw'>().notNull(),
    body: bytea('body').notNull(),
    receivedAt: tstz('received_at').notNull().defaultNow(),
    attempts: integer('attempts').notNull().default(0),
    lastError: text('last_error'),
  },
  (t) => [index('inbound_queue_ws_idx').on(t.workspaceId)],
);
