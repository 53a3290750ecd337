import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestWorkspace, startTestEngine, type TestEngine } from '../../helpers/engine';

const body = (overrides: Record<string, unknown> = {}) => ({
  name: 'Sales',
  fromEmail: 'sales@sender.test',
  fromName: 'Sam Sender',
  smtp: { host: 'smtp.sender.test', port: 587, user: 'sam@sender.test', pass: 'very-secret-pass' },
  ...overrides,
});

describe('mailboxes API', () => {
  let engine: TestEngine;
  beforeAll(async () => {
    engine = await startTestEngine();
  });
  afterAll(() => engine.close());

  const rawRow = async (id: string) => {
    const { rows } = await engine.deps.pool.query<{
      smtp_pass_enc: string | null;
      smtp_user: string | null;
      status: string;
    }>('select smtp_pass_enc, smtp_user, status from mailboxes where id = $1', [id]);
    return rows[0];
  };

  it('creates a mailbox with the default limits, encrypts the password and never returns credentials', async () => {
    const ws = await createTestWorkspace(engine.app);
    const res = await engine.app.inject({
      method: 'POST',
      url: '/v1/mailboxes',
      headers: ws.auth,
      payload: body(),
    });
    expect(res.statusCode).toBe(201);
    const mailbox = res.json();
    expect(mailbox).toMatchObject({
      name: 'Sales',
      fromEmail: 'sales@sender.test',
      fromName: 'Sam Sender',
      dailyLimit: 50,
      minIntervalSeconds: 60,
      status: 'active',
      warmup: null,
      smtp: { host: 'smtp.sender.test', port: 587, secure: false, hasCredentials: true },
    });
    expect(res.body).not.toContain('very-secret-pass');
    expect(res.body).not.toContain('sam@sender.test');

    const row = await rawRow(mailbox.id);
    expect(row?.smtp_pass_enc).toBeTruthy();
    expect(row?.smtp_pass_enc).not.toContain('very-secret-pass');
    expect(engine.deps.secrets.decrypt(row?.smtp_pass_enc ?? '')).toBe('very-secret-pass');

    const list = await engine.app.inject({ method: 'GET', url: '/v1/mailboxes', headers: ws.auth });
    expect(list.json().data.map((m: { id: string }) => m.id)).toEqual([mailbox.id]);
    expect(list.body).not.toContain('very-secret-pass');
  });

  it('updates limits, status and the password (re-encrypted), and bumps updatedAt', async () => {
    const ws = await createTestWorkspace(engine.app);
    const created = (
      await engine.app.inject({ method: 'POST', url: '/v1/mailboxes', headers: ws.auth, payload: body() })
    ).json();
    const res = await engine.app.inject({
      method: 'PATCH',
      url: `/v1/mailboxes/${created.id}`,
      headers: ws.auth,
      payload: {
        dailyLimit: 5,
        minIntervalSeconds: 0,
        status: 'paused',
        smtp: { pass: 'rotated-pass', port: 465 },
      },
    });
    expect(res.statusCode).toBe(200);
    const updated = res.json();
    expect(updated).toMatchObject({
      dailyLimit: 5,
      minIntervalSeconds: 0,
      status: 'paused',
      smtp: { port: 465, host: 'smtp.sender.test' },
    });
    expect(new Date(updated.updatedAt).getTime()).toBeGreaterThan(new Date(created.updatedAt).getTime());
    const row = await rawRow(created.id);
    expect(engine.deps.secrets.decrypt(row?.smtp_pass_enc ?? '')).toBe('rotated-pass');

    const cleared = await engine.app.inject({
      method: 'PATCH',
      url: `/v1/mailboxes/${created.id}`,
      headers: ws.auth,
      payload: { smtp: { user: null, pass: null } },
    });
    expect(cleared.json().smtp.hasCredentials).toBe(false);
    expect((await rawRow(created.id))?.smtp_pass_enc).toBeNull();
  });

  it('stores a warm-up ramp that starts today unless told otherwise', async () => {
    const ws = await createTestWorkspace(engine.app);
    const res = await engine.app.inject({
      method: 'POST',
      url: '/v1/mailboxes',
      headers: ws.auth,
      payload: body({ warmup: { startLimit: 5, increasePerDay: 2 } }),
    });
    expect(res.statusCode).toBe(201);
    expect(res.json().warmup).toEqual({
      startLimit: 5,
      increasePerDay: 2,
      startedAt: new Date().toISOString().slice(0, 10),
    });
    const off = await engine.app.inject({
      method: 'PATCH',
      url: `/v1/mailboxes/${res.json().id}`,
      headers: ws.auth,
      payload: { warmup: null },
    });
    expect(off.json().warmup).toBeNull();
  });

  it('soft-deletes: 204, then 404 and gone from the list, while the row stays', async () => {
    const ws = await createTestWorkspace(engine.app);
    const { id } = (
      await engine.app.inject({ method: 'POST', url: '/v1/mailboxes', headers: ws.auth, payload: body() })
    ).json();
    const del = await engine.app.inject({ method: 'DELETE', url: `/v1/mailboxes/${id}`, headers: ws.auth });
    expect(del.statusCode).toBe(204);
    expect(
      (await engine.app.inject({ method: 'GET', url: `/v1/mailboxes/${id}`, headers: ws.auth })).statusCode,
    ).toBe(404);
    expect(
      (await engine.app.inject({ method: 'DELETE', url: `/v1/mailboxes/${id}`, headers: ws.auth }))
        .statusCode,
    ).toBe(404);
    const list = await engine.app.inject({ method: 'GET', url: '/v1/mailboxes', headers: ws.auth });
    expect(list.json().data).toEqual([]);
    expect((await rawRow(id))?.status).toBe('deleted');
  });

  it('keeps workspaces apart', async () => {
    const a = await createTestWorkspace(engine.app);
    const b = await createTestWorkspace(engine.app);
    const { id } = (
      await engine.app.inject({ method: 'POST', url: '/v1/mailboxes', headers: a.auth, payload: body() })
    ).json();
    for (const method of ['GET', 'PATCH', 'DELETE'] as const) {
      const res = await engine.app.inject({
        method,
        url: `/v1/mailboxes/${id}`,
        headers: b.auth,
        ...(method === 'PATCH' ? { payload: { name: 'x' } } : {}),
      });
      expect(res.statusCode).toBe(404);
      expect(res.json().error.code).toBe('not_found');
    }
    expect((await rawRow(id))?.status).toBe('active');
  });

  it.each([
    ['a bad from address', body({ fromEmail: 'not-an-email' }), 'body.fromEmail'],
    ['a line break in the from name', body({ fromName: 'Sam\r\nBcc: x@evil.test' }), 'body.fromName'],
    ['port 0', body({ smtp: { host: 'smtp.sender.test', port: 0 } }), 'body.smtp.port'],
    ['a host with a space', body({ smtp: { host: 'smtp sender', port: 25 } }), 'body.smtp.host'],
    ['a zero daily limit', body({ dailyLimit: 0 }), 'body.dailyLimit'],
    ['a negative spacing', body({ minIntervalSeconds: -1 }), 'body.minIntervalSeconds'],
    ['a ramp without a start', body({ warmup: { increasePerDay: 1 } }), 'body.warmup.startLimit'],
  ])('rejects %s with 400 and the failing path', async (_name, payload, path) => {
    const ws = await createTestWorkspace(engine.app);
    const res = await engine.app.inject({ method: 'POST', url: '/v1/mailboxes', headers: ws.auth, payload });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('validation_failed');
    expect(res.json().error.details.map((d: { path: string }) => d.path)).toContain(path);
    const list = await engine.app.inject({ method: 'GET', url: '/v1/mailboxes', headers: ws.auth });
    expect(list.json().data).toEqual([]);
  });

  it('documents the email routes in the OpenAPI document', async () => {
    const doc = await engine.app.inject({ method: 'GET', url: '/openapi.json' });
    const paths = Object.keys(doc.json().paths);
    for (const path of [
      '/v1/mailboxes',
      '/v1/mailboxes/{id}',
      '/v1/suppressions',
      '/v1/suppressions/{id}',
      '/u/{token}',
    ])
      expect(paths).toContain(path);
  });
});
