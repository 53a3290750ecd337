import { and, eq, sql } from 'drizzle-orm';
import type { Deps } from '../../context';
import type { DbOrTx } from '../../db/client';
import { enrollments, jobChunks, jobs } from '../../db/schema/index';
import { enrollLeads } from '../../engine/enroll';
import { pauseEnrollments, resumeEnrollments } from '../../engine/pause';
import { stopLeadEnrollments } from '../../timeline/enrollment-stops';
import { importLeadsCsv } from '../leads/csv-import';
import { appendFailures, type JobRow } from './jobs.service';

type JobDeps = Pick<Deps, 'db' | 'queues' | 'config' | 'log'>;

/** A running job's claim lasts this long; its worker renews it well before, while it runs. */
export const JOB_LEASE_SECONDS = 60;
const HEARTBEAT_MS = 15_000;
/** A job whose worker was lost this many times is failed rather than tried again. */
const MAX_ATTEMPTS = 3;
/** Leads per transaction of a bulk job: the size `POST /v1/sequences/:id/enrollments` takes at once. */
const LEADS_PER_BATCH = 1_000;

/** The job no longer belongs to this worker: its lease ran out and another took it. */
class LostLease extends Error {}

/**
 * Takes the oldest job that is queued, or running under a lease that ran out (its worker died).
 * Workspaces with nothing running come first, so one tenant's queue of big jobs does not hold
 * another's small one back.
 */
export async function claimJob(db: DbOrTx): Promise<JobRow | undefined> {
  const { rows } = await db.execute<{ id: string }>(sql`
    update jobs set status = 'running', attempts = attempts + 1,
      lease_until = now() + make_interval(secs => ${JOB_LEASE_SECONDS}),
      started_at = coalesce(started_at, now()), updated_at = now()
    where id = (
      select j.id from jobs j
      where j.status = 'queued' or (j.status = 'running' and j.lease_until < now())
      order by exists (
        select 1 from jobs r
        where r.workspace_id = j.workspace_id and r.status = 'running' and r.lease_until >= now()
      ), j.created_at
      for update skip locked limit 1)
    returning id`);
  const id = rows[0]?.id;
  if (!id) return undefined;
  const [row] = await db.select().from(jobs).where(eq(jobs.id, id));
  return row;
}

/** Renews the lease, failing when another worker holds the job now (`attempts` is the fence). */
async function renew(db: DbOrTx, job: JobRow, progress: Partial<Pick<JobRow, 'done' | 'bytesDone'>> = {}) {
  const { rowCount } = await db.execute(sql`
    update jobs set lease_until = now() + make_interval(secs => ${JOB_LEASE_SECONDS}), updated_at = now(),
      done = coalesce(${progress.done ?? null}::int, done),
      bytes_done = coalesce(${progress.bytesDone ?? null}::bigint, bytes_done)
    where id = ${job.id} and status = 'running' and attempts = ${job.attempts}`);
  if (!rowCount) throw new LostLease();
}

/** Ends the job, under the same fence; in the caller's transaction when it has one. */
async function settle(
  db: DbOrTx,
  job: JobRow,
  end: { status: 'succeeded' | 'failed'; result?: Record<string, number>; error?: string; done?: number },
) {
  const { rowCount } = await db.execute(sql`
    update jobs set status = ${end.status}, result = ${end.result ? JSON.stringify(end.result) : null}::jsonb,
      error = ${end.error ?? null}, done = coalesce(${end.done ?? null}::int, done),
      bytes_done = coalesce(bytes_total, bytes_done), finished_at = now(), lease_until = null, updated_at = now()
    where id = ${job.id} and status = 'running' and attempts = ${job.attempts}`);
  if (!rowCount) throw new LostLease();
  await db.delete(jobChunks).where(eq(jobChunks.jobId, job.id));
}

/** Runs one claimed job to its end. Its failures are recorded on the job; nothing is thrown. */
export async function runJob(deps: JobDeps, job: JobRow): Promise<void> {
  if (job.attempts > MAX_ATTEMPTS) {
    await settle(deps.db, job, {
      status: 'failed',
      error: `the worker running this job stopped ${MAX_ATTEMPTS} times; ask for it again`,
    });
    return;
  }
  const heartbeat = setInterval(() => {
    renew(deps.db, job).catch(() => {});
  }, HEARTBEAT_MS);
  try {
    if (job.type === 'leads.import') await runImport(deps, job);
    else await runBulk(deps, job);
  } catch (err) {
    if (err instanceof LostLease) {
      deps.log.warn({ jobId: job.id }, 'job taken over by another worker; this one stops');
      return;
    }
    deps.log.error({ err, jobId: job.id }, 'job failed');
    await settle(deps.db, job, { status: 'failed', error: 'internal error; the job stopped' }).catch(
      () => {},
    );
  } finally {
    clearInterval(heartbeat);
  }
}

/** The upload, chunk by chunk, as the importer's input. */
async function* chunksOf(deps: JobDeps, job: JobRow, read: { bytes: number }) {
  for (let seq = 0; ; seq++) {
    const [chunk] = await deps.db
      .select({ data: jobChunks.data })
      .from(jobChunks)
      .where(and(eq(jobChunks.jobId, job.id), eq(jobChunks.seq, seq)));
    if (!chunk) return;
    read.bytes += chunk.data.length;
    yield chunk.data;
  }
}

