import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, createTestWorkspace, startTestEngine, type TestEngine } from '../helpers/engine';

const bearerAdmin = { authorization: `Bearer ${ADMIN_TOKEN}` };
const basicAdmin = { authorization: `Basic ${Buffer.from(`ops:${ADMIN_TOKEN}`).toString('base64')}` };

/** The value of one Prometheus sample line, or null when the series is absent. */
function sample(text: string, series: string): number | null {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : null;
}

describe('queue dashboard at /admin/queues', () => {
  let engine: TestEngine;
  beforeAll(async () => {
    engine = await startTestEngine();
  });
  afterAll(() => engine.close());

  it('answers 401 in the error shape, with a Basic challenge, without the admin token', async () => {
    const ws = await createTestWorkspace(engine.app);
    for (const headers of [{}, { authorization: 'Bearer wrong-token-wrong-token' }, ws.auth]) {
      for (const url of [
        '/admin/queues',
        '/admin/queues/api/queues',
        '/admin/queues/static/favicon-32x32.png',
      ]) {
        const res = await engine.app.inject({ method: 'GET', url, headers });
        expect(res.statusCode, url).toBe(401);
        expect(res.json().error.code).toBe('unauthorized');
        expect(res.headers['www-authenticate']).toMatch(/^Basic realm=/);
      }
    }
  });

  it('serves the dashboard with the admin token as Bearer or as the Basic password', async () => {
    for (const headers of [bearerAdmin, basicAdmin]) {
      const res = await engine.app.inject({ method: 'GET', url: '/admin/queues', headers });
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toMatch(/text\/html/);
      expect(res.body).toContain('<base href="/admin/queues/"');
    }
  });

  it('lists every queue, read-only: emptying one is refused and its jobs stay', async () => {
    const jobId = `ops-${randomUUID()}`;
    await engine.deps.queues.webhooks.add(
      'deliver',
      { deliveryId: randomUUID() },
      { jobId, delay: 3_600_000 },
    );
    const list = await engine.app.inject({
      method: 'GET',
      url: '/admin/queues/api/queues',
      headers: bearerAdmin,
    });
    expect(list.statusCode).toBe(200);
    const queues = list.json<{ queues: { name: string; readOnlyMode: boolean }[] }>().queues;
    expect(queues.map((q) => q.name).sort()).toEqual(
      engine.deps.queues
        .all()
        .map((q) => q.name)
        .sort(),
    );
    expect(queues.every((q) => q.readOnlyMode)).toBe(true);

    const empty = await engine.app.inject({
      method: 'PUT',
      url: '/admin/queues/api/queues/webhooks/empty',
      headers: bearerAdmin,
    });
    expect(empty.statusCode).toBe(405);
    expect(await engine.deps.queues.webhooks.getJob(jobId)).toBeDefined();
  });

  it('stays out of the API document', async () => {
    const doc = await engine.app.inject({ method: 'GET', url: '/openapi.json' });
    const paths = Object.keys(doc.json<{ paths: Record<string, unknown> }>().paths);
    expect(paths.some((p) => p.startsWith('/admin') || p === '/metrics')).toBe(false);
  });
});

describe('queue dashboard without ADMIN_TOKEN', () => {
  let engine: TestEngine;
  beforeAll(async () => {
    engine = await startTestEngine({ env: { ADMIN_TOKEN: '' } });
  });
  afterAll(() => engine.close());

  it('is disabled, and says so', async () => {
    const res = await engine.app.inject({ method: 'GET', url: '/admin/queues', headers: bearerAdmin });
    expect(res.statusCode).toBe(401);
    expect(res.json().error.message).toContain('ADMIN_TOKEN is not set');
  });
});

