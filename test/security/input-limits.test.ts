import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startTestEngine } from '../helpers/engine';
import { CSV_MAX_BYTES } from '../../src/api/leads/csv-import';
import { signedPost } from '../api/inbound-webhooks/support';
import { discoverV1Routes, fillPath, routeName } from './support/api-routes';
import { createFingerprinter } from './support/db-fingerprint';
import { detailPaths, errorShapeProblem } from './support/error-shape';
import { createTenant, type Tenant } from './support/fixtures';
import { authModeOf } from './support/fuzz-route';

const engine = await startTestEngine({ env: { RATE_LIMIT_PER_MINUTE: '100000' } });
const routes = await discoverV1Routes(engine.app);
const fingerprint = await createFingerprinter(engine.deps.pool);

const MiB = 1024 * 1024;
/** JSON routes documented to take more than the 8 MiB default: 10,000 leads in bulk. */
const largeBodyRoutes = new Map([['POST /v1/leads/bulk', 32 * MiB]]);

let tenant: Tenant;
beforeAll(async () => {
  tenant = await createTenant(engine.app, `lim${randomUUID().slice(0, 6)}`);
});
afterAll(() => engine.close());

type Answer = { statusCode: number; body: string };

/** 4xx in the error shape with `status`; optionally the failing path among the details. */
function expectRefused(res: Answer, status: number, path?: string) {
  expect(res.statusCode, res.body.slice(0, 300)).toBe(status);
  expect(errorShapeProblem(res.statusCode, res.body)).toBeNull();
  if (path) {
    expect(detailPaths(res.body)).toContain(path);
  }
}

const send = (method: 'POST' | 'PUT' | 'PATCH', url: string, payload: object | string, headers = {}) =>
  engine.app.inject({ method, url, headers: { ...tenant.auth, ...headers }, payload });

describe('body size', () => {
  const tenMiB = JSON.stringify({ name: 'x'.repeat(10 * MiB) });

  it('refuses 10 MiB with 413 on every JSON route, and past 32 MiB where larger bodies are allowed', async () => {
    const withBody = routes.filter((r) => r.body && r.body.schema !== null);
    expect(withBody.length).toBeGreaterThan(20);
    for (const route of withBody) {
      const mode = await authModeOf(engine.app, route, tenant);
      if (mode === 'signed') continue; // below: the webhook limit is 1 MiB
      const url = fillPath(
        route.path,
        Object.fromEntries(route.pathParams.map((p) => [p.name, randomUUID()])),
      );
      const limit = largeBodyRoutes.get(routeName(route)) ?? 8 * MiB;
      const payload = limit > 10 * MiB ? JSON.stringify({ leads: [], pad: 'x'.repeat(limit) }) : tenMiB;
      const auth = mode === 'admin' ? { authorization: `Bearer ${ADMIN_TOKEN}` } : tenant.auth;
      const res = await engine.app.inject({
        method: route.method,
        url,
        headers: { ...auth, 'content-type': 'application/json' },
        payload,
      });
      expect(res.statusCode, routeName(route)).toBe(413);
      expectRefused(res, 413);
    }
  });

  it('refuses a CSV over its 50 MB limit with 413, before parsing it, and takes 10 MiB', async () => {
    const over = `email\n${'x'.repeat(CSV_MAX_BYTES)}`;
    expectRefused(await send('POST', '/v1/leads/import', over, { 'content-type': 'text/csv' }), 413);
    const tenMiBCsv = `email,notes\nten@example.test,${'x'.repeat(10 * MiB)}\n`;
    const ok = await send('POST', '/v1/leads/import', tenMiBCsv, { 'content-type': 'text/csv' });
    expect(ok.statusCode).toBe(200);
    // The 10 MiB cell is a custom field, over its 16 KiB limit: that row fails, the file does not.
    expect(ok.json()).toMatchObject({ created: 0, failed: [{ index: 0 }] });
  });

  it('refuses more than 1 MiB on the webhook routes with 413, even signed, and writes nothing', async () => {
    const before = await fingerprint();
    const over = { from: tenant.leadEmail, to: ['x@example.test'], text: 'x'.repeat(MiB) };
    expectRefused(await signedPost(engine, tenant, 'email', over), 413);
    expectRefused(
      await signedPost(engine, tenant, 'email/raw', `From: ${tenant.leadEmail}\r\n\r\n${'x'.repeat(MiB)}`),
      413,
    );
    const linkedin = { type: 'reply', linkedinUrl: 'https://www.linkedin.com/in/x', text: 'x'.repeat(MiB) };
    expectRefused(await signedPost(engine, tenant, 'linkedin', linkedin), 413);
    expectRefused(await signedPost(engine, tenant, 'email', `{"from":"${'x'.repeat(10 * MiB)}"}`), 413);
    expect(await fingerprint()).toEqual(before);
  });

  it('answers 401 before reading a large body without a key', async () => {
    const res = await engine.app.inject({
      method: 'POST',
      url: '/v1/leads',
      headers: { 'content-type': 'application/json' },
      payload: tenMiB,
    });
    expectRefused(res, 401);
  });
});

