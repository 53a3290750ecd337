import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, createTestWorkspace, startTestEngine, type TestEngine } from '../helpers/engine';

describe('workspaces and API keys', () => {
  let engine: TestEngine;
  beforeAll(async () => {
    engine = await startTestEngine();
  });
  afterAll(() => engine.close());

  it('creates a workspace with the admin token and reads it back with the key', async () => {
    const ws = await createTestWorkspace(engine.app, 'Initech');
    expect(ws.apiKey).toMatch(/^ok_/);
    expect(ws.webhookSecret).toMatch(/^whsec_/);
    const res = await engine.app.inject({ method: 'GET', url: '/v1/workspace', headers: ws.auth });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ id: ws.id, name: 'Initech', timezone: 'UTC' });
  });

  it('answers 401 to a wrong key, a missing key, and the admin token on a workspace route', async () => {
    for (const authorization of ['Bearer ok_wrong', undefined, `Bearer ${ADMIN_TOKEN}`]) {
      const res = await engine.app.inject({
        method: 'GET',
        url: '/v1/workspace',
        headers: authorization ? { authorization } : {},
      });
      expect(res.statusCode).toBe(401);
      expect(res.json().error.code).toBe('unauthorized');
    }
  });

  it('refuses workspace creation without the admin token', async () => {
    const ws = await createTestWorkspace(engine.app);
    const res = await engine.app.inject({
      method: 'POST',
      url: '/v1/workspaces',
      headers: ws.auth,
      payload: { name: 'x' },
    });
    expect(res.statusCode).toBe(401);
  });

  it('rejects a bad body with validation_failed and the failing path', async () => {
    const res = await engine.app.inject({
      method: 'POST',
      url: '/v1/workspaces',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      payload: { name: '', timezone: 'Mars/Olympus' },
    });
    expect(res.statusCode).toBe(400);
    const body = res.json();
    expect(body.error.code).toBe('validation_failed');
    expect(body.error.details.map((d: { path: string }) => d.path)).toEqual(
      expect.arrayContaining(['body.name', 'body.timezone']),
    );
  });

  it('revokes a key: the revoked key gets 401, the other still works', async () => {
    const ws = await createTestWorkspace(engine.app);
    const created = await engine.app.inject({
      method: 'POST',
      url: '/v1/api-keys',
      headers: ws.auth,
      payload: { name: 'ci' },
    });
    expect(created.statusCode).toBe(201);
    const second = created.json<{ id: string; apiKey: string }>();
    const del = await engine.app.inject({
      method: 'DELETE',
      url: `/v1/api-keys/${second.id}`,
      headers: ws.auth,
    });
    expect(del.statusCode).toBe(204);
    const revoked = await engine.app.inject({
      method: 'GET',
      url: '/v1/workspace',
      headers: { authorization: `Bearer ${second.apiKey}` },
    });
    expect(revoked.statusCode).toBe(401);
    const still = await engine.app.inject({ method: 'GET', url: '/v1/workspace', headers: ws.auth });
    expect(still.statusCode).toBe(200);
  });

  it('keeps workspaces apart: another workspace cannot revoke my key', async () => {
    const a = await createTestWorkspace(engine.app, 'A');
    const b = await createTestWorkspace(engine.app, 'B');
    const keys = await engine.app.inject({ method: 'GET', url: '/v1/api-keys', headers: a.auth });
    const keyId = keys.json<{ data: { id: string }[] }>().data[0]?.id;
    const res = await engine.app.inject({ method: 'DELETE', url: `/v1/api-keys/${keyId}`, headers: b.auth });
    expect(res.statusCode).toBe(404);
    expect(res.json().error.code).toBe('not_found');
  });

  it('serves the OpenAPI document and health', async () => {
    const doc = await engine.app.inject({ method: 'GET', url: '/openapi.json' });
    expect(doc.statusCode).toBe(200);
    expect(doc.json().paths['/v1/workspaces']).toBeDefined();
    const health = await engine.app.inject({ method: 'GET', url: '/health' });
    expect(health.json()).toEqual({ status: 'ok', postgres: 'ok', redis: 'ok' });
  });
});
