import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/api/app';
import { loadConfig } from '../../src/config';
import { createDeps } from '../../src/context';
import { createLogger } from '../../src/logger';
import {
  ADMIN_TOKEN,
  createTestWorkspace,
  startTestEngine,
  type TestEngine,
  testEnv,
} from '../helpers/engine';

const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };

/** The docs/design.md §5 shape, and nothing that looks like a stack trace or a source path. */
function expectErrorShape(body: string, code: string): void {
  const parsed: unknown = JSON.parse(body);
  expect(parsed).toEqual({
    error: expect.objectContaining({ code, message: expect.any(String) }),
  });
  expect(body).not.toMatch(/\bat .+:\d+:\d+|\.ts\b|node_modules|"stack"/);
}

describe('the error shape', () => {
  let engine: TestEngine;
  beforeAll(async () => {
    engine = await startTestEngine();
  });
  afterAll(() => engine.close());

  it('404 for an unknown route', async () => {
    const res = await engine.app.inject({ method: 'GET', url: '/nope?x=1' });
    expect(res.statusCode).toBe(404);
    expectErrorShape(res.body, 'not_found');
  });

  it('404 for an unknown /v1 route, after auth', async () => {
    const anonymous = await engine.app.inject({ method: 'GET', url: '/v1/nope' });
    expect(anonymous.statusCode).toBe(401);
    expectErrorShape(anonymous.body, 'unauthorized');
    const ws = await createTestWorkspace(engine.app);
    const known = await engine.app.inject({ method: 'GET', url: '/v1/nope', headers: ws.auth });
    expect(known.statusCode).toBe(404);
    expectErrorShape(known.body, 'not_found');
  });

  it('400 for a body that is not JSON', async () => {
    const res = await engine.app.inject({
      method: 'POST',
      url: '/v1/workspaces',
      headers: { ...admin, 'content-type': 'application/json' },
      payload: '{"name": "Acme",',
    });
    expect(res.statusCode).toBe(400);
    expectErrorShape(res.body, 'invalid_json');
  });

  it('400 validation_failed with the failing path', async () => {
    const res = await engine.app.inject({
      method: 'POST',
      url: '/v1/workspaces',
      headers: admin,
      payload: { name: 42 },
    });
    expect(res.statusCode).toBe(400);
    expectErrorShape(res.body, 'validation_failed');
    expect(res.json().error.details).toContainEqual(expect.objectContaining({ path: 'body.name' }));
  });

  it('413 for a body over the limit', async () => {
    const res = await engine.app.inject({
      method: 'POST',
      url: '/v1/workspaces',
      headers: admin,
      payload: { name: 'x'.repeat(9 * 1024 * 1024) },
    });
    expect(res.statusCode).toBe(413);
    expectErrorShape(res.body, 'payload_too_large');
  });

  it('415 for a content type the route does not take', async () => {
    const res = await engine.app.inject({
      method: 'POST',
      url: '/v1/workspaces',
      headers: { ...admin, 'content-type': 'application/xml' },
      payload: '<name>Acme</name>',
    });
    expect(res.statusCode).toBe(415);
    expectErrorShape(res.body, 'unsupported_media_type');
  });

  it('401 for a missing or wrong key, before the body is even read', async () => {
    const missing = await engine.app.inject({ method: 'GET', url: '/v1/workspace' });
    expect(missing.statusCode).toBe(401);
    expectErrorShape(missing.body, 'unauthorized');
    const wrong = await engine.app.inject({
      method: 'POST',
      url: '/v1/workspaces',
      headers: { authorization: 'Bearer not-the-admin-token', 'content-type': 'application/json' },
      payload: '{broken',
    });
    expect(wrong.statusCode).toBe(401);
    expectErrorShape(wrong.body, 'unauthorized');
  });

  it('tags every answer with a request id, echoing a sane one from the caller', async () => {
    const res = await engine.app.inject({
      method: 'GET',
      url: '/nope',
      headers: { 'x-request-id': 'abc-123' },
    });
    expect(res.headers['x-request-id']).toBe('abc-123');
  });
});

describe('an unexpected error', () => {
  it('is a 500 internal_error whose details stay in the log', async () => {
    const lines: string[] = [];
    const config = loadConfig(testEnv({ LOG_LEVEL: 'error' }));
    const log = createLogger(config.LOG_LEVEL, { write: (line: string) => void lines.push(line) });
    const deps = createDeps(config, log, { poolSize: 1 });
    const app = await buildApp(deps);
    app.get('/boom', { config: { auth: 'public' } }, async () => {
      throw new Error('secret detail from the database layer');
    });
    try {
      const res = await app.inject({ method: 'GET', url: '/boom' });
      expect(res.statusCode).toBe(500);
      expectErrorShape(res.body, 'internal_error');
      expect(res.body).not.toContain('secret detail');
      expect(lines.join('')).toContain('secret detail from the database layer');
    } finally {
      // BullMQ bug: a queue closed while its connection check is in flight rethrows that check's
      // failure as an unhandled rejection once the shared client disconnects. Let it finish first.
      await Promise.all(deps.queues.all().map((q) => q.waitUntilReady()));
      await app.close();
      await deps.close();
    }
  });
});
