import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { bounceSharePercent, isRoleAddress } from '../../src/core/address-check';
import { listChecksRunning } from '../../src/engine/list-check';
import { type DnsServer, startDnsServer } from '../helpers/dns-server';
import { createTestWorkspace, startTestEngine, type TestEngine, type TestWorkspace } from '../helpers/engine';
import { insertLeads } from '../helpers/factories';
import { createSequence } from '../helpers/sequences';

type Check = {
  email: string | null;
  leadId: string | null;
  syntax: string;
  domain: string | null;
  disposable: boolean;
  role: boolean;
  suppressed: boolean;
  bounced: boolean;
  verdict: string;
  reasons: string[];
};
type CheckAnswer = {
  results: Check[];
  summary: { checked: number; bouncing: number; risky: number; bounceSharePercent: number };
};
type ErrorAnswer = {
  error: { code: string; message: string; details?: { path: string; leadId?: string; reasons?: string[] }[] };
};

describe('role addresses and the bounce share', () => {
  it.each([
    ['info@acme.test', true],
    ['Sales+eu@acme.test', true],
    ['no-reply@acme.test', true],
    ['ada@acme.test', false],
    ['information@acme.test', false],
    ['@acme.test', false],
  ])('%s is a role address: %s', (email, role) => {
    expect(isRoleAddress(email)).toBe(role);
  });

  it.each([
    [0, 0, 0],
    [1, 25, 4],
    [1, 3, 33.33],
    [5, 5, 100],
  ])('%s of %s is %s%%', (bouncing, checked, share) => {
    expect(bounceSharePercent(bouncing, checked)).toBe(share);
  });
});

