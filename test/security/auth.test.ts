import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, createTestWorkspace, startTestEngine } from '../helpers/engine';
import { type ApiRoute, discoverV1Routes, fillPath, routeName } from './support/api-routes';
import { createFingerprinter } from './support/db-fingerprint';
import { authModeOf } from './support/fuzz-route';
import { createTenant, type Tenant } from './support/fixtures';

const engine = await startTestEngine({ env: { RATE_LIMIT_PER_MINUTE: '100000' } });
const routes = await discoverV1Routes(engine.app);
const fingerprint = await createFingerprinter(engine.deps.pool);

/** A URL for the route with random ids: auth is checked before anything looks the ids up. */
const anyUrl = (route: ApiRoute) =>
  fillPath(route.path, Object.fromEntries(route.pathParams.map((p) => [p.name, randomUUID()])));

describe('authentication on every /v1 route', () => {
  let tenant: Tenant;
  let modes: Map<ApiRoute, Awaited<ReturnType<typeof authModeOf>>>;
  beforeAll(async () => {
    tenant = await createTenant(engine.app, `auth${randomUUID().slice(0, 6)}`);
    modes = new Map();
    for (const route of routes) modes.set(route, await authModeOf(engine.app, route, tenant));
  });
  afterAll(() => engine.close());

  const routesBy = (mode: string) => routes.filter((r) => modes.get(r) === mode);

  /** Sends each route a JSON body too, so a 401 is shown to come before body validation. */
  const send = (route: ApiRoute, headers: Record<string, string>) =>
    engine.app.inject({ method: route.method, url: anyUrl(route), headers, payload: { bogus: true } });

  it('knows which routes take a key, the admin token or a signature', () => {
    expect(routesBy('key').length).toBeGreaterThan(50);
    expect(routesBy('admin').map(routeName)).toEqual([
      'POST /v1/workspaces',
      'GET /v1/workspaces/{id}/webhook-secret',
      'POST /v1/workspaces/{id}/webhook-secret/rotate',
    ]);
    expect(routesBy('signed').length).toBe(3);
  });

  it('answers 401 to a revoked key on every key route, and changes nothing', async () => {
    const created = await engine.app.inject({
      method: 'POST',
      url: '/v1/api-keys',
      headers: tenant.auth,
      payload: { name: 'to revoke' },
    });
    const key = created.json<{ id: string; apiKey: string }>();
    const revoke = await engine.app.inject({
      method: 'DELETE',
      url: `/v1/api-keys/${key.id}`,
      headers: tenant.auth,
    });
    expect(revoke.statusCode).toBe(204);
    const before = await fingerprint();
    for (const route of routesBy('key')) {
      const res = await send(route, { authorization: `Bearer ${key.apiKey}` });
      expect(res.statusCode, routeName(route)).toBe(401);
      expect(res.json().error.code).toBe('unauthorized');
    }
    expect(await fingerprint()).toEqual(before);
  });

  it('answers 401 to a missing, malformed or foreign credential on every key route', async () => {
    const credentials = [
      undefined,
      'Bearer',
      'Bearer ',
      `Basic ${Buffer.from(`x:${tenant.apiKey}`).toString('base64')}`,
      `Bearer ${tenant.apiKey}x`,
      `Bearer ${tenant.apiKey.slice(0, -1)}`,
      `Bearer ${ADMIN_TOKEN}`,
      `Bearer ${tenant.webhookSecret}`,
      `${tenant.apiKey}`,
    ];
    for (const route of routesBy('key')) {
      for (const authorization of credentials) {
        const res = await send(route, authorization === undefined ? {} : { authorization });
        expect(res.statusCode, `${routeName(route)} with ${authorization}`).toBe(401);
      }
    }
  });

  it('needs the admin token on admin routes: a workspace key is not enough', async () => {
    for (const route of routesBy('admin')) {
      for (const headers of [{}, tenant.auth, { authorization: 'Bearer not-the-admin-token-000' }]) {
        const res = await send(route, headers);
        expect(res.statusCode, routeName(route)).toBe(401);
      }
    }
    const created = await createTestWorkspace(engine.app, 'made by admin');
    expect(created.apiKey).toMatch(/^ok_/);
  });

  it('guards the queue dashboard with the admin token', async () => {
    const keyOnly = await engine.app.inject({ method: 'GET', url: '/admin/queues', headers: tenant.auth });
    expect(keyOnly.statusCode).toBe(401);
    const anonymous = await engine.app.inject({ method: 'GET', url: '/admin/queues/api/queues' });
    expect(anonymous.statusCode).toBe(401);
    const admin = await engine.app.inject({
      method: 'GET',
      url: '/admin/queues',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(admin.statusCode).toBe(200);
  });

  it('does not take an API key instead of a webhook signature', async () => {
    for (const route of routesBy('signed')) {
      const url = fillPath(route.path, { workspaceId: tenant.id });
      const res = await engine.app.inject({
        method: 'POST',
        url,
        headers: { ...tenant.auth, 'content-type': 'application/json' },
        payload: JSON.stringify({
          from: 'x@example.test',
          type: 'reply',
          linkedinUrl: 'https://www.linkedin.com/in/x',
        }),
      });
      expect(res.statusCode, url).toBe(401);
      expect(res.json().error.code).toBe('invalid_signature');
    }
  });
});
