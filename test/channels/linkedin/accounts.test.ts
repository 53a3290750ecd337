import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StoredSession } from '../../../src/channels/linkedin/session';
import { linkedinAccounts } from '../../../src/db/schema/index';
import { createTestWorkspace, startTestEngine, type TestEngine } from '../../helpers/engine';

const liAt = 'AQEDAR-secret-session-cookie-value';
const exported = [
  {
    name: 'li_at',
    value: liAt,
    domain: '.www.linkedin.com',
    path: '/',
    expirationDate: 1893456000,
    httpOnly: true,
    secure: true,
    sameSite: 'no_restriction',
  },
  { name: 'JSESSIONID', value: '"ajax:123"', domain: '.www.linkedin.com', path: '/', secure: true },
];

describe('LinkedIn accounts API', () => {
  let engine: TestEngine;
  beforeAll(async () => {
    engine = await startTestEngine();
  });
  afterAll(() => engine.close());

  const storedRow = async (id: string) => {
    const [row] = await engine.deps.db.select().from(linkedinAccounts).where(eq(linkedinAccounts.id, id));
    if (!row) throw new Error('row missing');
    return row;
  };

  it('creates from li_at with default limits; the session is sealed in the DB and never returned', async () => {
    const ws = await createTestWorkspace(engine.app);
    const res = await engine.app.inject({
      method: 'POST',
      url: '/v1/linkedin-accounts',
      headers: ws.auth,
      payload: { name: 'Sales', liAt },
    });
    expect(res.statusCode).toBe(201);
    const body = res.json();
    expect(body).toMatchObject({
      name: 'Sales',
      status: 'active',
      limits: { invitesPerWeek: 100, messagesPerDay: 50, visitsPerDay: 80 },
      usage: { invites: 0, messages: 0, visits: 0 },
      workingHours: null,
    });
    expect(res.body).not.toContain(liAt);
    const row = await storedRow(body.id);
    expect(row.sessionEnc).not.toContain(liAt);
    const session = StoredSession.parse(JSON.parse(engine.deps.secrets.decrypt(row.sessionEnc)));
    expect(session.cookies).toEqual([expect.objectContaining({ name: 'li_at', value: liAt })]);
    for (const url of ['/v1/linkedin-accounts', `/v1/linkedin-accounts/${body.id}`]) {
      const read = await engine.app.inject({ method: 'GET', url, headers: ws.auth });
      expect(read.statusCode).toBe(200);
      expect(read.body).not.toContain(liAt);
      expect(read.body).not.toMatch(/session|cookies|liAt/);
    }
  });

  it('creates from an exported cookie list with custom limits and working hours', async () => {
    const ws = await createTestWorkspace(engine.app);
    const res = await engine.app.inject({
      method: 'POST',
      url: '/v1/linkedin-accounts',
      headers: ws.auth,
      payload: {
        name: 'Founder',
        cookies: exported,
        limits: { invitesPerWeek: 20 },
        workingHours: { timezone: 'Europe/Paris', days: [1, 2, 3, 4, 5], start: '09:00', end: '18:00' },
      },
    });
    expect(res.statusCode).toBe(201);
    expect(res.json()).toMatchObject({
      limits: { invitesPerWeek: 20, messagesPerDay: 50, visitsPerDay: 80 },
      workingHours: { timezone: 'Europe/Paris', start: '09:00' },
    });
    const row = await storedRow(res.json().id);
    const session = StoredSession.parse(JSON.parse(engine.deps.secrets.decrypt(row.sessionEnc)));
    expect(session.cookies.map((c) => c.name)).toEqual(['li_at', 'JSESSIONID']);
  });

  it('rejects bad bodies with the failing path and writes nothing', async () => {
    const ws = await createTestWorkspace(engine.app);
    const cases: [Record<string, unknown>, string][] = [
      [{ name: 'x' }, 'body.cookies'],
      [{ name: 'x', liAt, cookies: exported }, 'body.liAt'],
      [{ name: 'x', cookies: [{ name: 'JSESSIONID', value: 'y' }] }, 'body.cookies'],
      [{ name: 'x', liAt, limits: { invitesPerWeek: -1 } }, 'body.limits.invitesPerWeek'],
      [{ name: 'x', liAt, limits: { perHour: 3 } }, 'body.limits'],
      [
        { name: 'x', liAt, workingHours: { days: [8], start: '9', end: '18:00' } },
        'body.workingHours.days.0',
      ],
      [{ name: '', liAt }, 'body.name'],
      [{ name: 'x', liAt, locale: 'German' }, 'body.locale'],
      [{ name: 'x', liAt, locale: 'de_DE' }, 'body.locale'],
      [{ name: 'x', liAt, whenNoteQuotaExhausted: 'retry' }, 'body.whenNoteQuotaExhausted'],
    ];
    for (const [payload, path] of cases) {
      const res = await engine.app.inject({
        method: 'POST',
        url: '/v1/linkedin-accounts',
        headers: ws.auth,
        payload,
      });
      expect(res.statusCode, JSON.stringify(payload)).toBe(400);
      expect(res.json().error.code).toBe('validation_failed');
      expect(res.json().error.details.map((d: { path: string }) => d.path)).toContain(path);
    }
    const rows = await engine.deps.db
      .select()
      .from(linkedinAccounts)
      .where(eq(linkedinAccounts.workspaceId, ws.id));
    expect(rows).toEqual([]);
  });

  it('updates limits partially, pauses, and a new session revives a challenged account', async () => {
    const ws = await createTestWorkspace(engine.app);
    const created = await engine.app.inject({
      method: 'POST',
      url: '/v1/linkedin-accounts',
      headers: ws.auth,
      payload: { name: 'A', liAt, limits: { invitesPerWeek: 30 } },
    });
    const id = created.json().id;
    const patch = (payload: Record<string, unknown>) =>
      engine.app.inject({ method: 'PATCH', url: `/v1/linkedin-accounts/${id}`, headers: ws.auth, payload });
    const limited = await patch({ limits: { messagesPerDay: 10 }, status: 'paused' });
    expect(limited.statusCode).toBe(200);
    expect(limited.json()).toMatchObject({
      status: 'paused',
      limits: { invitesPerWeek: 30, messagesPerDay: 10, visitsPerDay: 80 },
    });
    expect((await patch({ status: 'challenged' })).statusCode).toBe(400);
    await engine.deps.db
      .update(linkedinAccounts)
      .set({ status: 'challenged', statusReason: 'checkpoint' })
      .where(eq(linkedinAccounts.id, id));
    const relogged = await patch({ liAt: 'AQEDAR-a-brand-new-session' });
    expect(relogged.json()).toMatchObject({ status: 'active', statusReason: null });
    const row = await storedRow(id);
    expect(JSON.parse(engine.deps.secrets.decrypt(row.sessionEnc)).cookies[0].value).toBe(
      'AQEDAR-a-brand-new-session',
    );
  });

  it('takes the browser language and the note-quota setting; a person resumes a stopped account', async () => {
    const ws = await createTestWorkspace(engine.app);
    const created = await engine.app.inject({
      method: 'POST',
      url: '/v1/linkedin-accounts',
      headers: ws.auth,
      payload: { name: 'Berlin', liAt, locale: 'de-DE' },
    });
    expect(created.statusCode).toBe(201);
    expect(created.json()).toMatchObject({
      status: 'active',
      locale: 'de-DE',
      whenNoteQuotaExhausted: 'fail',
      layoutCheck: null,
    });
    const id = created.json().id;
    const patch = (payload: Record<string, unknown>) =>
      engine.app.inject({ method: 'PATCH', url: `/v1/linkedin-accounts/${id}`, headers: ws.auth, payload });
    expect((await patch({ locale: null, whenNoteQuotaExhausted: 'send_without_note' })).json()).toMatchObject(
      {
        locale: null,
        whenNoteQuotaExhausted: 'send_without_note',
      },
    );
    expect((await patch({ status: 'layout_unrecognized' })).statusCode).toBe(400);
    await engine.deps.db
      .update(linkedinAccounts)
      .set({ status: 'layout_unrecognized', statusReason: 'profile.top_card' })
      .where(eq(linkedinAccounts.id, id));
    const listed = await engine.app.inject({ method: 'GET', url: '/v1/linkedin-accounts', headers: ws.auth });
    expect(listed.json().data).toEqual([
      expect.objectContaining({ status: 'layout_unrecognized', statusReason: 'profile.top_card' }),
    ]);
    // A new session does not mean LinkedIn's pages are known again; a person says so.
    expect((await patch({ liAt: 'AQEDAR-another-session' })).json()).toMatchObject({
      status: 'layout_unrecognized',
    });
    expect((await patch({ status: 'active' })).json()).toMatchObject({
      status: 'active',
      statusReason: null,
    });
  });

  it('deletes: gone from the API, session wiped in the DB', async () => {
    const ws = await createTestWorkspace(engine.app);
    const id = (
      await engine.app.inject({
        method: 'POST',
        url: '/v1/linkedin-accounts',
        headers: ws.auth,
        payload: { name: 'D', liAt },
      })
    ).json().id;
    const del = await engine.app.inject({
      method: 'DELETE',
      url: `/v1/linkedin-accounts/${id}`,
      headers: ws.auth,
    });
    expect(del.statusCode).toBe(204);
    const get = await engine.app.inject({
      method: 'GET',
      url: `/v1/linkedin-accounts/${id}`,
      headers: ws.auth,
    });
    expect(get.statusCode).toBe(404);
    const again = await engine.app.inject({
      method: 'DELETE',
      url: `/v1/linkedin-accounts/${id}`,
      headers: ws.auth,
    });
    expect(again.statusCode).toBe(404);
    expect(engine.deps.secrets.decrypt((await storedRow(id)).sessionEnc)).not.toContain(liAt);
  });

  it('keeps workspaces apart', async () => {
    const a = await createTestWorkspace(engine.app, 'A');
    const b = await createTestWorkspace(engine.app, 'B');
    const id = (
      await engine.app.inject({
        method: 'POST',
        url: '/v1/linkedin-accounts',
        headers: a.auth,
        payload: { name: 'Mine', liAt },
      })
    ).json().id;
    const url = `/v1/linkedin-accounts/${id}`;
    expect((await engine.app.inject({ method: 'GET', url, headers: b.auth })).statusCode).toBe(404);
    const patch = await engine.app.inject({
      method: 'PATCH',
      url,
      headers: b.auth,
      payload: { name: 'Stolen' },
    });
    expect(patch.statusCode).toBe(404);
    expect((await engine.app.inject({ method: 'DELETE', url, headers: b.auth })).statusCode).toBe(404);
    const list = await engine.app.inject({ method: 'GET', url: '/v1/linkedin-accounts', headers: b.auth });
    expect(list.json()).toEqual({ data: [], nextCursor: null });
    expect((await engine.app.inject({ method: 'GET', url, headers: a.auth })).json().name).toBe('Mine');
  });

  it('paginates the list with a cursor', async () => {
    const ws = await createTestWorkspace(engine.app);
    for (const name of ['one', 'two', 'three']) {
      await engine.app.inject({
        method: 'POST',
        url: '/v1/linkedin-accounts',
        headers: ws.auth,
        payload: { name, liAt },
      });
    }
    const first = await engine.app.inject({
      method: 'GET',
      url: '/v1/linkedin-accounts?limit=2',
      headers: ws.auth,
    });
    const page1 = first.json();
    expect(page1.data.map((a: { name: string }) => a.name)).toEqual(['one', 'two']);
    const second = await engine.app.inject({
      method: 'GET',
      url: `/v1/linkedin-accounts?limit=2&cursor=${page1.nextCursor}`,
      headers: ws.auth,
    });
    expect(second.json()).toMatchObject({ data: [{ name: 'three' }], nextCursor: null });
  });
});