describe('wait values', () => {
  const withWait = (wait: unknown) =>
    JSON.stringify({ name: `wait ${randomUUID()}`, steps: [{ type: 'task', title: 'x' }, wait] });
  const json = { 'content-type': 'application/json' };

  it('refuses zero, negative, non-finite, non-numeric and over-a-year waits with the path', async () => {
    const refused: [string, string][] = [
      ['{"type":"wait","days":0}', 'body.steps.1.days'],
      ['{"type":"wait","seconds":-0}', 'body.steps.1.days'],
      ['{"type":"wait"}', 'body.steps.1.days'],
      ['{"type":"wait","hours":-1}', 'body.steps.1.hours'],
      ['{"type":"wait","minutes":-0.5}', 'body.steps.1.minutes'],
      ['{"type":"wait","days":"NaN"}', 'body.steps.1.days'],
      ['{"type":"wait","days":"1"}', 'body.steps.1.days'],
      ['{"type":"wait","days":null}', 'body.steps.1.days'],
      ['{"type":"wait","seconds":1e309}', 'body.steps.1.seconds'],
      ['{"type":"wait","seconds":9007199254740993}', 'body.steps.1.seconds'],
      ['{"type":"wait","days":366}', 'body.steps.1.days'],
      ['{"type":"wait","days":365,"hours":24}', 'body.steps.1.days'],
      ['{"type":"wait","days":1,"hours":2,"businessDays":true}', 'body.steps.1.businessDays'],
    ];
    for (const [wait, path] of refused) {
      const body = withWait(JSON.parse(wait));
      // JSON.parse(1e309) is Infinity, which JSON.stringify writes as null: send the text itself.
      const text = body.replace(JSON.stringify(JSON.parse(wait)), wait);
      const res = await send('POST', '/v1/sequences', text, json);
      expect(res.statusCode, wait).toBe(400);
      expectRefused(res, 400, path);
    }
    for (const literal of ['NaN', 'Infinity', '-Infinity', '0x10', '.5']) {
      const res = await send(
        'POST',
        '/v1/sequences',
        withWait({}).replace('{}', `{"type":"wait","days":${literal}}`),
        json,
      );
      expectRefused(res, 400);
      expect(res.json().error.code).toBe('invalid_json');
    }
  });

  it('takes waits beyond 2^31 ms (where timers overflow) up to 365 days', async () => {
    for (const wait of [
      { seconds: 2_147_484 },
      { days: 24.86 },
      { days: 365 },
      { hours: 8760 },
      { days: 30, businessDays: true },
    ]) {
      const res = await send('POST', '/v1/sequences', withWait({ type: 'wait', ...wait }), json);
      expect(res.statusCode, JSON.stringify(wait)).toBe(201);
    }
  });
});

