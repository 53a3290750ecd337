import { and, asc, eq, isNull, lt, sql } from 'drizzle-orm';
import type { Db, DbOrTx } from '../../db/client';
import { decodeCursor, keyset, type PageRequest, toPage } from '../../db/keyset';
import { jobChunks, jobFailures, jobs, leads, sequences, workspaces } from '../../db/schema/index';
import { INLINE_FAILURES, type BulkJobBody, type Job, MAX_JOB_LEADS } from './jobs.schemas';

export type JobRow = typeof jobs.$inferSelect;
export type FailureInput = { line?: number | null; leadId?: string | null; error: string };

/** One stored piece of an upload: small enough to keep a 256 MiB file out of memory. */
export const CHUNK_BYTES = 1024 * 1024;

/** The upload of a CSV job: the row first (`uploading`), then its chunks, then `queued`. */
export async function startUpload(db: Db, workspaceId: string): Promise<string> {
  const [row] = await db
    .insert(jobs)
    .values({ workspaceId, type: 'leads.import', status: 'uploading' })
    .returning({ id: jobs.id });
  if (!row) throw new Error('insert returned no job');
  return row.id;
}

/** Stores one chunk; the job's `updated_at` moves too, so a slow upload is not taken for a dead one. */
export async function storeChunk(db: Db, jobId: string, seq: number, data: Buffer): Promise<void> {
  await db.insert(jobChunks).values({ jobId, seq, data });
  await db.update(jobs).set({ updatedAt: new Date() }).where(eq(jobs.id, jobId));
}

export async function finishUpload(db: Db, jobId: string, bytes: number): Promise<void> {
  await db
    .update(jobs)
    .set({ status: 'queued', bytesTotal: bytes, updatedAt: new Date() })
    .where(eq(jobs.id, jobId));
}

/** An upload that broke off (client gone, too large) leaves nothing behind. */
export async function dropUpload(db: Db, jobId: string): Promise<void> {
  await db.delete(jobs).where(and(eq(jobs.id, jobId), eq(jobs.status, 'uploading')));
}

export type CreateBulkOutcome =
  | { ok: true; job: JobRow }
  | { ok: false; error: 'sequence_not_found' }
  | { ok: false; error: 'checked_enrollment' }
  | { ok: false; error: 'too_many'; matched: number };

/**
 * A bulk enroll/pause/resume/stop job. A `filter` is resolved now, so the job acts on the leads that
 * matched when it was asked for, and a worker that takes it over after a crash sees the same list.
 */
export async function createBulkJob(
  db: Db,
  workspaceId: string,
  body: BulkJobBody,
): Promise<CreateBulkOutcome> {
  const [sequence] = await db
    .select({ id: sequences.id })
    .from(sequences)
    .where(and(eq(sequences.id, body.sequenceId), eq(sequences.workspaceId, workspaceId)));
  if (!sequence) return { ok: false, error: 'sequence_not_found' };
  // A workspace that checks every enrollment's list does it per call of at most 1,000 leads; a
  // bulk job would enroll past that check, so it is refused rather than let through.
  if (body.type === 'enrollments.enroll') {
    const [ws] = await db
      .select({ checked: workspaces.checkOnEnroll })
      .from(workspaces)
      .where(eq(workspaces.id, workspaceId));
    if (ws?.checked) return { ok: false, error: 'checked_enrollment' };
  }
  let leadIds = body.leadIds ? [...new Set(body.leadIds)] : [];
  if (body.filter) {
    const rows = await db
      .select({ id: leads.id })
      .from(leads)
      .where(
        and(eq(leads.workspaceId, workspaceId), eq(leads.stage, body.filter.stage), isNull(leads.erasedAt)),
      )
      .orderBy(asc(leads.id))
      .limit(MAX_JOB_LEADS + 1);
    if (rows.length > MAX_JOB_LEADS) return { ok: false, error: 'too_many', matched: rows.length };
    leadIds = rows.map((r) => r.id);
  }
  const [job] = await db
    .insert(jobs)
    .values({
      workspaceId,
      type: body.type,
      status: 'queued',
      params: { sequenceId: body.sequenceId, leadIds, filter: body.filter ?? null },
      total: leadIds.length,
    })
    .returning();
  if (!job) throw new Error('insert returned no job');
  return { ok: true, job };
}

export async function findJob(db: DbOrTx, workspaceId: string, id: string): Promise<JobRow | undefined> {
  const [row] = await db
    .select()
    .from(jobs)
    .where(and(eq(jobs.id, id), eq(jobs.workspaceId, workspaceId)));
  return row;
}

