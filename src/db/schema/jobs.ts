import { sql } from 'drizzle-orm';
import { bigint, index, integer, jsonb, pgTable, primaryKey, text, uuid } from 'drizzle-orm/pg-core';
import { bytea, createdAt, id, tstz, updatedAt } from './columns';
import { workspaces } from './workspaces';

export const jobTypes = [
  'leads.import',
  'enrollments.enroll',
  'enrollments.pause',
  'enrollments.resume',
  'enrollments.stop',
] as const;
export type JobType = (typeof jobTypes)[number];

/** `uploading`: the body is still being stored; `queued` → `running` → `succeeded` | `failed`. */
export const jobStatuses = ['uploading', 'queued', 'running', 'succeeded', 'failed'] as const;
export type JobStatus = (typeof jobStatuses)[number];

/**
 * Long work asked for over HTTP (a large CSV import, enrolling or pausing tens of thousands of
 * leads): the request stores what to do and answers 202; a worker runs it and writes its progress
 * here, so the caller polls one row.
 */
export const jobs = pgTable(
  'jobs',
  {
    id: id(),
    workspaceId: uuid('workspace_id')
      .notNull()
      .references(() => workspaces.id, { onDelete: 'cascade' }),
    type: text('type').$type<JobType>().notNull(),
    status: text('status').$type<JobStatus>().notNull().default('queued'),
    params: jsonb('params').$type<Record<string, unknown>>().notNull().default({}),
    /** Items to do (leads) when known up front; null for a CSV, whose rows are counted as read. */
    total: integer('total'),
    done: integer('done').notNull().default(0),
    bytesTotal: bigint('bytes_total', { mode: 'number' }),
    bytesDone: bigint('bytes_done', { mode: 'number' }).notNull().default(0),
    result: jsonb('result').$type<Record<string, number>>(),
    failureCount: integer('failure_count').notNull().default(0),
    error: text('error'),
    attempts: integer('attempts').notNull().default(0),
    leaseUntil: tstz('lease_until'),
    createdAt: createdAt(),
    startedAt: tstz('started_at'),
    finishedAt: tstz('finished_at'),
    updatedAt: updatedAt(),
  },
  (t) => [
    index('jobs_ws_idx').on(t.workspaceId, t.createdAt),
    index('jobs_open_idx').on(t.createdAt).where(sql`${t.status} in ('uploading', 'queued', 'running')`),
  ],
);

/** A job's uploaded body in order, 1 MiB per row, deleted when the job ends. */
export const jobChunks = pgTable(
  'job_chunks',
  {
    jobId: uuid('job_id')
      .notNull()
      .references(() => jobs.id, { onDelete: 'cascade' }),
    seq: integer('seq').notNull(),
    data: bytea('data').notNull(),
  },
  (t) => [primaryKey({ columns: [t.jobId, t.seq] })],
);

/** What a job could not do, item by item: a CSV row with its file line, or a lead with the reason. */
export const jobFailures = pgTable(
  'job_failures',
  {
    jobId: uuid('job_id')
      .notNull()
      .references(() => jobs.id, { onDelete: 'cascade' }),
    n: integer('n').notNull(),
    line: integer('line'),
    leadId: uuid('lead_id'),
    error: text('error').notNull(),
  },
  (t) => [primaryKey({ columns: [t.jobId, t.n] })],
);
