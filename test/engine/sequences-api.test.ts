import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { suppressions } from '../../src/db/schema/index';
import { createTestWorkspace, startTestEngine, type TestEngine, type TestWorkspace } from '../helpers/engine';
import { allPages } from '../helpers/pages';
import { insertLeads } from '../helpers/factories';

const email = { type: 'email', subject: 'Hi', body: 'Hello' };

describe('sequence validation and enrollment rules', () => {
  let engine: TestEngine;
  let ws: TestWorkspace;
  beforeAll(async () => {
    engine = await startTestEngine();
    ws = await createTestWorkspace(engine.app);
  });
  afterAll(() => engine.close());

  const create = (payload: unknown) =>
    engine.app.inject({ method: 'POST', url: '/v1/sequences', headers: ws.auth, payload: payload as object });

  const rejections: { name: string; steps: unknown[]; path: string }[] = [
    {
      name: 'unknown branch target',
      steps: [{ type: 'branch', if: { hasEmail: true }, then: 'nowhere' }, email],
      path: 'body.steps.0.then',
    },
    {
      name: 'a branch back to an earlier step (cycle)',
      steps: [
        { id: 'a', ...email },
        { id: 'b', type: 'branch', if: { opened: true }, then: 'a' },
      ],
      path: 'body.steps.1.then',
    },
    { name: 'a zero wait', steps: [{ type: 'wait', days: 0 }, email], path: 'body.steps.0.days' },
    { name: 'a negative wait', steps: [{ type: 'wait', hours: -1 }, email], path: 'body.steps.0.hours' },
    {
      name: 'a wait under one second',
      steps: [{ type: 'wait', days: 1e-300 }, email],
      path: 'body.steps.0.days',
    },
    {
      name: 'a stage step to a stage the pipeline lacks',
      steps: [{ type: 'stage', stage: 'nowhere' }],
      path: 'body.steps.0.stage',
    },
    {
      name: 'a wait beyond 365 days',
      steps: [{ type: 'wait', days: 366 }, email],
      path: 'body.steps.0.days',
    },
    {
      name: 'a LinkedIn note over 300 characters',
      steps: [{ type: 'linkedin_invite', note: 'x'.repeat(301) }],
      path: 'body.steps.0.note',
    },
    {
      name: 'a Liquid template that does not parse',
      steps: [{ ...email, body: 'Hi {{ firstName ' }],
      path: 'body.steps.0.body',
    },
    { name: 'an unknown step type', steps: [{ type: 'fax' }], path: 'body.steps.0.type' },
    {
      name: 'duplicate step ids',
      steps: [
        { id: 'x', ...email },
        { id: 'x', ...email },
      ],
      path: 'body.steps.1.id',
    },
  ];
  for (const r of rejections) {
    it(`rejects ${r.name} with 400 and the failing path`, async () => {
      const res = await create({ name: `bad ${r.name}`, steps: r.steps });
      expect(res.statusCode).toBe(400);
      const body = res.json<{ error: { code: string; details: { path: string }[] } }>();
      expect(body.error.code).toBe('validation_failed');
      expect(body.error.details.map((d) => d.path)).toContain(r.path);
    });
  }

  it('rejects onReply and onComplete stages the pipeline lacks', async () => {
    const res = await create({
      name: 'bad stages',
      steps: [email],
      settings: { onReply: { stage: 'meeting' }, onComplete: { stage: 'won' } },
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.details).toEqual([
      { path: 'body.settings.onReply.stage', message: expect.stringContaining('meeting') },
    ]);
  });

  it('rejects a bad schedule window and time zone', async () => {
    const res = await create({
      name: 'bad schedule',
      steps: [email],
      schedule: { days: [8], start: '25:00', end: '17:00', timezone: 'Nope/Nope' },
    });
    expect(res.statusCode).toBe(400);
    const paths = res.json<{ error: { details: { path: string }[] } }>().error.details.map((d) => d.path);
    expect(paths).toEqual(
      expect.arrayContaining(['body.schedule.days.0', 'body.schedule.start', 'body.schedule.timezone']),
    );
  });

  it('answers 409 to a second sequence with the same name, and 404 across workspaces', async () => {
    const first = await create({ name: 'unique name', steps: [email] });
    expect(first.statusCode).toBe(201);
    expect((await create({ name: 'unique name', steps: [email] })).statusCode).toBe(409);
    const other = await createTestWorkspace(engine.app, 'Other');
    const id = first.json<{ id: string }>().id;
    for (const [method, url] of [
      ['GET', `/v1/sequences/${id}`],
      ['GET', `/v1/sequences/${id}/stats`],
      ['POST', `/v1/sequences/${id}/pause`],
    ] as const) {
      expect((await engine.app.inject({ method, url, headers: other.auth })).statusCode).toBe(404);
    }
    const list = await engine.app.inject({ method: 'GET', url: '/v1/sequences', headers: other.auth });
    expect(list.json()).toEqual({ data: [], nextCursor: null });
  });

  it('skips leads with a reason for each rule, and enrolls the rest', async () => {
    const seq = await create({
      name: 'rules',
      steps: [
        {
          type: 'email',
          subject: 'Hi {{ firstName }}',
          body: 'About {{ custom.industry }} at {{ company | default: "your company" }}',
        },
        { type: 'linkedin_visit' },
      ],
    });
    const sequenceId = seq.json<{ id: string }>().id;
    const base = { linkedinUrl: null, customFields: { industry: 'fintech' } };
    const leads = await insertLeads(engine.deps.db, ws.id, 7, (i) => ({
      ...base,
      linkedinUrl: `https://www.linkedin.com/in/rules-${i}`,
      ...(i === 1 ? { status: 'unsubscribed' as const } : {}),
      ...(i === 2 ? { email: null, emailKey: null } : {}),
      ...(i === 3 ? { linkedinUrl: null } : {}),
      ...(i === 4 ? { firstName: null } : {}),
      ...(i === 5 ? { customFields: {} } : {}),
      ...(i === 6 ? { company: null } : {}),
    }));
    const suppressedLead = (
      await insertLeads(engine.deps.db, ws.id, 1, () => ({
        ...base,
        linkedinUrl: 'https://www.linkedin.com/in/rules-s',
      }))
    )[0];
    if (!suppressedLead?.emailKey) throw new Error('no lead');
    await engine.deps.db
      .insert(suppressions)
      .values({ workspaceId: ws.id, kind: 'email', value: suppressedLead.emailKey });
    const ids = [...leads.map((l) => l.id), suppressedLead.id, '00000000-0000-4000-8000-000000000000'];
    const res = await engine.app.inject({
      method: 'POST',
      url: `/v1/sequences/${sequenceId}/enrollments`,
      headers: ws.auth,
      payload: { leadIds: ids },
    });
    expect(res.statusCode).toBe(200);
    const body = res.json<{
      enrolled: { leadId: string }[];
      skipped: { leadId: string; reason: string }[];
    }>();
    const reasons = Object.fromEntries(body.skipped.map((s) => [s.leadId, s.reason]));
    expect(reasons).toEqual({
      [leads[1]?.id ?? '']: 'unsubscribed',
      [leads[2]?.id ?? '']: 'missing_email',
      [leads[3]?.id ?? '']: 'missing_linkedin_url',
      [leads[4]?.id ?? '']: 'missing_variable:firstName',
      [leads[5]?.id ?? '']: 'missing_variable:custom.industry',
      [suppressedLead.id]: 'suppressed',
      '00000000-0000-4000-8000-000000000000': 'not_found',
    });
    // Lead 6 lacks a company, but the template gives it a default.
    expect(body.enrolled.map((e) => e.leadId).sort()).toEqual([leads[0]?.id, leads[6]?.id].sort());

    const again = await engine.app.inject({
      method: 'POST',
      url: `/v1/sequences/${sequenceId}/enrollments`,
      headers: ws.auth,
      payload: { leadIds: [leads[0]?.id] },
    });
    expect(again.json().skipped).toEqual([{ leadId: leads[0]?.id, reason: 'already_enrolled' }]);
  });

  it('pages through sequences with a cursor, each exactly once', async () => {
    const other = await createTestWorkspace(engine.app, 'Pager');
    const names = ['p1', 'p2', 'p3', 'p4', 'p5'];
    await Promise.all(
      names.map((name) =>
        engine.app.inject({
          method: 'POST',
          url: '/v1/sequences',
          headers: other.auth,
          payload: { name, steps: [email] },
        }),
      ),
    );
    const seen = await allPages<{ name: string }>(engine.app, other.auth, '/v1/sequences?limit=2', 10);
    expect(seen.map((d) => d.name).sort()).toEqual(names);
    const bad = await engine.app.inject({
      method: 'GET',
      url: '/v1/sequences?cursor=garbage',
      headers: other.auth,
    });
    expect(bad.statusCode).toBe(400);
  });

  it('refuses more than 10,000 lead ids and non-uuid ids', async () => {
    const seq = await create({ name: 'limits', steps: [email] });
    const sequenceId = seq.json<{ id: string }>().id;
    const many = Array.from({ length: 10_001 }, () => '00000000-0000-4000-8000-000000000000');
    const tooMany = await engine.app.inject({
      method: 'POST',
      url: `/v1/sequences/${sequenceId}/enrollments`,
      headers: ws.auth,
      payload: { leadIds: many },
    });
    expect(tooMany.statusCode).toBe(400);
    const bad = await engine.app.inject({
      method: 'POST',
      url: `/v1/sequences/${sequenceId}/enrollments`,
      headers: ws.auth,
      payload: { leadIds: ['nope'] },
    });
    expect(bad.json().error.details[0].path).toBe('body.leadIds.0');
  });
});
