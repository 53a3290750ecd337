import { sql } from 'drizzle-orm';
import { index, integer, jsonb, pgTable, primaryKey, text, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { createdAt, id, tstz, updatedAt } from './columns';
import { leads } from './leads';
import { workspaces } from './workspaces';

export const sequenceStatuses = ['draft', 'active', 'paused', 'archived'] as const;
export type SequenceStatus = (typeof sequenceStatuses)[number];

export const sequences = pgTable(
  'sequences',
  {
    id: id(),
    workspaceId: uuid('workspace_id')
      .notNull()
      .references(() => workspaces.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    status: text('status').$type<SequenceStatus>().notNull().default('draft'),
    currentVersion: integer('current_version').notNull().default(1),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [uniqueIndex('sequences_name_uq').on(t.workspaceId, t.name)],
);

/** Immutable: an enrollment pins the version it started on. `definition` is the validated
 * `{steps, schedule, settings}` document. */
export const sequenceVersions = pgTable(
  'sequence_versions',
  {
    sequenceId: uuid('sequence_id')
      .notNull()
      .references(() => sequences.id, { onDelete: 'cascade' }),
    version: integer('version').notNull(),
    definition: jsonb('definition').$type<Record<string, unknown>>().notNull(),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.sequenceId, t.version] })],
);

export const enrollmentStatuses = [
  'active',
  'paused',
  'completed',
  'replied',
  'stopped',
  'bounced',
  'unsubscribed',
  'failed',
] as const;
export type EnrollmentStatus = (typeof enrollmentStatuses)[number];

export const enrollments = pgTable(
  'enrollments',
  {
    id: id(),
    workspaceId: uuid('workspace_id')
      .notNull()
      .references(() => workspaces.id, { onDelete: 'cascade' }),
    sequenceId: uuid('sequence_id')
      .notNull()
      .references(() => sequences.id, { onDelete: 'cascade' }),
    version: integer('version').notNull(),
    leadId: uuid('lead_id')
      .notNull()
      .references(() => leads.id, { onDelete: 'cascade' }),
    status: text('status').$type<EnrollmentStatus>().notNull().default('active'),
    currentStepId: text('current_step_id'),
    nextRunAt: tstz('next_run_at'),
    mailboxId: uuid('mailbox_id'),
    linkedinAccountId: uuid('linkedin_account_id'),
    /** Message-ID and subject of the first email, for `thread: reply` steps. */
    threadMessageId: text('thread_message_id'),
    threadSubject: text('thread_subject'),
    /** Set when paused by an out-of-office reply: resume at this time. */
    resumeAt: tstz('resume_at'),
    /** Why the enrollment left `active` (reply, unsubscribe, manual, sequence_paused, …). */
    reason: text('reason'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
    endedAt: tstz('ended_at'),
  },
  (t) => [
    // A lead is in a sequence at most once while it is live.
    uniqueIndex('enrollments_live_uq')
      .on(t.sequenceId, t.leadId)
      .where(sql`${t.status} in ('active', 'paused')`),
    index('enrollments_lead_idx').on(t.leadId, t.status),
    index('enrollments_sequence_idx').on(t.sequenceId, t.status),
  ],
);

export const stepRunStatuses = [
  'scheduled',
  'claimed',
  'sent',
  'skipped',
  'failed',
  'canceled',
  'ambiguous',
] as const;
export type StepRunStatus = (typeof stepRunStatuses)[number];

/** The send ledger: one row per (enrollment, step), never two. */
export const stepRuns = pgTable(
  'step_runs',
  {
    id: id(),
    workspaceId: uuid('workspace_id')
      .notNull()
      .references(() => workspaces.id, { onDelete: 'cascade' }),
    enrollmentId: uuid('enrollment_id')
      .notNull()
      .references(() => enrollments.id, { onDelete: 'cascade' }),
    stepId: text('step_id').notNull(),
    stepIndex: integer('step_index').notNull(),
    stepType: text('step_type').notNull(),
    status: text('status').$type<StepRunStatus>().notNull().default('scheduled'),
    /** When the step may run. Deferrals (capacity, window, retry) move it forward. */
    runAt: tstz('run_at').notNull(),
    /** When the step first fell due, so lateness can be measured across deferrals. */
    dueAt: tstz('due_at').notNull(),
    attempts: integer('attempts').notNull().default(0),
    /** Bumped on every reschedule, so each (re)scheduling gets its own job id `run:<id>:<generation>`. */
    generation: integer('generation').notNull().default(0),
    /** When the run was handed to Redis; null while it sits beyond the queue horizon. */
    enqueuedAt: tstz('enqueued_at'),
    claimedAt: tstz('claimed_at'),
    /**
     * How far the current claim got: `pending` from the claim until the channel may act on the
     * outside world, then `started` (written before that, fenced on the claim). A claim whose worker
     * died while `pending` is run again; one `started` becomes `ambiguous`.
     */
    handoff: text('handoff').$type<'pending' | 'started'>(),
    leaseUntil: tstz('lease_until'),
    executedAt: tstz('executed_at'),
    /** Index of the A/B variant chosen for an email step. */
    variant: integer('variant'),
    /** Why the run is waiting (`no_mailbox`, `capacity`, `account_challenged`, …) or why it failed. */
    reason: text('reason'),
    result: jsonb('result').$type<Record<string, unknown>>(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex('step_runs_enrollment_step_uq').on(t.enrollmentId, t.stepId),
    index('step_runs_due_idx').on(t.runAt).where(sql`${t.status} = 'scheduled'`),
    index('step_runs_claimed_idx').on(t.leaseUntil).where(sql`${t.status} = 'claimed'`),
    index('step_runs_ws_idx').on(t.workspaceId),
  ],
);
