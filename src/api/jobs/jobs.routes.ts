import { stringify } from 'csv-stringify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Deps } from '../../context';
import { HttpError, notFound } from '../http/errors';
import { IdParams, PageQuery, page } from '../http/schemas';
import { headerProblem } from '../leads/csv-import';
import { BulkJobBody, IMPORT_JOB_MAX_BYTES, Job, MAX_JOB_LEADS } from './jobs.schemas';
import {
  CHUNK_BYTES,
  createBulkJob,
  dropUpload,
  failurePage,
  findJob,
  finishUpload,
  jobView,
  listJobs,
  startUpload,
  storeChunk,
} from './jobs.service';

const tags = ['jobs'];

const isStream = (value: unknown): value is AsyncIterable<Buffer> =>
  typeof value === 'object' && value !== null && Symbol.asyncIterator in value;

class TooLarge extends Error {}

/** A spreadsheet opens a cell starting with these as a formula: such values are written as text. */
const formulaStart = /^[=+\-@\t\r]/;
const asText = (value: string) => (formulaStart.test(value) ? `'${value}` : value);

/**
 * `/v1/imports` and `/v1/jobs`: long work as jobs. The request stores the work and answers 202 with
 * the job; `GET` shows its progress and first failures; `…/failures` gives every failure as CSV.
 */