/**
 * The HTTP importer over the stored upload, in its one transaction: the failures, the counts and
 * the job's end commit with the leads, so a worker lost half-way leaves nothing to undo and the job
 * is run again from the start.
 */
async function runImport(deps: JobDeps, job: JobRow) {
  const read = { bytes: 0 };
  const outcome = await importLeadsCsv(deps.db, job.workspaceId, chunksOf(deps, job, read), {
    maxBytes: Number.POSITIVE_INFINITY,
    keepIds: false,
    onProgress: (rows) => renew(deps.db, job, { done: rows, bytesDone: read.bytes }),
    finish: async (tx, result) => {
      await appendFailures(
        tx,
        job.id,
        result.failed.map((f) => ({ line: f.line, error: f.error })),
      );
      await settle(tx, job, {
        status: 'succeeded',
        done: result.rows,
        result: {
          rows: result.rows,
          created: result.created,
          updated: result.updated,
          merged: result.merged,
        },
      });
    },
  });
  if (!outcome.ok) await settle(deps.db, job, { status: 'failed', error: outcome.message });
}

type BulkParams = { sequenceId: string; leadIds: string[] };

/**
 * Enroll, pause, resume or stop, 1,000 leads per transaction from where the job stands (`done`): a
 * worker that takes the job over resumes at the last batch recorded. A batch that committed just
 * before its worker died is done again, and comes back as skipped (`already_enrolled`) or unchanged.
 */
async function runBulk(deps: JobDeps, job: JobRow) {
  const { sequenceId, leadIds } = job.params as BulkParams;
  const counts: Record<string, number> = {};
  const add = (key: string, n: number) => {
    counts[key] = (counts[key] ?? 0) + n;
  };
  for (const [key, n] of Object.entries(job.result ?? {})) add(key, n);
  for (let at = job.done; at < leadIds.length; at += LEADS_PER_BATCH) {
    const batch = leadIds.slice(at, at + LEADS_PER_BATCH);
    // The fence first: a worker whose lease ran out while it was alive stops before the next batch.
    await renew(deps.db, job);
    const failures = await runBatch(deps, job, sequenceId, batch, add);
    if (failures === 'sequence_gone') {
      await settle(deps.db, job, { status: 'failed', error: 'the sequence was deleted or archived' });
      return;
    }
    await deps.db.transaction(async (tx) => {
      await appendFailures(tx, job.id, failures);
      await renew(tx, job, { done: at + batch.length });
      await tx.update(jobs).set({ result: counts }).where(eq(jobs.id, job.id));
    });
  }
  await settle(deps.db, job, { status: 'succeeded', result: counts, done: leadIds.length });
}

async function runBatch(
  deps: JobDeps,
  job: JobRow,
  sequenceId: string,
  batch: string[],
  add: (key: string, n: number) => void,
): Promise<{ leadId: string; error: string }[] | 'sequence_gone'> {
  const ws = job.workspaceId;
  if (job.type === 'enrollments.enroll') {
    const result = await enrollLeads(deps, ws, sequenceId, batch);
    if (!result.ok) return 'sequence_gone';
    add('enrolled', result.enrolled.length);
    add('skipped', result.skipped.length);
    return result.skipped.map((s) => ({ leadId: s.leadId, error: s.reason }));
  }
  const live = job.type === 'enrollments.resume' ? ['paused'] : ['active', 'paused'];
  const rows = await deps.db
    .select({ id: enrollments.id, leadId: enrollments.leadId, status: enrollments.status })
    .from(enrollments)
    .where(
      and(
        eq(enrollments.workspaceId, ws),
        eq(enrollments.sequenceId, sequenceId),
        sql`${enrollments.leadId} = any(${sql.param(batch)}::uuid[])`,
        sql`${enrollments.status} = any(${sql.param(live)}::text[])`,
      ),
    );
  const ids = rows.map((r) => r.id);
  let changed: Set<string>;
  if (ids.length === 0) {
    changed = new Set();
  } else if (job.type === 'enrollments.pause') {
    changed = new Set(
      await pauseEnrollments(deps.db, { workspaceId: ws, enrollmentIds: ids, reason: 'manual' }),
    );
  } else if (job.type === 'enrollments.resume') {
    changed = new Set(await resumeEnrollments(deps, { workspaceId: ws, enrollmentIds: ids }));
  } else {
    const stopped = await deps.db.transaction((tx) =>
      stopLeadEnrollments(tx, {
        workspaceId: ws,
        leadIds: rows.map((r) => r.leadId),
        status: 'stopped',
        reason: 'manual',
        onlyEnrollmentIds: ids,
      }),
    );
    changed = new Set(stopped.enrollmentIds);
  }
  add('changed', changed.size);
  const byLead = new Map(rows.map((r) => [r.leadId, r]));
  const failures: { leadId: string; error: string }[] = [];
  for (const leadId of new Set(batch)) {
    const row = byLead.get(leadId);
    if (!row) failures.push({ leadId, error: 'no_live_enrollment' });
    else if (!changed.has(row.id)) failures.push({ leadId, error: `invalid_state:${row.status}` });
  }
  add('unchanged', failures.length);
  return failures;
}
