import { sql } from 'drizzle-orm';
import {
  bigint,
  bigserial,
  boolean,
  index,
  jsonb,
  pgTable,
  text,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import type { AutomationAction, AutomationTrigger } from '../../core/automations';
import { createdAt, id, tstz, updatedAt } from './columns';
import { leads } from './leads';
import { workspaces } from './workspaces';

/** A workspace's rule: when `trigger` happens to a lead, do `action` (once per lead). */
export const automations = pgTable(
  'automations',
  {
    id: id(),
    workspaceId: uuid('workspace_id')
      .notNull()
      .references(() => workspaces.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    trigger: jsonb('trigger').$type<AutomationTrigger>().notNull(),
    action: jsonb('action').$type<AutomationAction>().notNull(),
    enabled: boolean('enabled').notNull().default(true),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
    deletedAt: tstz('deleted_at'),
  },
  (t) => [index('automations_ws_idx').on(t.workspaceId).where(sql`${t.enabled} and ${t.deletedAt} is null`)],
);

export const automationRunStatuses = ['pending', 'applied', 'skipped', 'failed'] as const;
export type AutomationRunStatus = (typeof automationRunStatuses)[number];

/**
 * One row per (rule, lead), written in the statement that records the triggering event, so a
 * trigger is never lost and never applied twice; the automation worker applies pending rows.
 */
export const automationRuns = pgTable(
  'automation_runs',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    workspaceId: uuid('workspace_id').notNull(),
    automationId: uuid('automation_id')
      .notNull()
      .references(() => automations.id, { onDelete: 'cascade' }),
    leadId: uuid('lead_id')
      .notNull()
      .references(() => leads.id, { onDelete: 'cascade' }),
    eventId: bigint('event_id', { mode: 'number' }),
    status: text('status').$type<AutomationRunStatus>().notNull().default('pending'),
    result: jsonb('result').$type<Record<string, unknown>>(),
    createdAt: createdAt(),
    appliedAt: tstz('applied_at'),
  },
  (t) => [
    uniqueIndex('automation_runs_once_uq').on(t.automationId, t.leadId),
    index('automation_runs_pending_idx').on(t.id).where(sql`${t.status} = 'pending'`),
    index('automation_runs_lead_idx').on(t.leadId),
  ],
);