export const jobsRoutes =
  (deps: Deps): FastifyPluginAsyncZod =>
  async (app) => {
    app.addContentTypeParser(['text/csv', 'application/csv'], (_request, payload, done) =>
      done(null, payload),
    );

    app.post(
      '/imports',
      {
        schema: {
          tags,
          summary: `Import a CSV of leads as a job (up to ${IMPORT_JOB_MAX_BYTES / 1024 / 1024} MiB); answers 202 at once`,
          consumes: ['text/csv'],
          response: { 202: Job },
        },
      },
      async (request, reply) => {
        const length = Number(request.headers['content-length'] ?? 0);
        if (length > IMPORT_JOB_MAX_BYTES) throw tooLarge();
        const body = request.body;
        if (!isStream(body)) {
          throw new HttpError(415, 'unsupported_media_type', 'send the CSV with Content-Type: text/csv');
        }
        const jobId = await startUpload(deps.db, request.workspaceId);
        try {
          const bytes = await storeUpload(jobId, body);
          await finishUpload(deps.db, jobId, bytes);
        } catch (err) {
          await dropUpload(deps.db, jobId);
          if (err instanceof TooLarge) throw tooLarge();
          throw err;
        }
        const job = await findJob(deps.db, request.workspaceId, jobId);
        if (!job) throw notFound('job');
        return reply
          .code(202)
          .header('location', `/v1/imports/${jobId}`)
          .send(await jobView(deps.db, job, '/v1/imports'));
      },
    );

    /**
     * Chunks of CHUNK_BYTES, each stored as it fills. The first line is checked before anything is
     * kept, so an unusable header is a 400 now rather than a failed job later.
     */
    async function storeUpload(jobId: string, body: AsyncIterable<Buffer>): Promise<number> {
      let pending: Buffer[] = [];
      let pendingBytes = 0;
      let total = 0;
      let seq = 0;
      let checked = false;
      const flush = async () => {
        const data = Buffer.concat(pending);
        if (!checked) {
          const problem = headerProblem(data.toString('utf8', 0, Math.min(data.length, 64 * 1024)));
          if (problem) throw new HttpError(400, 'invalid_csv', problem);
          checked = true;
        }
        await storeChunk(deps.db, jobId, seq++, data);
        pending = [];
        pendingBytes = 0;
      };
      for await (const chunk of body) {
        total += chunk.length;
        if (total > IMPORT_JOB_MAX_BYTES) throw new TooLarge();
        pending.push(chunk);
        pendingBytes += chunk.length;
        if (pendingBytes >= CHUNK_BYTES) await flush();
      }
      if (pendingBytes > 0 || !checked) await flush();
      return total;
    }

    app.post(
      '/jobs',
      {
        schema: {
          tags,
          summary: `Enroll, pause, resume or stop up to ${MAX_JOB_LEADS.toLocaleString('en')} leads of a sequence as a job`,
          body: BulkJobBody,
          response: { 202: Job },
        },
      },
      async (request, reply) => {
        const created = await createBulkJob(deps.db, request.workspaceId, request.body);
        if (!created.ok && created.error === 'sequence_not_found') throw notFound('sequence');
        if (!created.ok && created.error === 'checked_enrollment') {
          const message =
            'this workspace checks the list of every enrollment (checkOnEnroll): enroll through POST /v1/sequences/{id}/enrollments, 1,000 leads per call';
          throw new HttpError(400, 'checked_enrollment', `body.type: ${message}`, [
            { path: 'body.type', message },
          ]);
        }
        if (!created.ok) {
          const message = `the filter matches more than ${MAX_JOB_LEADS} leads: narrow it`;
          throw new HttpError(400, 'too_many_leads', `body.filter: ${message}`, [
            { path: 'body.filter', message },
          ]);
        }
        return reply
          .code(202)
          .header('location', `/v1/jobs/${created.job.id}`)
          .send(await jobView(deps.db, created.job, '/v1/jobs'));
      },
    );

    app.get(
      '/jobs',
      {
        schema: {
          tags,
          summary: "The workspace's jobs, newest first",
          querystring: PageQuery,
          response: { 200: page(Job) },
        },
      },
      async (request) => {
        const { rows, nextCursor } = await listJobs(deps.db, request.workspaceId, request.query);
        const data = [];
        for (const row of rows) data.push(await jobView(deps.db, row, basePath(row.type)));
        return { data, nextCursor };
      },
    );

    for (const base of ['/jobs', '/imports'] as const) {
      const what = base === '/imports' ? 'an import' : 'a job';
      app.get(
        `${base}/:id`,
        {
          schema: {
            tags,
            summary: `The progress of ${what}, its counts and its first failures`,
            params: IdParams,
            response: { 200: Job },
          },
        },
        async (request) => {
          const job = await findJob(deps.db, request.workspaceId, request.params.id);
          if (!job || (base === '/imports' && job.type !== 'leads.import')) throw notFound('job');
          return jobView(deps.db, job, `/v1${base}`);
        },
      );

      app.get(
        `${base}/:id/failures`,
        {
          schema: {
            tags,
            summary: `Every failure of ${what} as CSV: line (CSV line, header = 1), lead_id, error`,
            params: IdParams,
            response: { 200: z.string() },
          },
        },
        async (request, reply) => {
          const job = await findJob(deps.db, request.workspaceId, request.params.id);
          if (!job || (base === '/imports' && job.type !== 'leads.import')) throw notFound('job');
          const csv = stringify({ header: true, columns: ['line', 'lead_id', 'error'] });
          void (async () => {
            try {
              for (let after = 0; ; ) {
                const rows = await failurePage(deps.db, job.id, after, 5_000);
                for (const f of rows) {
                  if (csv.destroyed) return;
                  if (!csv.write([f.line ?? '', f.leadId ?? '', asText(f.error)])) {
                    // A client gone mid-download closes the stream: stop waiting for it then.
                    await new Promise((resolve) => {
                      csv.once('drain', resolve);
                      csv.once('close', resolve);
                    });
                  }
                }
                const last = rows.at(-1);
                if (!last || rows.length < 5_000) break;
                after = last.n;
              }
              csv.end();
            } catch (err) {
              csv.destroy(err as Error);
            }
          })();
          return reply
            .type('text/csv; charset=utf-8')
            .header('content-disposition', `attachment; filename="job-${job.id}-failures.csv"`)
            .send(csv as unknown as string);
        },
      );
    }
  };

const basePath = (type: string) => (type === 'leads.import' ? '/v1/imports' : '/v1/jobs');

const tooLarge = () =>
  new HttpError(413, 'payload_too_large', `the CSV is larger than ${IMPORT_JOB_MAX_BYTES} bytes`);
