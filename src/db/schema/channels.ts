import {
  bigint,
  bigserial,
  boolean,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  uuid,
} from 'drizzle-orm/pg-core';
import { createdAt, id, tstz, updatedAt } from './columns';
import { workspaces } from './workspaces';

export type WarmupRamp = { startLimit: number; increasePerDay: number; startedAt?: string };

/** What the inbox reader is doing for a mailbox; `disabled` when no inbox is configured. */
export const inboxStatuses = ['connected', 'idle', 'auth_failed', 'error', 'disabled'] as const;
export type InboxStatus = (typeof inboxStatuses)[number];

export const oauth2Providers = ['google', 'microsoft', 'custom'] as const;
export type OAuth2Provider = (typeof oauth2Providers)[number];
/** The OAuth2 settings that are not secret; the client secret and refresh token are sealed apart. */
export type OAuth2Settings = {
  provider: OAuth2Provider;
  clientId: string;
  tokenUrl: string | null;
  user: string;
};

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
    /** Plain text, printed by `{{ sender.signature }}` in this mailbox's emails. */
    signature: text('signature'),
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
    /** IMAP inbox; null host means the inbox is not read (replies only arrive by webhook). */
    imapHost: text('imap_host'),
    imapPort: integer('imap_port'),
    imapSecure: boolean('imap_secure').notNull().default(true),
    imapTls: text('imap_tls').$type<'required' | 'none'>().notNull().default('required'),
    /** Null: the SMTP user and password. */
    imapUser: text('imap_user'),
    imapPassEnc: text('imap_pass_enc'),
    /** Folders read for inbound mail; null: INBOX and the junk folder when the server has one. */
    imapFolders: jsonb('imap_folders').$type<string[]>(),
    /** OAuth2 for SMTP (XOAUTH2) and IMAP; the secrets are in `oauth2SecretEnc`. */
    oauth2: jsonb('oauth2').$type<OAuth2Settings>(),
    /** Sealed JSON `{clientSecret, refreshToken}`. */
    oauth2SecretEnc: text('oauth2_secret_enc'),
    /** The current access token, sealed, and when it expires. */
    oauth2AccessEnc: text('oauth2_access_enc'),
    oauth2AccessExpiresAt: tstz('oauth2_access_expires_at'),
    inboxStatus: text('inbox_status').$type<InboxStatus>().notNull().default('disabled'),
    inboxLastSyncAt: tstz('inbox_last_sync_at'),
    inboxLastError: text('inbox_last_error'),
    /** Consecutive failures, for backoff; reset by a successful sync. */
    inboxFailures: integer('inbox_failures').notNull().default(0),
    /** Failed sessions since the mailbox was added: `/metrics` serves it as a counter. */
    inboxErrorsTotal: integer('inbox_errors_total').notNull().default(0),
    /** Not retried before this (backoff after a failure, or after an OAuth2 refusal). */
    inboxRetryAt: tstz('inbox_retry_at'),
    /** The one reader process holding this inbox, until `inboxLeaseUntil`. */
    inboxLeaseOwner: text('inbox_lease_owner'),
    inboxLeaseUntil: tstz('inbox_lease_until'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [index('mailboxes_ws_idx').on(t.workspaceId, t.status)],
);

export type MailboxRow = typeof mailboxes.$inferSelect;

/**
 * Where the inbox reader is in each folder: a message is ingested in the transaction that moves
 * `lastUid` past it, so a crash, a lost lease or two readers never act on one UID twice.
 */
export const inboxCursors = pgTable(
  'inbox_cursors',
  {
    mailboxId: uuid('mailbox_id')
      .notNull()
      .references(() => mailboxes.id, { onDelete: 'cascade' }),
    folder: text('folder').notNull(),
    uidValidity: bigint('uid_validity', { mode: 'number' }).notNull(),
    lastUid: bigint('last_uid', { mode: 'number' }).notNull().default(0),
    /** CONDSTORE's HIGHESTMODSEQ at the last sync, as text (it is a 63-bit number). */
    highestModseq: text('highest_modseq'),
    /** The newest INTERNALDATE ingested: where a resync by date starts after a UIDVALIDITY change. */
    lastMessageAt: tstz('last_message_at'),
    updatedAt: tstz('updated_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.mailboxId, t.folder] })],
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
    /** `layout_unrecognized`: LinkedIn showed a page the driver's page objects do not recognise. */
    status: text('status')
      .$type<'active' | 'paused' | 'challenged' | 'expired' | 'layout_unrecognized'>()
      .notNull()
      .default('active'),
    statusReason: text('status_reason'),
    /** BCP 47 language tag the account's browser presents (`de-DE`); null leaves Chromium's default. */
    locale: text('locale'),
    /** When LinkedIn's free invitation notes run out: fail the step, or invite without the note. */
    whenNoteQuotaExhausted: text('when_note_quota_exhausted')
      .$type<'fail' | 'send_without_note'>()
      .notNull()
      .default('fail'),
    /** The canary's last look at the account's own profile and inbox. */
    layoutCheck: jsonb('layout_check').$type<{
      at: string;
      recognised: boolean;
      unrecognised: string[];
      pages: { page: string; path: string; recognised: Record<string, boolean> }[];
    }>(),
    layoutCheckedAt: tstz('layout_checked_at'),
    /** How many times the account met a layout it did not recognise (a counter for /metrics). */
    layoutUnrecognizedTotal: integer('layout_unrecognized_total').notNull().default(0),
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
