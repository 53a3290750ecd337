import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordEvents } from '../../src/timeline/events';
import { createTestWorkspace, startTestEngine, type TestEngine, type TestWorkspace } from '../helpers/engine';
import { insertLeads } from '../helpers/factories';
import { createSequence, enrollLeads } from '../helpers/sequences';

type Page<T> = { data: T[]; nextCursor: string | null };

/** The cursor lists of issue 22: enrollments of a sequence and of a lead, step runs, the lead timeline. */
describe('lists with cursors', () => {
  let engine: TestEngine;
  let ws: TestWorkspace;
  beforeAll(async () => {
    engine = await startTestEngine();
    ws = await createTestWorkspace(engine.app);
  });
  afterAll(() => engine.close());

  const get = (url: string, auth = ws.auth) =>
    engine.app.inject({ method: 'GET', url: `/v1${url}`, headers: auth });
  /** Follows `nextCursor` from the first page to the last, `limit` at a time. */
  async function walk<T>(url: string, limit: number): Promise<T[][]> {
    const pages: T[][] = [];
    let cursor: string | null = null;
    do {
      const sep = url.includes('?') ? '&' : '?';
      const res = await get(`${url}${sep}limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`);
      expect(res.statusCode).toBe(200);
      const body = res.json<Page<T>>();
      pages.push(body.data);
      cursor = body.nextCursor;
    } while (cursor && pages.length < 100);
    return pages;
  }
  const steps = [
    { type: 'email', subject: 'Hi', body: 'Hello' },
    { type: 'wait', days: 2 },
    { type: 'email', subject: 'x', body: 'Again', thread: 'reply' },
  ];

  it("pages a sequence's and a lead's enrollments, newest first, filtered by status", async () => {
    const first = await createSequence(engine.app, ws, { steps });
    const second = await createSequence(engine.app, ws, { steps });
    const leads = await insertLeads(engine.deps.db, ws.id, 5);
    const ids = leads.map((l) => l.id);
    const { enrolled } = await enrollLeads(engine.app, ws, first, ids);
    await enrollLeads(engine.app, ws, second, [ids[0] ?? '']);
    const stopped = enrolled[1]?.enrollmentId;
    const stop = await engine.app.inject({
      method: 'POST',
      url: `/v1/enrollments/${stopped}/stop`,
      headers: ws.auth,
    });
    expect(stop.statusCode).toBe(200);

    const pages = await walk<{ id: string; leadId: string; status: string; version: number }>(
      `/sequences/${first}/enrollments`,
      2,
    );
    expect(pages.map((p) => p.length)).toEqual([2, 2, 1]);
    const all = pages.flat();
    expect(new Set(all.map((e) => e.id))).toEqual(new Set(enrolled.map((e) => e.enrollmentId)));
    expect(all[0]).toMatchObject({ version: 1 });
    const onlyStopped = (await get(`/sequences/${first}/enrollments?status=stopped`)).json<
      Page<{ id: string }>
    >();
    expect(onlyStopped).toEqual({
      data: [expect.objectContaining({ id: stopped, status: 'stopped' })],
      nextCursor: null,
    });
    expect((await get(`/sequences/${first}/enrollments?status=active`)).json().data).toHaveLength(4);

    const ofLead = (await get(`/leads/${ids[0]}/enrollments`)).json<Page<{ sequenceId: string }>>();
    expect(ofLead.data.map((e) => e.sequenceId)).toEqual([second, first]);

    const bad = await get(`/sequences/${first}/enrollments?status=sleeping`);
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.details.map((d: { path: string }) => d.path)).toContain('querystring.status');
    expect((await get(`/sequences/${first}/enrollments?cursor=bm9wZQ`)).statusCode).toBe(400);
    const other = await createTestWorkspace(engine.app, 'Other');
    expect((await get(`/sequences/${first}/enrollments`, other.auth)).statusCode).toBe(404);
    expect((await get(`/leads/${ids[0]}/enrollments`, other.auth)).statusCode).toBe(404);
  });

  it('lists step runs in every status or one, oldest first, with a cursor', async () => {
    const own = await createTestWorkspace(engine.app, 'Runs');
    const sequence = await createSequence(engine.app, own, { steps });
    const leads = await insertLeads(engine.deps.db, own.id, 3);
    const { enrolled } = await enrollLeads(
      engine.app,
      own,
      sequence,
      leads.map((l) => l.id),
    );
    await engine.app.inject({
      method: 'POST',
      url: `/v1/enrollments/${enrolled[0]?.enrollmentId}/stop`,
      headers: own.auth,
    });
    const page = async (query: string) => {
      const res = await get(`/step-runs${query}`, own.auth);
      expect(res.statusCode).toBe(200);
      return res.json<Page<{ id: string; status: string; enrollmentId: string }>>();
    };
    const everything = await page('');
    expect(everything.data).toHaveLength(3);
    expect(everything.nextCursor).toBeNull();
    const firstTwo = await page('?limit=2');
    expect(firstTwo.data).toEqual(everything.data.slice(0, 2));
    expect((await page(`?limit=2&cursor=${firstTwo.nextCursor}`)).data).toEqual(everything.data.slice(2));
    const scheduled = await page('?status=scheduled');
    expect(scheduled.data.map((r) => r.status)).toEqual(['scheduled', 'scheduled']);
    expect((await page('?status=ambiguous')).data).toEqual([]);
  });

  it('pages the lead timeline without repeating or skipping items that share a timestamp', async () => {
    const [lead] = await insertLeads(engine.deps.db, ws.id, 1);
    if (!lead) throw new Error('no lead');
    const at = new Date('2026-03-01T10:00:00.000Z');
    await recordEvents(
      engine.deps.db,
      Array.from({ length: 7 }, (_, i) => ({
        workspaceId: ws.id,
        type: 'email.opened',
        leadId: lead.id,
        data: { n: i },
        at: i < 5 ? at : new Date(at.getTime() + i * 1000),
      })),
    );
    for (const body of ['first note', 'second note'])
      await engine.app.inject({
        method: 'POST',
        url: `/v1/leads/${lead.id}/notes`,
        headers: ws.auth,
        payload: { body },
      });
    const whole = (await get(`/leads/${lead.id}/timeline`)).json<Page<{ type: string; at: string }>>();
    expect(whole.nextCursor).toBeNull();
    expect(whole.data.filter((i) => i.type === 'event')).toHaveLength(7);
    for (const limit of [1, 2, 3]) {
      const pages = await walk<{ type: string; at: string }>(`/leads/${lead.id}/timeline`, limit);
      expect(pages.flat()).toEqual(whole.data);
    }
    // `limit` alone answers as before (plus nextCursor).
    const limited = (await get(`/leads/${lead.id}/timeline?limit=3`)).json<Page<unknown>>();
    expect(limited.data).toEqual(whole.data.slice(0, 3));
    expect(limited.nextCursor).toEqual(expect.any(String));
    expect((await get(`/leads/${lead.id}/timeline?cursor=garbage`)).statusCode).toBe(400);
  });
});
