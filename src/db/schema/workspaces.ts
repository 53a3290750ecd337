import {
  boolean,
  doublePrecision,
  index,
  jsonb,
  pgTable,
  text,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import { createdAt, id, tstz, updatedAt } from './columns';

/** Workspace-level settings that are not worth their own table. */
export type WorkspaceSettings = {
  scoring?: {
    events?: Record<string, number>;
    attributes?: { field: string; contains: string; points: number }[];
    qualifyThreshold?: number | null;
    qualifyFrom?: string | null;
    qualifyTo?: string | null;
  };
  cleanup?: { staleDays: number; toStage: string; everyHours: number } | null;
};

export const workspaces = pgTable('workspaces', {
  id: id(),
  name: text('name').notNull(),
  timezone: text('timezone').notNull().default('UTC'),
  /** The holiday country of leads that have none (ISO 3166-1 alpha-2); null: no holidays. */
  country: text('country'),
  /** The Standard Webhooks secret (`whsec_…`), encrypted with ENCRYPTION_KEY. */
  webhookSecretEnc: text('webhook_secret_enc').notNull(),
  /** The secret a rotation replaced, still accepted until `previousWebhookSecretExpiresAt`. */
  previousWebhookSecretEnc: text('previous_webhook_secret_enc'),
  previousWebhookSecretExpiresAt: tstz('previous_webhook_secret_expires_at'),
  settings: jsonb('settings').$type<WorkspaceSettings>().notNull().default({}),
  /** Above this projected bounce share (percent), a checked enrollment is refused (issue 19). */
  bounceThresholdPercent: doublePrecision('bounce_threshold_percent').notNull().default(4),
  /** Check every enrollment's list, as if each request said `check: true`. */
  checkOnEnroll: boolean('check_on_enroll').notNull().default(false),
  createdAt: createdAt(),
  updatedAt: updatedAt(),
});

export const apiKeys = pgTable(
  'api_keys',
  {
    id: id(),
    workspaceId: uuid('workspace_id')
      .notNull()
      .references(() => workspaces.id, { onDelete: 'cascade' }),
    name: text('name').notNull().default('default'),
    /** The first characters of the key, shown in lists so users can tell keys apart. */
    prefix: text('prefix').notNull(),
    /** SHA-256 of the whole key; the key itself is never stored. */
    hash: text('hash').notNull(),
    createdAt: createdAt(),
    lastUsedAt: tstz('last_used_at'),
    revokedAt: tstz('revoked_at'),
  },
  (t) => [uniqueIndex('api_keys_hash_uq').on(t.hash), index('api_keys_workspace_idx').on(t.workspaceId)],
);

/**
 * Facts about the installation itself, one row each. `key_check` holds a value sealed with
 * ENCRYPTION_KEY at first start, so a process started with another key refuses to run instead of
 * failing on every secret it reads.
 */
export const engineSettings = pgTable('engine_settings', {
  key: text('key').primaryKey(),
  value: text('value').notNull(),
  createdAt: createdAt(),
});