describe('POST /v1/leads/check', () => {
  let dns: DnsServer;
  let engine: TestEngine;
  let ws: TestWorkspace;
  let other: TestWorkspace;

  const check = (body: object, who: TestWorkspace = ws) =>
    engine.app.inject({ method: 'POST', url: '/v1/leads/check', headers: who.auth, payload: body });

  beforeAll(async () => {
    dns = await startDnsServer({
      'good.test': { mx: [{ preference: 10, exchange: 'mx.good.test' }] },
      'nullmx.test': { mx: [{ preference: 0, exchange: '.' }] },
      'implicit.test': { a: ['192.0.2.1'] },
      'implicit6.test': { aaaa: ['2001:db8::1'] },
      'broken.test': { servfail: true },
      'nomail.test': {},
      'slow.test': { silent: true },
      'mailinator.com': { mx: [{ preference: 10, exchange: 'mx.mailinator.com' }] },
    });
    engine = await startTestEngine({ env: { DNS_SERVERS: dns.address, DNS_TIMEOUT_MS: '2000' } });
    ws = await createTestWorkspace(engine.app);
    other = await createTestWorkspace(engine.app, 'Other');
  }, 60_000);

  afterAll(async () => {
    await engine?.close();
    await dns?.close();
  });

  it('reports MX, null MX, NXDOMAIN, no mail host, a timeout, syntax, role and disposable per address', async () => {
    const emails = [
      'ada@good.test',
      'bob@good.test',
      'ada@nullmx.test',
      'ada@nxdomain.test',
      'ada@implicit.test',
      'ada@nomail.test',
      'ada@slow.test',
      'ada@implicit6.test',
      'ada@broken.test',
      'not an address',
      'info@good.test',
      'throwaway@mailinator.com',
    ];
    const res = await check({ emails });
    expect(res.statusCode).toBe(200);
    const { results, summary } = res.json<CheckAnswer>();
    const by = (email: string) => results.find((r) => r.email === email);
    expect(results.map((r) => r.email)).toEqual(emails);
    expect(by('ada@good.test')).toMatchObject({ syntax: 'valid', domain: 'ok', verdict: 'ok', reasons: [] });
    expect(by('ada@nullmx.test')).toMatchObject({
      domain: 'null_mx',
      verdict: 'bounce',
      reasons: ['null_mx'],
    });
    expect(by('ada@nxdomain.test')).toMatchObject({ domain: 'no_domain', verdict: 'bounce' });
    expect(by('ada@implicit.test')).toMatchObject({ domain: 'ok', verdict: 'ok' });
    expect(by('ada@nomail.test')).toMatchObject({ domain: 'no_mx', verdict: 'bounce' });
    // A name server that does not answer says nothing about the address: risky, never invalid.
    expect(by('ada@slow.test')).toMatchObject({
      domain: 'unknown',
      verdict: 'risky',
      reasons: ['dns_unknown'],
    });
    expect(by('ada@implicit6.test')).toMatchObject({ domain: 'ok', verdict: 'ok' });
    expect(by('ada@broken.test')).toMatchObject({ domain: 'unknown', verdict: 'risky' });
    expect(by('not an address')).toMatchObject({ syntax: 'invalid', domain: null, verdict: 'bounce' });
    expect(by('info@good.test')).toMatchObject({ role: true, verdict: 'risky', reasons: ['role'] });
    expect(by('throwaway@mailinator.com')).toMatchObject({ disposable: true, verdict: 'risky' });
    expect(summary).toEqual({ checked: 12, bouncing: 4, risky: 4, bounceSharePercent: 33.33 });
    // One lookup per domain within a call, however many addresses share it.
    expect(dns.queries.filter((q) => q === 'MX good.test')).toHaveLength(1);
  });

  it('reports suppressed and bounced addresses, and checks leads by id', async () => {
    const suppressed = await engine.app.inject({
      method: 'POST',
      url: '/v1/suppressions',
      headers: ws.auth,
      payload: { email: 'gone@good.test' },
    });
    expect(suppressed.statusCode).toBe(201);
    const [bounced, plain, noEmail] = await insertLeads(engine.deps.db, ws.id, 3, (i) =>
      i === 0
        ? { email: 'dead@good.test', emailKey: 'dead@good.test', status: 'bounced' }
        : i === 2
          ? { email: null, emailKey: null, linkedinUrl: 'https://www.linkedin.com/in/no-email' }
          : { email: 'carol@good.test', emailKey: 'carol@good.test' },
    );
    const res = await check({
      emails: ['Gone@good.test', 'dead@good.test'],
      leadIds: [bounced?.id, plain?.id, noEmail?.id],
    });
    expect(res.statusCode).toBe(200);
    const { results, summary } = res.json<CheckAnswer>();
    expect(results[0]).toMatchObject({ suppressed: true, verdict: 'bounce', reasons: ['suppressed'] });
    expect(results[1]).toMatchObject({ bounced: true, verdict: 'bounce' });
    expect(results[2]).toMatchObject({ leadId: bounced?.id, bounced: true, verdict: 'bounce' });
    expect(results[3]).toMatchObject({ leadId: plain?.id, verdict: 'ok' });
    expect(results[4]).toMatchObject({ leadId: noEmail?.id, syntax: 'missing', verdict: 'no_email' });
    expect(summary).toMatchObject({ checked: 4, bouncing: 3 });
  });

  it('refuses bad input with the failing field', async () => {
    const [foreign] = await insertLeads(engine.deps.db, other.id, 1);
    const cases: [object, number, string][] = [
      [{ emails: Array.from({ length: 1001 }, (_, i) => `a${i}@good.test`) }, 400, 'body.emails'],
      [
        {
          emails: Array.from({ length: 600 }, (_, i) => `a${i}@good.test`),
          leadIds: Array.from({ length: 401 }, () => foreign?.id),
        },
        400,
        'body.emails',
      ],
      [{ emails: [1, 2] }, 400, 'body.emails.0'],
      [{ emails: 'ada@good.test' }, 400, 'body.emails'],
      [{}, 400, 'body.emails'],
      [{ leadIds: ['not-a-uuid'] }, 400, 'body.leadIds.0'],
      [{ emails: ['x@good.test'], extra: true }, 400, 'body'],
      [{ leadIds: [foreign?.id] }, 404, 'body.leadIds.0'],
    ];
    for (const [body, status, path] of cases) {
      const res = await check(body);
      expect(res.statusCode, JSON.stringify(body).slice(0, 80)).toBe(status);
      const { error } = res.json<ErrorAnswer>();
      expect(error.details?.map((d) => d.path)).toContain(path);
    }
  });

  it('runs at most two checks of one workspace at once; a third waits its turn, other workspaces do not', async () => {
    // slow.test never answers: each of these checks lasts the 2 s DNS timeout.
    const slow = (i: number, who: TestWorkspace = ws) => check({ emails: [`s${i}@slow.test`] }, who);
    const running = [slow(1), slow(2)];
    await vi.waitFor(() => expect(listChecksRunning(ws.id)).toBe(2), { timeout: 1_500, interval: 20 });
    const [third, elsewhere] = await Promise.all([slow(3), slow(4, other)]);
    const [first, second] = await Promise.all(running);
    expect(first?.statusCode).toBe(200);
    expect(second?.statusCode).toBe(200);
    expect(elsewhere.statusCode).toBe(200);
    expect(third.statusCode).toBe(429);
    expect(third.json<ErrorAnswer>().error.code).toBe('rate_limited');
    expect(Number(third.headers['retry-after'])).toBeGreaterThan(0);
    // Once they are done, the workspace checks again.
    expect((await check({ emails: ['ada@good.test'] })).statusCode).toBe(200);
  });

  it('refuses a checked enrollment above the workspace bounce threshold, listing the offending leads', async () => {
    const sequenceId = await createSequence(engine.app, ws, {
      steps: [{ type: 'email', subject: 'Hi {{ firstName }}', body: 'Hello' }],
    });
    const leads = await insertLeads(engine.deps.db, ws.id, 10, (i) => {
      const email = i === 3 ? `lead${i}@nxdomain.test` : `lead${i}.enroll@good.test`;
      return { email, emailKey: email };
    });
    const leadIds = leads.map((l) => l.id);
    const enroll = (body: Record<string, unknown>) =>
      engine.app.inject({
        method: 'POST',
        url: `/v1/sequences/${sequenceId}/enrollments`,
        headers: ws.auth,
        payload: { leadIds, ...body },
      });
    // One in ten (10%) is above the default 4%.
    const refused = await enroll({ check: true });
    expect(refused.statusCode).toBe(422);
    const { error } = refused.json<ErrorAnswer>();
    expect(error.code).toBe('bounce_threshold_exceeded');
    expect(error.details).toEqual([
      expect.objectContaining({ path: 'body.leadIds.3', leadId: leadIds[3], reasons: ['no_domain'] }),
    ]);
    // The workspace setting turns the check on for every enrollment; a higher threshold lets it in.
    const patched = await engine.app.inject({
      method: 'PATCH',
      url: '/v1/workspace',
      headers: ws.auth,
      payload: { checkOnEnroll: true },
    });
    expect(patched.json()).toMatchObject({ checkOnEnroll: true, bounceThresholdPercent: 4 });
    expect((await enroll({})).statusCode).toBe(422);
    const badSetting = await engine.app.inject({
      method: 'PATCH',
      url: '/v1/workspace',
      headers: ws.auth,
      payload: { bounceThresholdPercent: 101 },
    });
    expect(badSetting.statusCode).toBe(400);
    await engine.app.inject({
      method: 'PATCH',
      url: '/v1/workspace',
      headers: ws.auth,
      payload: { bounceThresholdPercent: 10 },
    });
    const accepted = await enroll({});
    expect(accepted.statusCode).toBe(200);
    expect(accepted.json<{ enrolled: unknown[] }>().enrolled).toHaveLength(10);
  });

  it('bounds a checked enrollment to the check limit', async () => {
    const sequenceId = await createSequence(engine.app, ws, {
      steps: [{ type: 'email', subject: 'Hi', body: 'Hello' }],
    });
    const leadIds = Array.from({ length: 1001 }, () => crypto.randomUUID());
    const res = await engine.app.inject({
      method: 'POST',
      url: `/v1/sequences/${sequenceId}/enrollments`,
      headers: ws.auth,
      payload: { leadIds, check: true },
    });
    expect(res.statusCode).toBe(400);
    expect(res.json<ErrorAnswer>().error.details?.[0]?.path).toBe('body.leadIds');
  });
});