/** A workspace's jobs, newest first, a page at a time. */
export async function listJobs(db: Db, workspaceId: string, query: PageRequest) {
  const page = keyset(jobs.createdAt, jobs.id, decodeCursor(query.cursor));
  const rows = await db
    .select()
    .from(jobs)
    .where(and(eq(jobs.workspaceId, workspaceId), page.where))
    .orderBy(...page.orderBy)
    .limit(query.limit + 1);
  return { rows: rows.slice(0, query.limit), nextCursor: toPage(rows, query.limit, (r) => r).nextCursor };
}

/** Failures in the order they were found, `after` the n-th, at most `limit`. */
export async function failurePage(db: Db, jobId: string, after: number, limit: number) {
  return db
    .select({
      n: jobFailures.n,
      line: jobFailures.line,
      leadId: jobFailures.leadId,
      error: jobFailures.error,
    })
    .from(jobFailures)
    .where(and(eq(jobFailures.jobId, jobId), sql`${jobFailures.n} > ${after}`))
    .orderBy(asc(jobFailures.n))
    .limit(limit);
}

/**
 * Appends failures numbered after the job's count, and moves the count, in one statement: a worker
 * that dies between two batches never leaves a count that disagrees with the rows.
 */
export async function appendFailures(db: DbOrTx, jobId: string, failures: FailureInput[]): Promise<void> {
  for (let i = 0; i < failures.length; i += 5_000) {
    const slice = failures.slice(i, i + 5_000);
    await db.execute(sql`
      with counted as (
        update jobs set failure_count = failure_count + ${slice.length}
        where id = ${jobId} returning failure_count - ${slice.length} as base
      )
      insert into job_failures (job_id, n, line, lead_id, error)
      select ${jobId}::uuid, counted.base + f.ord, f.line, f.lead_id, f.error
      from counted, unnest(
        ${sql.param(slice.map((f) => f.line ?? null))}::int[],
        ${sql.param(slice.map((f) => f.leadId ?? null))}::uuid[],
        ${sql.param(slice.map((f) => f.error))}::text[]
      ) with ordinality as f(line, lead_id, error, ord)`);
  }
}

const rate = (row: JobRow, now: number) => {
  if (!row.startedAt) return null;
  const seconds = ((row.finishedAt?.getTime() ?? now) - row.startedAt.getTime()) / 1000;
  return seconds > 0 ? row.done / seconds : null;
};

/** The answer for a job: its row, with progress worked out and the first failures inline. */
export async function jobView(db: Db, row: JobRow, basePath: string): Promise<Job> {
  const now = Date.now();
  const ended = row.status === 'succeeded' || row.status === 'failed';
  const share = ended
    ? 1
    : row.total
      ? row.done / row.total
      : row.bytesTotal
        ? row.bytesDone / row.bytesTotal
        : 0;
  const perSecond = rate(row, now);
  const elapsed = row.startedAt ? (now - row.startedAt.getTime()) / 1000 : 0;
  const etaSeconds = !ended && share > 0 && row.startedAt ? Math.ceil(elapsed * (1 / share - 1)) : null;
  const failures = row.failureCount > 0 ? await failurePage(db, row.id, 0, INLINE_FAILURES) : ([] as const);
  return {
    id: row.id,
    type: row.type,
    status: row.status,
    progress: {
      done: row.done,
      total: row.total,
      bytesDone: row.bytesDone,
      bytesTotal: row.bytesTotal,
      percent: Math.round(share * 1000) / 10,
      perSecond: perSecond === null ? null : Math.round(perSecond),
      etaSeconds: ended ? 0 : etaSeconds,
    },
    result: row.result ?? null,
    failureCount: row.failureCount,
    failures: failures.map(({ line, leadId, error }) => ({ line, leadId, error })),
    failuresUrl: `${basePath}/${row.id}/failures`,
    error: row.error,
    createdAt: row.createdAt.toISOString(),
    startedAt: row.startedAt?.toISOString() ?? null,
    finishedAt: row.finishedAt?.toISOString() ?? null,
  };
}

/** How long an upload may stay unfinished before its rows are taken for a dead request's. */
const STALE_UPLOAD = sql`interval '1 hour'`;

export async function dropStaleUploads(db: Db): Promise<number> {
  const deleted = await db
    .delete(jobs)
    .where(and(eq(jobs.status, 'uploading'), lt(jobs.updatedAt, sql`now() - ${STALE_UPLOAD}`)))
    .returning({ id: jobs.id });
  return deleted.length;
}
