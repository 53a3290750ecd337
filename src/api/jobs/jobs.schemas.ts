import { z } from 'zod';
import { jobStatuses, jobTypes } from '../../db/schema/index';
import { StageKey } from '../pipeline/pipeline.schemas';

/** Leads one bulk job may name (or a filter may match): past it the request is refused, not cut. */
export const MAX_JOB_LEADS = 200_000;
/** The largest CSV `POST /v1/imports` takes; `POST /v1/leads/import` keeps its own, smaller limit. */
export const IMPORT_JOB_MAX_BYTES = 256 * 1024 * 1024;
/** Failures shown inline in a job's answer; all of them are in `GET …/failures` as CSV. */
export const INLINE_FAILURES = 100;

export const BulkJobBody = z
  .object({
    type: z.enum(['enrollments.enroll', 'enrollments.pause', 'enrollments.resume', 'enrollments.stop']),
    sequenceId: z.uuid(),
    leadIds: z.array(z.uuid()).min(1).max(MAX_JOB_LEADS).optional(),
    filter: z
      .object({ stage: StageKey.describe('Every lead of the workspace in this pipeline stage') })
      .strict()
      .optional(),
  })
  .strict()
  .refine((b) => (b.leadIds ? 1 : 0) + (b.filter ? 1 : 0) === 1, {
    message: 'give exactly one of leadIds or filter',
    path: ['leadIds'],
  });
export type BulkJobBody = z.infer<typeof BulkJobBody>;

export const JobFailure = z.object({
  /** The CSV line the row starts on (the header is line 1); null for a lead of a bulk job. */
  line: z.number().int().nullable(),
  leadId: z.uuid().nullable(),
  error: z.string(),
});

export const Job = z.object({
  id: z.uuid(),
  type: z.enum(jobTypes),
  status: z.enum(jobStatuses),
  progress: z.object({
    /** CSV rows read, or leads handled. */
    done: z.number().int(),
    /** Leads to handle; null for a CSV, whose row count is known only at its end. */
    total: z.number().int().nullable(),
    bytesDone: z.number().int(),
    bytesTotal: z.number().int().nullable(),
    /** From `total` when known, else from the bytes read; 100 once the job has ended. */
    percent: z.number(),
    perSecond: z.number().nullable(),
    etaSeconds: z.number().int().nullable(),
  }),
  /** The counts at the end: created/updated/merged for an import, enrolled/skipped or changed for the rest. */
  result: z.record(z.string(), z.number()).nullable(),
  failureCount: z.number().int(),
  failures: z.array(JobFailure).describe(`The first ${INLINE_FAILURES} failures`),
  /** Every failure as CSV (`line,lead_id,error`). */
  failuresUrl: z.string(),
  /** Why the whole job failed (an unreadable CSV, a sequence deleted meanwhile); null otherwise. */
  error: z.string().nullable(),
  createdAt: z.string(),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
});
export type Job = z.infer<typeof Job>;
