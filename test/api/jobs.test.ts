import { parse } from 'csv-parse/sync';
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { claimJob, runJob } from '../../src/api/jobs/jobs.runner';
import { jobs } from '../../src/db/schema/index';
import { startJobLoop } from '../../src/api/jobs/jobs.loop';
import type { Loop } from '../../src/lib/loop';
import {
  createTestWorkspace,
  startTestEngine,
  type TestEngine,
  type TestWorkspace,
  waitFor,
} from '../helpers/engine';
import { insertLeads } from '../helpers/factories';
import { createSequence } from '../helpers/sequences';

type Job = {
  id: string;
  type: string;
  status: string;
  progress: { done: number; total: number | null; percent: number; bytesTotal: number | null };
  result: Record<string, number> | null;
  failureCount: number;
  failures: { line: number | null; leadId: string | null; error: string }[];
  failuresUrl: string;
  error: string | null;
};

/** Issue 22: long work as jobs, with progress and downloadable failures. */
describe('import and bulk jobs', () => {
  let engine: TestEngine;
  let ws: TestWorkspace;
  let loop: Loop;
  beforeAll(async () => {
    engine = await startTestEngine();
    ws = await createTestWorkspace(engine.app);
    loop = startJobLoop(engine.deps, 100);
  });
  afterAll(async () => {
    await loop.stop();
    await engine.close();
  });

  const upload = (body: string | Buffer, auth = ws.auth) =>
    engine.app.inject({
      method: 'POST',
      url: '/v1/imports',
      headers: { ...auth, 'content-type': 'text/csv' },
      payload: body,
    });
  const get = (url: string, auth = ws.auth) => engine.app.inject({ method: 'GET', url, headers: auth });
  const ended = (url: string) =>
    waitFor(
      async () => {
        const job = (await get(url)).json<Job>();
        return job.status === 'succeeded' || job.status === 'failed' ? job : undefined;
      },
      { timeoutMs: 60_000 },
    );

  it('imports a CSV above the synchronous size as a job: 202, progress, counts and every failure by line', async () => {
    const rows = ['email,first_name,company,notes'];
    const bad = new Set<number>();
    for (let i = 0; i < 2_500; i++) {
      if (i % 500 === 7) {
        bad.add(rows.length + 1);
        rows.push(`not-an-email-${i},Bad,Co,x`);
      } else if (i === 10) {
        // A quoted value over two lines: the rows after it start one line further down.
        rows.push(`multi${i}@example.com,Multi,Co,"line one\nline two"`);
      } else rows.push(`lead${i}@example.com,Lead ${i},Co ${i % 7},`);
    }
    const file = `${rows.join('\n')}\n`;
    const res = await upload(file);
    expect(res.statusCode).toBe(202);
    const queued = res.json<Job>();
    expect(res.headers.location).toBe(`/v1/imports/${queued.id}`);
    expect(queued).toMatchObject({ type: 'leads.import', progress: { bytesTotal: Buffer.byteLength(file) } });

    const job = await ended(`/v1/imports/${queued.id}`);
    expect(job).toMatchObject({
      status: 'succeeded',
      result: { rows: 2_500, created: 2_495, updated: 0, merged: 0 },
      failureCount: 5,
      progress: { done: 2_500, percent: 100 },
    });
    // Each bad row sits one file line below its index + 2, past the two-line value.
    const expectedLines = [...bad].map((line) => (line > 12 ? line + 1 : line));
    expect(job.failures.map((f) => f.line)).toEqual(expectedLines);
    expect(job.failures.every((f) => f.error.startsWith('email:'))).toBe(true);

    const csv = await get(job.failuresUrl);
    expect(csv.statusCode).toBe(200);
    expect(csv.headers['content-type']).toMatch(/^text\/csv/);
    const records = parse(csv.body, { columns: true }) as { line: string; lead_id: string; error: string }[];
    expect(records.map((r) => Number(r.line))).toEqual(expectedLines);
    const count = await engine.deps.db.execute<{ n: number }>(
      sql`select count(*)::int as n from leads where workspace_id = ${ws.id}`,
    );
    expect(count.rows[0]?.n).toBe(2_495);
    // The upload is gone once the job has ended.
    const chunks = await engine.deps.db.execute<{ n: number }>(
      sql`select count(*)::int as n from job_chunks where job_id = ${job.id}`,
    );
    expect(chunks.rows[0]?.n).toBe(0);
  });

  it('refuses an unusable header at once and keeps nothing; a CSV that breaks later fails the job, writing nothing', async () => {
    const before = await engine.deps.db.select().from(jobs).where(eq(jobs.workspaceId, ws.id));
    const noEmail = await upload('name,colour\nAda,blue\n');
    expect(noEmail.statusCode).toBe(400);
    expect(noEmail.json().error.code).toBe('invalid_csv');
    expect((await upload('')).statusCode).toBe(400);
    const json = await engine.app.inject({
      method: 'POST',
      url: '/v1/imports',
      headers: ws.auth,
      payload: { email: 'a@b.c' },
    });
    expect(json.statusCode).toBe(415);
    const after = await engine.deps.db.select().from(jobs).where(eq(jobs.workspaceId, ws.id));
    expect(after).toHaveLength(before.length);

    const broken = await upload('email,first_name\nfine@example.com,Fine\n"unclosed@example.com,Oops\n');
    expect(broken.statusCode).toBe(202);
    const job = await ended(`/v1/imports/${broken.json<Job>().id}`);
    expect(job.status).toBe('failed');
    expect(job.error).toMatch(/quote/i);
    const leads = await engine.deps.db.execute<{ n: number }>(
      sql`select count(*)::int as n from leads where email_key = 'fine@example.com' and workspace_id = ${ws.id}`,
    );
    expect(leads.rows[0]?.n).toBe(0);
  });

  it("keeps a workspace's jobs to itself", async () => {
    const res = await upload('email\nmine@example.com\n');
    const id = res.json<Job>().id;
    const other = await createTestWorkspace(engine.app, 'Other');
    expect((await get(`/v1/imports/${id}`, other.auth)).statusCode).toBe(404);
    expect((await get(`/v1/jobs/${id}/failures`, other.auth)).statusCode).toBe(404);
    const list = (await get('/v1/jobs?limit=100', other.auth)).json<{ data: Job[] }>();
    expect(list.data).toEqual([]);
    const mine = (await get('/v1/jobs?limit=100')).json<{ data: Job[] }>();
    expect(mine.data.map((j) => j.id)).toContain(id);
  });

  it('enrolls, pauses and resumes thousands of leads as jobs, each lead once, with the skipped ones named', async () => {
    const sequence = await createSequence(engine.app, ws, {
      steps: [
        { type: 'email', subject: 'Hi', body: 'Hello' },
        { type: 'wait', days: 2 },
        { type: 'email', subject: 'x', body: 'Again', thread: 'reply' },
      ],
    });
    const leads = await insertLeads(engine.deps.db, ws.id, 2_300, () => ({ stage: 'qualified' }));
    const unknown = '00000000-0000-4000-8000-000000000001';
    const enroll = await engine.app.inject({
      method: 'POST',
      url: '/v1/jobs',
      headers: ws.auth,
      payload: {
        type: 'enrollments.enroll',
        sequenceId: sequence,
        leadIds: [...leads.map((l) => l.id), unknown],
      },
    });
    expect(enroll.statusCode).toBe(202);
    const enrolled = await ended(enroll.headers.location as string);
    expect(enrolled).toMatchObject({
      status: 'succeeded',
      result: { enrolled: 2_300, skipped: 1 },
      failures: [{ leadId: unknown, error: 'not_found', line: null }],
      progress: { done: 2_301, total: 2_301 },
    });

    const pause = await engine.app.inject({
      method: 'POST',
      url: '/v1/jobs',
      headers: ws.auth,
      payload: { type: 'enrollments.pause', sequenceId: sequence, filter: { stage: 'qualified' } },
    });
    expect(pause.statusCode).toBe(202);
    expect(await ended(pause.headers.location as string)).toMatchObject({
      status: 'succeeded',
      result: { changed: 2_300, unchanged: 0 },
    });
    const statuses = async () =>
      (
        await engine.deps.db.execute<{ status: string; n: number }>(
          sql`select status, count(*)::int as n from enrollments where sequence_id = ${sequence} group by status`,
        )
      ).rows;
    expect(await statuses()).toEqual([{ status: 'paused', n: 2_300 }]);

    const resume = await engine.app.inject({
      method: 'POST',
      url: '/v1/jobs',
      headers: ws.auth,
      payload: {
        type: 'enrollments.resume',
        sequenceId: sequence,
        leadIds: leads.slice(0, 100).map((l) => l.id),
      },
    });
    expect(await ended(resume.headers.location as string)).toMatchObject({ result: { changed: 100 } });
    expect(await statuses()).toEqual(
      expect.arrayContaining([
        { status: 'paused', n: 2_200 },
        { status: 'active', n: 100 },
      ]),
    );
  });

  it('a job whose worker died is taken over from its last batch; the lost worker can no longer end it', async () => {
    const sequence = await createSequence(engine.app, ws, {
      steps: [{ type: 'email', subject: 'Hi', body: 'Hello' }],
    });
    const leads = await insertLeads(engine.deps.db, ws.id, 1_500);
    await loop.stop();
    const res = await engine.app.inject({
      method: 'POST',
      url: '/v1/jobs',
      headers: ws.auth,
      payload: { type: 'enrollments.enroll', sequenceId: sequence, leadIds: leads.map((l) => l.id) },
    });
    const id = res.json<Job>().id;
    // A worker claims it and dies before doing anything; its lease runs out.
    const lost = await claimJob(engine.deps.db);
    expect(lost?.id).toBe(id);
    await engine.deps.db
      .update(jobs)
      .set({ leaseUntil: new Date(Date.now() - 1_000) })
      .where(eq(jobs.id, id));
    loop = startJobLoop(engine.deps, 100);
    const job = await ended(`/v1/jobs/${id}`);
    expect(job).toMatchObject({ status: 'succeeded', result: { enrolled: 1_500, skipped: 0 } });
    const [row] = await engine.deps.db.select().from(jobs).where(eq(jobs.id, id));
    expect(row?.attempts).toBe(2);
    const live = await engine.deps.db.execute<{ n: number }>(
      sql`select count(*)::int as n from enrollments where sequence_id = ${sequence}`,
    );
    expect(live.rows[0]?.n).toBe(1_500);

    // The lost worker comes back to life: it is fenced off before its first batch.
    await runJob(engine.deps, lost as NonNullable<typeof lost>);
    const [again] = await engine.deps.db.select().from(jobs).where(eq(jobs.id, id));
    expect(again).toMatchObject({
      status: 'succeeded',
      attempts: 2,
      result: { enrolled: 1_500, skipped: 0 },
    });
  });

  it('refuses bad bulk requests with the failing field', async () => {
    const post = (payload: Record<string, unknown>) =>
      engine.app.inject({ method: 'POST', url: '/v1/jobs', headers: ws.auth, payload });
    const sequence = await createSequence(engine.app, ws, {
      steps: [{ type: 'email', subject: 'Hi', body: 'Hello' }],
    });
    const both = await post({
      type: 'enrollments.enroll',
      sequenceId: sequence,
      leadIds: [sequence],
      filter: { stage: 'lead' },
    });
    expect(both.statusCode).toBe(400);
    expect(both.json().error.details[0].path).toBe('body.leadIds');
    const badType = await post({ type: 'leads.erase', sequenceId: sequence, leadIds: [sequence] });
    expect(badType.statusCode).toBe(400);
    // A workspace that checks every enrollment's list enrolls through the route that checks it.
    const checked = await createTestWorkspace(engine.app, 'Checked');
    const turnedOn = await engine.app.inject({
      method: 'PATCH',
      url: '/v1/workspace',
      headers: checked.auth,
      payload: { checkOnEnroll: true },
    });
    expect(turnedOn.statusCode).toBe(200);
    const checkedSequence = await createSequence(engine.app, checked, {
      steps: [{ type: 'email', subject: 'Hi', body: 'Hello' }],
    });
    const refused = await engine.app.inject({
      method: 'POST',
      url: '/v1/jobs',
      headers: checked.auth,
      payload: { type: 'enrollments.enroll', sequenceId: checkedSequence, filter: { stage: 'lead' } },
    });
    expect(refused.statusCode).toBe(400);
    expect(refused.json().error).toMatchObject({ code: 'checked_enrollment' });
    const other = await createTestWorkspace(engine.app, 'Elsewhere');
    const foreign = await engine.app.inject({
      method: 'POST',
      url: '/v1/jobs',
      headers: other.auth,
      payload: { type: 'enrollments.pause', sequenceId: sequence, filter: { stage: 'lead' } },
    });
    expect(foreign.statusCode).toBe(404);
  });
});
