import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestWorkspace,
  startTestEngine,
  type TestEngine,
  type TestWorkspace,
} from '../../helpers/engine';

const email = { type: 'email', subject: 'Hi', body: 'Hello' };
const html = {
  type: 'email',
  subject: 'Hi',
  body: '<p>Hello, see <a href="https://example.com">this</a></p>',
};
const tracked = { trackOpens: true, trackClicks: true };

type Case = { name: string; steps: unknown[]; settings?: unknown; path: string };

describe('sequence paths, variants and step ids (issue 17)', () => {
  let engine: TestEngine;
  let ws: TestWorkspace;
  beforeAll(async () => {
    engine = await startTestEngine();
    ws = await createTestWorkspace(engine.app);
  });
  afterAll(() => engine.close());

  const create = (payload: object) =>
    engine.app.inject({ method: 'POST', url: '/v1/sequences', headers: ws.auth, payload });
  const named = () => `paths ${Math.random().toString(36).slice(2, 10)}`;

  const rejections: Case[] = [
    {
      name: 'a step no path reaches',
      steps: [{ id: 'a', ...email }, { type: 'end' }, { id: 'orphan', ...email }],
      path: 'body.steps.2',
    },
    {
      name: "a then path that runs on into its else path's steps",
      steps: [
        { type: 'branch', if: { hasLinkedin: true }, then: 'li', else: 'mail' },
        { id: 'li', type: 'linkedin_visit' },
        { type: 'wait', days: 1 },
        { id: 'mail', ...email },
      ],
      path: 'body.steps.2',
    },
    {
      name: 'a goto back to an earlier step (cycle)',
      steps: [
        { id: 'a', ...email },
        { type: 'goto', to: 'a' },
      ],
      path: 'body.steps.1.to',
    },
    {
      name: '"opened" with open tracking off',
      steps: [html, { type: 'branch', if: { opened: true }, then: 'x' }, { id: 'x', ...email }],
      path: 'body.steps.1.if',
    },
    {
      name: '"opened" after text-only emails',
      settings: tracked,
      steps: [email, { type: 'branch', if: { opened: true }, then: 'x' }, { id: 'x', ...email }],
      path: 'body.steps.1.if',
    },
    {
      name: '"clicked" with click tracking off',
      settings: { trackOpens: true },
      steps: [html, { type: 'branch', if: { clicked: true }, then: 'x' }, { id: 'x', ...email }],
      path: 'body.steps.1.if',
    },
    {
      name: '"clicked" after an HTML email without links',
      settings: tracked,
      steps: [
        { ...email, body: '<p>No link here</p>' },
        { type: 'branch', if: { clicked: true }, then: 'x' },
        { id: 'x', ...email },
      ],
      path: 'body.steps.1.if',
    },
    {
      name: 'a new-thread email without a subject',
      steps: [{ type: 'email', body: 'Hello' }],
      path: 'body.steps.0.subject',
    },
    {
      name: 'a reply without a subject that no email precedes on one path',
      steps: [
        { type: 'branch', if: { hasEmail: true }, then: 'reply' },
        { type: 'linkedin_visit' },
        { id: 'reply', type: 'email', thread: 'reply', body: 'Following up' },
      ],
      path: 'body.steps.2.subject',
    },
  ];
  for (const r of rejections) {
    it(`rejects ${r.name} with 400 and the step's path`, async () => {
      const res = await create({ name: named(), steps: r.steps, settings: r.settings });
      expect(res.statusCode, res.body).toBe(400);
      const body = res.json<{ error: { code: string; details: { path: string }[] } }>();
      expect(body.error.code).toBe('validation_failed');
      expect(body.error.details.map((d) => d.path)).toContain(r.path);
    });
  }

  const acceptances: { name: string; steps: unknown[]; settings?: unknown }[] = [
    {
      name: 'a then path that ends, and an else path that runs on',
      steps: [
        { type: 'branch', if: { hasLinkedin: true }, then: 'li', else: 'mail' },
        { id: 'li', type: 'linkedin_visit' },
        { type: 'end' },
        { id: 'mail', ...email },
        { type: 'task', title: 'Call' },
      ],
    },
    {
      name: 'a then path that rejoins the else path with an explicit goto',
      steps: [
        { type: 'branch', if: { hasLinkedin: true }, then: 'li', else: 'mail' },
        { id: 'li', type: 'linkedin_visit' },
        { type: 'goto', to: 'mail' },
        { id: 'mail', ...email },
      ],
    },
    {
      name: 'a branch without else that skips ahead (the next step is its else path)',
      settings: tracked,
      steps: [html, { type: 'branch', if: { clicked: true }, then: 'x' }, email, { id: 'x', ...email }],
    },
    {
      name: '"opened" after an HTML email with opens tracked',
      settings: tracked,
      steps: [html, { type: 'branch', if: { opened: true }, then: 'x' }, { id: 'x', ...email }],
    },
    {
      name: 'a reply without a subject after an email',
      steps: [email, { type: 'wait', days: 2 }, { type: 'email', thread: 'reply', body: 'Bump' }],
    },
  ];
  for (const a of acceptances) {
    it(`accepts ${a.name}`, async () => {
      const res = await create({ name: named(), steps: a.steps, settings: a.settings });
      expect(res.statusCode, res.body).toBe(201);
    });
  }

  it('gives an unnamed step an id no chosen id takes', async () => {
    const res = await create({ name: named(), steps: [email, email, { id: 's2', ...email }] });
    expect(res.statusCode, res.body).toBe(201);
    const got = await engine.app.inject({
      method: 'GET',
      url: `/v1/sequences/${res.json<{ id: string }>().id}`,
      headers: ws.auth,
    });
    const ids = got.json<{ steps: { id: string }[] }>().steps.map((s) => s.id);
    expect(ids).toEqual(['s1', 's2-2', 's2']);
  });

  it('still refuses two chosen ids that are the same', async () => {
    const res = await create({
      name: named(),
      steps: [
        { id: 'x', ...email },
        { id: 'x', ...email },
      ],
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.details.map((d: { path: string }) => d.path)).toContain('body.steps.1.id');
  });

  it('reports per variant stats with the step itself as A', async () => {
    const res = await create({
      name: named(),
      steps: [{ ...email, variants: [{ body: 'B body' }, { subject: 'C', body: 'C body', weight: 2 }] }],
    });
    expect(res.statusCode, res.body).toBe(201);
    const stats = await engine.app.inject({
      method: 'GET',
      url: `/v1/sequences/${res.json<{ id: string }>().id}/stats`,
      headers: ws.auth,
    });
    expect(stats.statusCode).toBe(200);
    const [step] = stats.json<{ steps: { variants: { variant: number; label: string; sent: number }[] }[] }>()
      .steps;
    expect(step?.variants.map((v) => [v.variant, v.label, v.sent])).toEqual([
      [0, 'A', 0],
      [1, 'B', 0],
      [2, 'C', 0],
    ]);
  });
});