describe('time zones', () => {
  const invalid = [
    'Mars/Olympus',
    'UTC+5',
    '+05:00',
    'Z',
    'Europe/Paris\u0000',
    '../../etc/passwd',
    ' ',
    'x'.repeat(10_000),
    'Factory',
  ];
  const valid = ['Europe/Paris', 'europe/paris', 'Etc/GMT+5', 'Asia/Kathmandu', 'Pacific/Kiritimati', 'UTC'];

  it('refuses an invalid lead time zone with the path, and only that row in bulk', async () => {
    // A blank lead field means "not given" (blank CSV cells), so ' ' is no error there.
    const invalidForLeads = invalid.filter((tz) => tz.trim() !== '');
    for (const timezone of invalidForLeads) {
      const res = await send('POST', '/v1/leads', { email: `tz${randomUUID()}@example.test`, timezone });
      expectRefused(res, 400, 'body.timezone');
      const patch = await send('PATCH', `/v1/leads/${tenant.ids.leads}`, { timezone });
      expectRefused(patch, 400, 'body.timezone');
    }
    const bulk = await send('POST', '/v1/leads/bulk', {
      leads: [
        ...valid.map((timezone, i) => ({ email: `ok${i}.${randomUUID()}@example.test`, timezone })),
        ...invalidForLeads.map((timezone, i) => ({
          email: `bad${i}.${randomUUID()}@example.test`,
          timezone,
        })),
      ],
    });
    expect(bulk.statusCode).toBe(200);
    const result = bulk.json<{ created: number; failed: { index: number }[] }>();
    expect(result.created).toBe(valid.length);
    expect(result.failed.map((f) => f.index)).toEqual(invalidForLeads.map((_, i) => valid.length + i));
  });

  it('refuses an invalid sequence schedule, LinkedIn working hours or workspace time zone', async () => {
    for (const timezone of invalid) {
      const schedule = { timezone, days: [1, 2, 3, 4, 5], start: '09:00', end: '17:00' };
      const sequence = await send('POST', '/v1/sequences', {
        name: `tz ${randomUUID()}`,
        steps: [{ type: 'task', title: 'x' }],
        schedule,
      });
      expectRefused(sequence, 400, 'body.schedule.timezone');
      const account = await send('PATCH', `/v1/linkedin-accounts/${tenant.ids['linkedin-accounts']}`, {
        workingHours: schedule,
      });
      expectRefused(account, 400, 'body.workingHours.timezone');
      const workspace = await engine.app.inject({
        method: 'POST',
        url: '/v1/workspaces',
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
        payload: { name: 'tz', timezone },
      });
      expectRefused(workspace, 400, 'body.timezone');
    }
  });

  it('takes every valid zone, and enrolls leads in them under a sending window', async () => {
    const sequence = await send('POST', '/v1/sequences', {
      name: `window ${randomUUID()}`,
      steps: [{ type: 'task', title: 'call' }],
      schedule: { timezone: 'Pacific/Kiritimati', days: [1, 2, 3, 4, 5], start: '09:00', end: '17:00' },
    });
    expect(sequence.statusCode).toBe(201);
    const sequenceId = sequence.json<{ id: string }>().id;
    expect((await send('POST', `/v1/sequences/${sequenceId}/activate`, {})).statusCode).toBe(200);
    const leadIds: string[] = [];
    for (const timezone of valid) {
      const lead = await send('POST', '/v1/leads', { email: `${randomUUID()}@example.test`, timezone });
      expect(lead.statusCode, timezone).toBe(201);
      leadIds.push(lead.json<{ id: string }>().id);
    }
    const enrolled = await send('POST', `/v1/sequences/${sequenceId}/enrollments`, { leadIds });
    expect(enrolled.json()).toMatchObject({ skipped: [] });
    expect(enrolled.json<{ enrolled: unknown[] }>().enrolled).toHaveLength(valid.length);
  });
});

describe('CSV with broken quoting', () => {
  const csv = (text: string) => send('POST', '/v1/leads/import', text, { 'content-type': 'text/csv' });

  it('refuses a file that does not parse with 400 invalid_csv, writing nothing', async () => {
    const broken = [
      'email,first_name\n"unterminated@example.test,Ann\n',
      'email,first_name\nann@example.test,An"n\nbob@example.test,Bob\n',
      'email,first_name\n"ann@example.test"x,Ann\n',
      '"email,first_name\nann@example.test,Ann\n',
      '',
      '\uFEFF',
      'first_name,company\nAnn,Acme\n',
      'email,Email\nann@example.test,ann@example.test\n',
    ];
    for (const text of broken) {
      const before = await fingerprint();
      const res = await csv(text);
      expectRefused(res, 400);
      expect(res.json().error.code, JSON.stringify(text)).toBe('invalid_csv');
      expect(await fingerprint(), JSON.stringify(text)).toEqual(before);
    }
  });

  it('reports bad rows one by one and imports the rest', async () => {
    const text = [
      'email,first_name,timezone',
      'good1@example.test,"Quoted, with comma",UTC',
      'good2@example.test,"Multi\nline ""name""",Europe/Paris',
      'not-an-email,Bad,UTC',
      'bad.tz@example.test,Bad,Mars/Olympus',
      'short.row@example.test',
      'long.row@example.test,Long,UTC,extra,columns',
      'nul@example.test,a\u0000b,UTC',
      ',,',
    ].join('\r\n');
    const res = await csv(text);
    expect(res.statusCode, res.body).toBe(200);
    const result = res.json<{
      created: number;
      failed: { index: number; error: string }[];
      ids: (string | null)[];
    }>();
    // A short row is fine (missing cells are blank); extra non-empty cells are not.
    expect(result.failed.map((f) => f.index)).toEqual([2, 3, 5, 6, 7]);
    expect(result.created).toBe(3);
    const multiline = await engine.app.inject({
      method: 'GET',
      url: `/v1/leads/${result.ids[1]}`,
      headers: tenant.auth,
    });
    expect(multiline.json()).toMatchObject({ email: 'good2@example.test', firstName: 'Multi\nline "name"' });
  });
});
