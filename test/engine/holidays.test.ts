import { eq } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { stepRuns } from '../../src/db/schema/index';
import {
  ADMIN_TOKEN,
  createTestWorkspace,
  startTestEngine,
  type TestEngine,
  type TestWorkspace,
} from '../helpers/engine';
import { createActiveSequence, enrollLeads } from '../helpers/sequences';

type ErrorBody = { error: { code: string; details?: { path: string }[] } };
const paths = (body: ErrorBody) => (body.error.details ?? []).map((d) => d.path);

/**
 * Holidays and the window through the public API. The engine reads the time with `new Date()`;
 * only Date is faked here (timers and I/O run as usual), so each scenario happens on the day it names.
 */
describe('holidays, spreading and resumes through the API', () => {
  let engine: TestEngine;
  beforeAll(async () => {
    engine = await startTestEngine();
  });
  afterAll(() => engine.close());
  afterEach(() => {
    vi.useRealTimers();
  });
  const at = (iso: string) => vi.useFakeTimers({ toFake: ['Date'], now: new Date(iso) });

  const api = (
    ws: TestWorkspace,
    method: 'GET' | 'POST' | 'PATCH',
    url: string,
    payload?: Record<string, unknown>,
  ) => engine.app.inject({ method, url, headers: ws.auth, payload });

  async function createLead(ws: TestWorkspace, body: Record<string, unknown>): Promise<string> {
    const res = await api(ws, 'POST', '/v1/leads', body);
    expect(res.statusCode, res.body).toBe(201);
    return res.json<{ id: string }>().id;
  }

  const runAtOf = async (ws: TestWorkspace, enrollmentId: string) => {
    const res = await api(ws, 'GET', `/v1/enrollments/${enrollmentId}`);
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json<{ nextRunAt: string | null; stepRuns: { status: string; runAt: string }[] }>();
    const scheduled = body.stepRuns.filter((r) => r.status === 'scheduled').map((r) => r.runAt);
    expect(scheduled).toEqual([body.nextRunAt]);
    return body.nextRunAt;
  };

  /** POST /v1/sequences and activate; the body is built first, as the helper's type has no schedule. */
  const sequence = (ws: TestWorkspace, body: { steps: unknown[]; schedule: unknown }) =>
    createActiveSequence(engine.app, ws, body);

  const paris = { days: [1, 2, 3, 4, 5], start: '09:00', end: '17:00', timezone: 'Europe/Paris' };

  it('validates, normalises and returns a lead country and a workspace default', async () => {
    const ws = await createTestWorkspace(engine.app);
    const created = await api(ws, 'POST', '/v1/leads', { email: 'c1@holidays.test', country: ' fr ' });
    expect(created.json()).toMatchObject({ country: 'FR' });
    const bad = await api(ws, 'POST', '/v1/leads', { email: 'c2@holidays.test', country: 'France' });
    expect(bad.statusCode).toBe(400);
    expect(paths(bad.json<ErrorBody>())).toEqual(['body.country']);
    const id = created.json<{ id: string }>().id;
    const patched = await api(ws, 'PATCH', `/v1/leads/${id}`, { country: 'XX' });
    expect(patched.statusCode).toBe(400);
    expect(paths(patched.json<ErrorBody>())).toEqual(['body.country']);
    expect((await api(ws, 'PATCH', `/v1/leads/${id}`, { country: null })).json()).toMatchObject({
      country: null,
    });

    const csv = await engine.app.inject({
      method: 'POST',
      url: '/v1/leads/import',
      headers: { ...ws.auth, 'content-type': 'text/csv' },
      payload: 'email,country\nc3@holidays.test,ZZ\nc4@holidays.test,de\n',
    });
    expect(csv.statusCode, csv.body).toBe(200);
    const imported = csv.json<{
      created: number;
      failed: { index: number; line: number; error: string }[];
      ids: string[];
    }>();
    expect(imported.created).toBe(1);
    expect(imported.failed).toEqual([{ index: 0, line: 2, error: expect.stringMatching(/^country: /) }]);
    expect((await api(ws, 'GET', `/v1/leads/${imported.ids[1]}`)).json()).toMatchObject({ country: 'DE' });

    const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
    const refused = await engine.app.inject({
      method: 'POST',
      url: '/v1/workspaces',
      headers: admin,
      payload: { name: 'Bad country', country: 'Germany' },
    });
    expect(refused.statusCode).toBe(400);
    expect(paths(refused.json<ErrorBody>())).toEqual(['body.country']);
    const madeDe = await engine.app.inject({
      method: 'POST',
      url: '/v1/workspaces',
      headers: admin,
      payload: { name: 'Berlin', country: 'de' },
    });
    expect(madeDe.json()).toMatchObject({ country: 'DE' });
    expect((await api(ws, 'GET', '/v1/workspace')).json()).toMatchObject({ country: null });
    expect((await api(ws, 'PATCH', '/v1/workspace', { country: 'it' })).json()).toMatchObject({
      country: 'IT',
    });
    expect((await api(ws, 'GET', '/v1/workspace')).json()).toMatchObject({ country: 'IT' });
    const wrong = await api(ws, 'PATCH', '/v1/workspace', { country: 'ZZ' });
    expect(wrong.statusCode).toBe(400);
    expect(paths(wrong.json<ErrorBody>())).toEqual(['body.country']);
  });

  it('a business-day wait skips the lead’s holidays (or the workspace’s), unless the sequence opts out', async () => {
    const ws = await createTestWorkspace(engine.app);
    expect((await api(ws, 'PATCH', '/v1/workspace', { country: 'DE' })).statusCode).toBe(200);
    const french = await createLead(ws, { email: 'fr@holidays.test', country: 'FR' });
    const american = await createLead(ws, { email: 'us@holidays.test', country: 'US' });
    const noCountry = await createLead(ws, { email: 'de@holidays.test' }); // the workspace's DE
    const steps = [
      { type: 'wait', days: 2, businessDays: true },
      { type: 'email', subject: 'Hi', body: 'Hello' },
    ];
    const withHolidays = await sequence(ws, {
      steps,
      schedule: { ...paris, spread: 'none' },
    });
    const optedOut = await sequence(ws, {
      steps,
      schedule: { ...paris, spread: 'none', skipHolidays: false },
    });
    at('2026-12-23T14:00:00Z'); // Wednesday 15:00 in Paris
    const enrolled = await enrollLeads(engine.app, ws, withHolidays, [french, american, noCountry]);
    const out = await enrollLeads(engine.app, ws, optedOut, [french]);
    vi.useRealTimers();
    const runAt = (leadId: string, from = enrolled) =>
      runAtOf(ws, from.enrolled.find((e) => e.leadId === leadId)?.enrollmentId ?? '');
    // Thu 24 counts; Fri 25 is Christmas in France and Germany, so day two is Monday 28.
    expect(await runAt(french)).toBe('2026-12-28T14:00:00.000Z');
    expect(await runAt(noCountry)).toBe('2026-12-28T14:00:00.000Z');
    // In the US the 25th is a holiday too, the 24th is not.
    expect(await runAt(american)).toBe('2026-12-28T14:00:00.000Z');
    expect(await runAt(french, out)).toBe('2026-12-25T14:00:00.000Z');

    // Bastille Day is French only: +2 business days from Monday 13 July.
    const bastille = await sequence(ws, { steps, schedule: paris });
    at('2027-07-12T08:00:00Z'); // Monday 10:00 in Paris
    const july = await enrollLeads(engine.app, ws, bastille, [french, noCountry]);
    vi.useRealTimers();
    expect(await runAt(french, july)).toBe('2027-07-15T08:00:00.000Z'); // Wed 14 skipped → Thu 15
    expect(await runAt(noCountry, july)).toBe('2027-07-14T08:00:00.000Z');
  });

  it('spreads the leads of a window over it, and gives a lead the same instant every time', async () => {
    const ws = await createTestWorkspace(engine.app);
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) ids.push(await createLead(ws, { email: `s${i}@holidays.test` }));
    const steps = [{ type: 'email', subject: 'Hi', body: 'Hello' }];
    const spread = await sequence(ws, { steps, schedule: paris });
    const again = await sequence(ws, { steps, schedule: paris });
    at('2027-01-09T12:00:00Z'); // Saturday
    const first = await enrollLeads(engine.app, ws, spread, ids);
    const second = await enrollLeads(engine.app, ws, again, ids);
    vi.useRealTimers();
    const times = await Promise.all(first.enrolled.map((e) => runAtOf(ws, e.enrollmentId)));
    const opens = Date.parse('2027-01-11T08:00:00Z'); // Monday 09:00 Paris
    for (const t of times) {
      const ms = Date.parse(t ?? '') - opens;
      expect(ms >= 0 && ms < 8 * 3_600_000, t ?? 'null').toBe(true);
    }
    expect(new Set(times).size).toBeGreaterThan(6);
    // The seed is the lead and the step: the same step id in another sequence lands on the same instant.
    const secondTimes = await Promise.all(
      ids.map((id) => runAtOf(ws, second.enrolled.find((e) => e.leadId === id)?.enrollmentId ?? '')),
    );
    const firstTimes = await Promise.all(
      ids.map((id) => runAtOf(ws, first.enrolled.find((e) => e.leadId === id)?.enrollmentId ?? '')),
    );
    expect(secondTimes).toEqual(firstTimes);
  });

  it('a resumed enrollment waits for its window, on a day that is not a holiday', async () => {
    const ws = await createTestWorkspace(engine.app);
    const french = await createLead(ws, { email: 'resume-fr@holidays.test', country: 'FR' });
    const plain = await createLead(ws, { email: 'resume@holidays.test' });
    const sequenceId = await sequence(ws, {
      steps: [{ type: 'email', subject: 'Hi', body: 'Hello' }],
      schedule: { ...paris, spread: 'none' },
    });
    at('2027-07-12T08:00:00Z'); // Monday 10:00 Paris: due at once
    const enrolled = await enrollLeads(engine.app, ws, sequenceId, [french, plain]);
    const ids = enrolled.enrolled.map((e) => e.enrollmentId);
    for (const id of ids) expect((await api(ws, 'POST', `/v1/enrollments/${id}/pause`)).statusCode).toBe(200);
    at('2027-07-14T04:00:00Z'); // back on Wednesday 06:00 Paris, Bastille Day
    for (const id of ids)
      expect((await api(ws, 'POST', `/v1/enrollments/${id}/resume`)).statusCode).toBe(200);
    vi.useRealTimers();
    const [frenchRun, plainRun] = await Promise.all(ids.map((id) => runAtOf(ws, id)));
    expect(frenchRun).toBe('2027-07-15T07:00:00.000Z'); // Thursday 09:00 Paris
    expect(plainRun).toBe('2027-07-14T07:00:00.000Z'); // Wednesday 09:00 Paris
    const runs = await engine.deps.db.select().from(stepRuns).where(eq(stepRuns.workspaceId, ws.id));
    expect(runs.map((r) => r.status)).toEqual(['scheduled', 'scheduled']);
  });
});
