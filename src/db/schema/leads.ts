import { sql } from 'drizzle-orm';
import {
  bigserial,
  index,
  integer,
  numeric,
  jsonb,
  pgTable,
  primaryKey,
  text,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import { createdAt, id, tstz, updatedAt } from './columns';
import { workspaces } from './workspaces';

export const leadStatuses = ['active', 'unsubscribed', 'bounced', 'do_not_contact'] as const;
export type LeadStatus = (typeof leadStatuses)[number];

export const leads = pgTable(
  'leads',
  {
    id: id(),
    workspaceId: uuid('workspace_id')
      .notNull()
      .references(() => workspaces.id, { onDelete: 'cascade' }),
    email: text('email'),
    /** lower(email): the dedup key, so `Jane@X.com` and `jane@x.com` are one lead. */
    emailKey: text('email_key'),
    /** Normalised profile URL (`https://www.linkedin.com/in/<slug>`), also the dedup key. */
    linkedinUrl: text('linkedin_url'),
    firstName: text('first_name'),
    lastName: text('last_name'),
    company: text('company'),
    /** Domain of the email address, used by `stopCompanyOnReply`. */
    companyDomain: text('company_domain'),
    title: text('title'),
    timezone: text('timezone'),
    /** ISO 3166-1 alpha-2: whose public holidays its business days and sending days skip. */
    country: text('country'),
    customFields: jsonb('custom_fields').$type<Record<string, unknown>>().notNull().default({}),
    stage: text('stage').notNull().default('lead'),
    score: integer('score').notNull().default(0),
    status: text('status').$type<LeadStatus>().notNull().default('active'),
    lastActivityAt: tstz('last_activity_at').notNull().defaultNow(),
    /** When the lead entered its current stage: set by every stage move and at creation. */
    stageEnteredAt: tstz('stage_entered_at').notNull().defaultNow(),
    /** The deal's amount in `dealCurrency` (the board's column totals); null: no deal value. */
    dealValue: numeric('deal_value', { precision: 16, scale: 2, mode: 'number' }),
    dealCurrency: text('deal_currency'),
    /** Who works the lead: free text (a name or an email), as tasks' assignee. */
    owner: text('owner'),
    erasedAt: tstz('erased_at'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex('leads_email_uq').on(t.workspaceId, t.emailKey).where(sql`${t.emailKey} is not null`),
    uniqueIndex('leads_linkedin_uq')
      .on(t.workspaceId, t.linkedinUrl)
      .where(sql`${t.linkedinUrl} is not null`),
    index('leads_stage_idx').on(t.workspaceId, t.stage),
    index('leads_activity_idx').on(t.workspaceId, t.lastActivityAt),
    index('leads_domain_idx').on(t.workspaceId, t.companyDomain),
    index('leads_stage_activity_idx').on(t.workspaceId, t.stage, t.lastActivityAt, t.id),
    index('leads_stage_entered_idx').on(t.workspaceId, t.stage, t.stageEnteredAt),
  ],
);

export const stageKinds = ['open', 'won', 'lost'] as const;
export type StageKind = (typeof stageKinds)[number];

export const stages = pgTable(
  'stages',
  {
    workspaceId: uuid('workspace_id')
      .notNull()
      .references(() => workspaces.id, { onDelete: 'cascade' }),
    key: text('key').notNull(),
    name: text('name').notNull(),
    kind: text('kind').$type<StageKind>().notNull(),
    position: integer('position').notNull(),
    /** Days without activity after which a lead in this stage is stale (Pipedrive's "rotten days"). */
    staleDays: integer('stale_days'),
  },
  (t) => [primaryKey({ columns: [t.workspaceId, t.key] })],
);

/** The history funnel analytics reads. Kept (anonymously) when a lead is erased. */
export const stageEvents = pgTable(
  'stage_events',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    // No foreign key of its own: the lead's (cascading from its workspace) already covers it, and a
    // second check per row cost about 50 ms of a 10,000-lead import's insert (docs/decisions.md).
    workspaceId: uuid('workspace_id').notNull(),
    leadId: uuid('lead_id')
      .notNull()
      .references(() => leads.id, { onDelete: 'cascade' }),
    fromStage: text('from_stage'),
    toStage: text('to_stage').notNull(),
    reason: text('reason'),
    /** Who moved it: `api`, `engine`, `reply`, `score`, `cleanup`, `import`. */
    source: text('source').notNull(),
    at: tstz('at').notNull().defaultNow(),
  },
  (t) => [
    index('stage_events_lead_idx').on(t.leadId, t.at),
    index('stage_events_ws_at_idx').on(t.workspaceId, t.at),
  ],
);

export const notes = pgTable(
  'notes',
  {
    id: id(),
    workspaceId: uuid('workspace_id')
      .notNull()
      .references(() => workspaces.id, { onDelete: 'cascade' }),
    leadId: uuid('lead_id')
      .notNull()
      .references(() => leads.id, { onDelete: 'cascade' }),
    body: text('body').notNull(),
    /** The name of the API key that wrote the note, as it was then; null for notes from before authors. */
    author: text('author'),
    authorKeyId: uuid('author_key_id'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [index('notes_lead_idx').on(t.leadId, t.createdAt)],
);

export const taskKinds = ['call', 'manual'] as const;

export const tasks = pgTable(
  'tasks',
  {
    id: id(),
    workspaceId: uuid('workspace_id')
      .notNull()
      .references(() => workspaces.id, { onDelete: 'cascade' }),
    leadId: uuid('lead_id')
      .notNull()
      .references(() => leads.id, { onDelete: 'cascade' }),
    enrollmentId: uuid('enrollment_id'),
    stepRunId: uuid('step_run_id'),
    title: text('title').notNull(),
    kind: text('kind').$type<(typeof taskKinds)[number]>().notNull().default('manual'),
    status: text('status').$type<'open' | 'done'>().notNull().default('open'),
    /** Who should do it: free text (a name or an email), set through the API. */
    assignee: text('assignee'),
    dueAt: tstz('due_at'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
    doneAt: tstz('done_at'),
  },
  (t) => [
    index('tasks_ws_status_idx').on(t.workspaceId, t.status),
    index('tasks_ws_created_idx').on(t.workspaceId, t.createdAt, t.id),
  ],
);
