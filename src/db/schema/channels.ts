import { bigserial, boolean, index, integer, jsonb, pgTable, text, uuid } from 'drizzle-orm/pg-core';
import { createdAt, id, tstz, updatedAt } from './columns';
import { workspaces } from './workspaces';

export type WarmupRamp = { startLimit: number; increasePerDay: number; startedAt?: string };

export const mailboxes = pgTable(
  'mailboxes',
  {
    id: id(),
    workspaceId: uuid('workspace_id')
      .notNull()
      .references(() => workspaces.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    fromEmail: text('from_email').notNull(),
    fromName: text('from_name'),
    smtpHost: text('smtp_host').notNull(),
    smtpPort: integer('smtp_port').notNull(),
    smtpSecure: boolean('smtp_secure').notNull().default(false),
    /**
     * `required`: the password and the mail only travel over TLS (implicit, or STARTTLS, which the
     * server must offer). `none`: plain SMTP, for a local sink the operator set up on purpose.
     */
    smtpTls: text('smtp_tls').$type<'required' | 'none'>().notNull().default('required'),
    smtpUser: text('smtp_user'),
    /** AES-256-GCM with ENCRYPTION_KEY; never returned by the API. */
    smtpPassEnc: text('smtp_pass_enc'),
    dailyLimit: integer('daily_limit').notNull().default(50),
    minIntervalSeconds: integer('min_interval_seconds').notNull().default(60),
    warmup: jsonb('warmup').$type<WarmupRamp>(),
    status: text('status').$type<'active' | 'paused' | 'deleted'>().notNull().default('active'),
    /** Last reserved send slot: the spacing rule is enforced against it. */
    lastSlotAt: tstz('last_slot_at'),
    /**
     * Send slots taken in the day `[dayStart, dayEnd)` (the workspace's calendar day): its outbound
     * messages `sending` or `sent`, kept with them in the same statements. Another day's bounds mean
     * the count is stale and is taken again from `messages`.
     */
    dayStart: tstz('day_start'),
    dayEnd: tstz('day_end'),
    daySlots: integer('day_slots').notNull().default(0),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [index('mailboxes_ws_idx').on(t.workspaceId, t.status)],
);

export type LinkedInLimits = { invitesPerWeek: number; messagesPerDay: number; visitsPerDay: number };

export const linkedinAccounts = pgTable(
  'linkedin_accounts',
  {
    id: id(),
    workspaceId: uuid('workspace_id')
      .notNull()
      .references(() => workspaces.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    /** The cookie list (or li_at) as JSON, AES-256-GCM encrypted; never returned. */
    sessionEnc: text('session_enc').notNull(),
    limits: jsonb('limits').$type<LinkedInLimits>().notNull(),
    workingHours: jsonb('working_hours').$type<{
      timezone?: string;
      days: number[];
      start: string;
      end: string;
    }>(),
    status: text('status')
      .$type<'active' | 'paused' | 'challenged' | 'expired'>()
      .notNull()
      .default('active'),
    statusReason: text('status_reason'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
    deletedAt: tstz('deleted_at'),
  },
  (t) => [index('linkedin_accounts_ws_idx').on(t.workspaceId)],
);

/** Every LinkedIn action taken, for rolling-window limits. */
export const linkedinActions = pgTable(
  'linkedin_actions',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    accountId: uuid('account_id')
      .notNull()
      .references(() => linkedinAccounts.id, { onDelete: 'cascade' }),
    kind: text('kind').$type<'visit' | 'invite' | 'message'>().notNull(),
    profileUrl: text('profile_url'),
    at: tstz('at').notNull().defaultNow(),
  },
  (t) => [index('linkedin_actions_window_idx').on(t.accountId, t.kind, t.at)],
);