describe('GET /metrics', () => {
  let engine: TestEngine;
  beforeAll(async () => {
    engine = await startTestEngine();
  });
  afterAll(() => engine.close());

  it('serves process metrics in the Prometheus text format, without auth', async () => {
    const res = await engine.app.inject({ method: 'GET', url: '/metrics' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(res.body).toContain('# TYPE process_cpu_user_seconds_total counter');
    expect(res.body).toContain('# TYPE nodejs_heap_size_used_bytes gauge');
  });

  it('times requests by route pattern and status', async () => {
    const id = randomUUID();
    for (let i = 0; i < 3; i++) await engine.app.inject({ method: 'DELETE', url: `/v1/api-keys/${id}` });
    const text = (await engine.app.inject({ method: 'GET', url: '/metrics' })).body;
    const series =
      'http_request_duration_seconds_count{method="DELETE",route="/v1/api-keys/:id",status_code="401"}';
    // The raw URL never becomes a label (unbounded cardinality); unknown routes share one label.
    expect(text).not.toContain(id);
    expect(sample(text, series)).toBe(3);
  });

  it('reads queue depths from Redis at scrape time', async () => {
    const series = 'outreach_queue_jobs{queue="webhooks",state="delayed"}';
    const before = sample((await engine.app.inject({ method: 'GET', url: '/metrics' })).body, series);
    expect(before).toBe(0);
    await engine.deps.queues.webhooks.addBulk(
      [1, 2].map(() => ({ name: 'deliver', data: { deliveryId: randomUUID() }, opts: { delay: 3_600_000 } })),
    );
    const after = sample((await engine.app.inject({ method: 'GET', url: '/metrics' })).body, series);
    expect(after).toBe(2);
  });
});

describe('rate limit', () => {
  const perMinute = 3;
  let engine: TestEngine;
  beforeAll(async () => {
    engine = await startTestEngine({ env: { RATE_LIMIT_PER_MINUTE: String(perMinute) } });
  });
  afterAll(() => engine.close());

  it('limits each API key on its own and answers 429 with RateLimit headers in the error shape', async () => {
    const a = await createTestWorkspace(engine.app, 'A');
    const b = await createTestWorkspace(engine.app, 'B');
    const get = (headers: Record<string, string>) =>
      engine.app.inject({ method: 'GET', url: '/v1/workspace', headers });
    for (let i = 1; i <= perMinute; i++) {
      const res = await get(a.auth);
      expect(res.statusCode).toBe(200);
      expect(res.headers['ratelimit-limit']).toBe(String(perMinute));
      expect(res.headers['ratelimit-remaining']).toBe(String(perMinute - i));
      expect(Number(res.headers['ratelimit-reset'])).toBeGreaterThan(0);
    }
    const limited = await get(a.auth);
    expect(limited.statusCode).toBe(429);
    expect(limited.json().error.code).toBe('rate_limited');
    expect(limited.headers['ratelimit-remaining']).toBe('0');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);

    expect((await get(b.auth)).statusCode).toBe(200);
  });

  it('falls back to the client address without a key', async () => {
    const from = (remoteAddress: string) =>
      engine.app.inject({ method: 'GET', url: '/v1/workspace', remoteAddress });
    for (let i = 0; i < perMinute; i++) expect((await from('192.0.2.10')).statusCode).toBe(401);
    expect((await from('192.0.2.10')).statusCode).toBe(429);
    expect((await from('192.0.2.11')).statusCode).toBe(401);
  });

  it('never limits /health', async () => {
    for (let i = 0; i < perMinute + 2; i++) {
      const res = await engine.app.inject({ method: 'GET', url: '/health', remoteAddress: '192.0.2.20' });
      expect(res.statusCode).toBe(200);
      expect(res.headers['ratelimit-limit']).toBeUndefined();
    }
  });
});

describe('rate limit on inbound webhooks', () => {
  const perMinute = 3;
  let engine: TestEngine;
  beforeAll(async () => {
    engine = await startTestEngine({ env: { RATE_LIMIT_PER_MINUTE: String(perMinute) } });
  });
  afterAll(() => engine.close());

  it('counts inbound webhooks per workspace, not per sending address', async () => {
    const a = await createTestWorkspace(engine.app, 'Inbound A');
    const b = await createTestWorkspace(engine.app, 'Inbound B');
    const post = (workspaceId: string, remoteAddress: string) =>
      engine.app.inject({
        method: 'POST',
        url: `/v1/webhooks/${workspaceId}/email`,
        payload: {},
        remoteAddress,
      });
    // Unsigned: 401, but every request still counts against the workspace's bucket.
    for (let i = 0; i < perMinute; i++) expect((await post(a.id, `192.0.2.${30 + i}`)).statusCode).toBe(401);
    expect((await post(a.id, '192.0.2.99')).statusCode).toBe(429);
    expect((await post(b.id, '192.0.2.30')).statusCode).toBe(401);
  });
});
