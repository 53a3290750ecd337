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

  it("takes OAuth2 for Gmail with the provider's servers as defaults, seals the secrets and never returns them", async () => {
    const ws = await createTestWorkspace(engine.app);
    const oauth2 = {
      provider: 'google',
      clientId: 'client-123.apps.googleusercontent.com',
      clientSecret: 'GOCSPX-very-secret',
      refreshToken: '1//refresh-token-secret',
      user: 'alex@acme.example',
    };
    const res = await engine.app.inject({
      method: 'POST',
      url: '/v1/mailboxes',
      headers: ws.auth,
      payload: { name: 'Alex', fromEmail: 'alex@acme.example', oauth2 },
    });
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json()).toMatchObject({
      smtp: { host: 'smtp.gmail.com', port: 465, secure: true, tls: 'required', hasCredentials: true },
      imap: { host: 'imap.gmail.com', port: 993, secure: true, tls: 'required', hasOwnCredentials: false },
      oauth2: { provider: 'google', clientId: oauth2.clientId, user: oauth2.user, tokenUrl: null },
      inbox: { status: 'idle', lastSyncAt: null, lastError: null, lag: null },
    });
    expect(res.body).not.toContain('very-secret');
    expect(res.body).not.toContain('refresh-token-secret');
    const { rows } = await engine.deps.pool.query('select * from mailboxes where id = $1', [res.json().id]);
    expect(JSON.stringify(rows[0])).not.toContain('refresh-token-secret');
    expect(JSON.stringify(rows[0])).not.toContain('GOCSPX-very-secret');
  });

  it('refuses bad inbox settings with the failing field: no SMTP without a known provider, a custom provider without its token URL, a private IMAP host, a folder with control characters', async () => {
    const ws = await createTestWorkspace(engine.app);
    const post = (payload: Record<string, unknown>) =>
      engine.app.inject({ method: 'POST', url: '/v1/mailboxes', headers: ws.auth, payload });
    const custom = {
      provider: 'custom',
      clientId: 'c',
      clientSecret: 's',
      refreshToken: 'r',
      user: 'u@x.example',
    };
    const cases: [Record<string, unknown>, string, string][] = [
      [{ name: 'A', fromEmail: 'a@x.example' }, 'validation_failed', 'body.smtp'],
      [{ ...body(), oauth2: custom }, 'validation_failed', 'body.oauth2.tokenUrl'],
      [
        {
          name: 'A',
          fromEmail: 'a@x.example',
          oauth2: { ...custom, tokenUrl: 'https://auth.x.example/token' },
        },
        'validation_failed',
        'body.smtp',
      ],
      [{ ...body(), imap: { host: '169.254.169.254', port: 993 } }, 'private_address', 'body.imap.host'],
      [
        { ...body(), oauth2: { ...custom, tokenUrl: 'http://127.0.0.2/token' } },
        'private_address',
        'body.oauth2.tokenUrl',
      ],
      [
        { ...body(), imap: { host: 'imap.x.example', folders: ['INBOX', 'a\u0000b'] } },
        'validation_failed',
        'body.imap.folders.1',
      ],
      [
        { ...body(), oauth2: { ...custom, tokenUrl: 'file:///etc/passwd' } },
        'validation_failed',
        'body.oauth2.tokenUrl',
      ],
    ];
    for (const [payload, code, path] of cases) {
      const res = await post(payload);
      expect(res.statusCode, `${path}: ${res.body}`).toBe(400);
      expect(res.json().error.code).toBe(code);
      expect(res.json().error.details.map((d: { path: string }) => d.path)).toContain(path);
    }
    const list = await engine.app.inject({ method: 'GET', url: '/v1/mailboxes', headers: ws.auth });
    expect(list.json().data).toEqual([]);
  });

  it('an inbox removed with imap: null is disabled, and new credentials clear a failure so they are tried at once', async () => {
    const ws = await createTestWorkspace(engine.app);
    const created = await engine.app.inject({
      method: 'POST',
      url: '/v1/mailboxes',
      headers: ws.auth,
      payload: body({ imap: { host: 'imap.sender.test' } }),
    });
    const id = created.json().id;
    expect(created.json().imap).toMatchObject({ host: 'imap.sender.test', port: 993, secure: true });
    await engine.deps.pool.query(
      "update mailboxes set inbox_status = 'auth_failed', inbox_last_error = 'NO [AUTHENTICATIONFAILED]', inbox_failures = 3, inbox_retry_at = now() + interval '5 minutes' where id = $1",
      [id],
    );
    const patched = await engine.app.inject({
      method: 'PATCH',
      url: `/v1/mailboxes/${id}`,
      headers: ws.auth,
      payload: { smtp: { pass: 'the-new-password' } },
    });
    expect(patched.json().inbox).toMatchObject({ status: 'idle', lastError: null });
    const { rows } = await engine.deps.pool.query(
      'select inbox_retry_at, inbox_failures from mailboxes where id = $1',
      [id],
    );
    expect(rows[0]).toEqual({ inbox_retry_at: null, inbox_failures: 0 });
    const removed = await engine.app.inject({
      method: 'PATCH',
      url: `/v1/mailboxes/${id}`,
      headers: ws.auth,
      payload: { imap: null },
    });
    expect(removed.json()).toMatchObject({ imap: null, inbox: { status: 'disabled' } });
  });
});
