import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminTokenProblem, loadConfig } from '../../src/config';
import { startTestEngine, type TestEngine } from '../helpers/engine';
import { type ApiRoute, discoverV1Routes, fillPath, routeName } from './support/api-routes';
import { createFingerprinter } from './support/db-fingerprint';
import { createTenant, type Tenant } from './support/fixtures';

/**
 * Issue 16, items 2 and 7: no spelling of a path reaches a handler without its credential, and
 * credentials cannot be guessed at the request rate. Over real HTTP, so the URL reaches the router
 * exactly as an attacker's client sends it.
 */

/** Spellings of `/v1/<rest>` that the router decodes to the same route. */
const spellings = (path: string) => {
  const rest = path.slice('/v1/'.length);
  const first = rest.charAt(0);
  const hex = first.charCodeAt(0).toString(16);
  return [`/%761/${rest}`, `/v%31/${rest}`, `/%76%31/${rest}`, `/v1/%${hex}${rest.slice(1)}`];
};

describe('auth decided by the matched route', () => {
  let engine: TestEngine;
  let base: string;
  let routes: ApiRoute[];
  let tenant: Tenant;
  beforeAll(async () => {
    engine = await startTestEngine({ env: { RATE_LIMIT_PER_MINUTE: '100000' } });
    await engine.app.listen({ port: 0, host: '127.0.0.1' });
    const address = engine.app.server.address();
    base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    routes = await discoverV1Routes(engine.app);
    tenant = await createTenant(engine.app, `enc${randomUUID().slice(0, 6)}`);
  });
  afterAll(() => engine.close());

  it('answers 401 to every percent-encoded spelling of every key route, and writes nothing', async () => {
    const fingerprint = await createFingerprinter(engine.deps.pool);
    const before = await fingerprint();
    const signed = new Set(['/v1/webhooks/{workspaceId}/email', '/v1/webhooks/{workspaceId}/email/raw']);
    let checked = 0;
    for (const route of routes) {
      if (route.path === '/v1/workspaces' || route.path.startsWith('/v1/webhooks/') || signed.has(route.path))
        continue;
      const path = fillPath(route.path, Object.fromEntries(route.pathParams.map((p) => [p.name, tenant.id])));
      for (const url of spellings(path)) {
        const res = await fetch(`${base}${url}`, {
          method: route.method,
          ...(route.method === 'GET' || route.method === 'DELETE'
            ? {}
            : { headers: { 'content-type': 'application/json' }, body: '{}' }),
        });
        const body = (await res.json()) as { error?: { code?: string } };
        expect(res.status, `${routeName(route)} as ${url}`).toBe(401);
        expect(body.error?.code).toBe('unauthorized');
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(200);
    expect(await fingerprint()).toEqual(before);
  });

  it('refuses the probe that found it: listing leads, minting a key, the funnel, a CSV import', async () => {
    for (const [method, url] of [
      ['GET', '/%761/leads'],
      ['POST', '/%761/api-keys'],
      ['GET', '/%761/analytics/funnel'],
      ['POST', '/%761/leads/import'],
    ] as const) {
      const res = await fetch(`${base}${url}`, {
        method,
        ...(method === 'POST' ? { headers: { 'content-type': 'text/csv' }, body: 'email\nx@y.test\n' } : {}),
      });
      expect(res.status, url).toBe(401);
    }
  });

  it('needs the admin token on an encoded admin route', async () => {
    const res = await fetch(`${base}/%761/workspaces`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'sneaky' }),
    });
    expect(res.status).toBe(401);
  });
});

describe('guessing credentials', () => {
  let engine: TestEngine;
  beforeAll(async () => {
    engine = await startTestEngine({
      env: { AUTH_FAILURES_PER_MINUTE: '20', RATE_LIMIT_PER_MINUTE: '100000' },
    });
  });
  afterAll(() => engine.close());

  const guess = (authorization: string, url = '/v1/leads', remoteAddress = '203.0.113.7') =>
    engine.app.inject({ method: 'GET', url, headers: { authorization }, remoteAddress });

  it('refuses an address after its failed guesses, each with a new key, right guesses included', async () => {
    const tenant = await createTenant(engine.app, `guess${randomUUID().slice(0, 6)}`);
    const statuses: number[] = [];
    for (let i = 0; i < 100; i++) statuses.push((await guess(`Bearer ok_${randomUUID()}`)).statusCode);
    expect(statuses.slice(0, 20).every((s) => s === 401)).toBe(true);
    expect(statuses.slice(20).every((s) => s === 429)).toBe(true);
    // Once refused, a right key from that address is refused too: it cannot tell a hit from a miss.
    const right = await guess(tenant.auth.authorization);
    expect(right.statusCode).toBe(429);
    expect(right.json().error.code).toBe('rate_limited');
    expect(Number(right.headers['retry-after'])).toBeGreaterThan(0);
    // Another address is not held back by it.
    expect((await guess(tenant.auth.authorization, '/v1/leads', '198.51.100.9')).statusCode).toBe(200);
  });

  it('counts admin token guesses the same way', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 40; i++) {
      const res = await engine.app.inject({
        method: 'POST',
        url: '/v1/workspaces',
        headers: { authorization: `Bearer admin-guess-${randomUUID()}` },
        payload: { name: 'x' },
        remoteAddress: '203.0.113.8',
      });
      statuses.push(res.statusCode);
    }
    expect(statuses.slice(0, 20).every((s) => s === 401)).toBe(true);
    expect(statuses.slice(20).every((s) => s === 429)).toBe(true);
  });
});

describe('the admin token', () => {
  it.each([
    ['16 spaces', ' '.repeat(16)],
    ['a repeated letter', 'a'.repeat(32)],
    ['a repeated pair', 'ab'.repeat(16)],
    ['a short one', 'Xy7-short'],
    ['one with a space', 'correct horse battery staple'],
  ])('refuses %s at start-up, with advice', (_what, value) => {
    expect(adminTokenProblem(value)).not.toBeNull();
    expect(() => loadConfig({ ADMIN_TOKEN: value })).toThrow(/ADMIN_TOKEN: .*openssl rand -hex 32/);
  });

  it('takes a generated one', () => {
    expect(loadConfig({ ADMIN_TOKEN: 'b1946ac92492d2347c6235b4d2611184' }).ADMIN_TOKEN).toBe(
      'b1946ac92492d2347c6235b4d2611184',
    );
  });
});
