import { monitorEventLoopDelay } from 'node:perf_hooks';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stepRuns } from '../../src/db/schema/index';
import { renderTemplates } from '../../src/engine/render/template-pool';
import {
  createTestWorkspace,
  startTestEngine,
  type TestEngine,
  type TestWorkspace,
  waitFor,
} from '../helpers/engine';
import { addMailbox } from '../helpers/mailboxes';
import { createActiveSequence, enrollLeads } from '../helpers/sequences';
import { type SmtpSink, startSmtpSink } from '../helpers/smtp-sink';

/**
 * Templates are tenant input: they may not read the host's files, and no template can stall the
 * engine for other tenants or take its memory. Issue 16, items 1 and 3.
 */
describe('tenant templates', () => {
  let engine: TestEngine;
  let sink: SmtpSink;
  let ws: TestWorkspace;
  beforeAll(async () => {
    sink = await startSmtpSink();
    engine = await startTestEngine({ workers: true, env: { MAINTENANCE_INTERVAL_SECONDS: '0.3' } });
    ws = await createTestWorkspace(engine.app);
    await addMailbox(engine, ws, sink, { dailyLimit: 1000 });
  });
  afterAll(async () => {
    await engine.close();
    await sink.close();
  });

  const saveSequence = (steps: unknown[]) =>
    engine.app.inject({
      method: 'POST',
      url: '/v1/sequences',
      headers: ws.auth,
      payload: { name: 's', steps },
    });

  async function addLead(email: string, customFields: Record<string, unknown> = {}): Promise<string> {
    const res = await engine.app.inject({
      method: 'POST',
      url: '/v1/leads',
      headers: ws.auth,
      payload: { email, firstName: 'Ada', customFields },
    });
    expect(res.statusCode, res.body).toBeLessThan(300);
    return res.json<{ id: string }>().id;
  }

  /** Runs a one-email sequence for a new lead and answers its step run once it has an outcome. */
  async function runEmail(body: string, customFields: Record<string, unknown> = {}) {
    const email = `lead.${Math.random().toString(36).slice(2, 10)}@example.test`;
    const leadId = await addLead(email, customFields);
    const id = await createActiveSequence(engine.app, ws, {
      steps: [{ type: 'email', subject: 'Hi', body }],
    });
    const { enrolled, skipped } = await enrollLeads(engine.app, ws, id, [leadId]);
    expect(skipped).toEqual([]);
    expect(enrolled, 'enrolled').toHaveLength(1);
    const enrollmentId = enrolled[0]?.enrollmentId ?? '';
    const run = await waitFor(
      async () => {
        const [row] = await engine.deps.db
          .select({ status: stepRuns.status, reason: stepRuns.reason })
          .from(stepRuns)
          .where(eq(stepRuns.enrollmentId, enrollmentId));
        return row && row.status !== 'scheduled' && row.status !== 'claimed' ? row : null;
      },
      { timeoutMs: 30_000, what: 'the email step to end' },
    );
    return { run, email, leadId };
  }

  describe.each(['include', 'render', 'layout'])('{%% %s %%}', (tag) => {
    it('is refused when the sequence is saved, naming the field, and no file is ever read', async () => {
      const source = `Hello {% ${tag} 'package.json' %}`;
      const res = await saveSequence([{ type: 'email', subject: 'Hi', body: source }]);
      expect(res.statusCode, res.body).toBe(400);
      const error = res.json().error;
      expect(error.code).toBe('validation_failed');
      expect(error.details).toContainEqual({
        path: 'body.steps.0.body',
        message: expect.stringContaining('cannot load other files'),
      });
      // The renderer refuses the tag too, should a template reach it some other way.
      const [outcome] = await renderTemplates([{ source, vars: {} }]);
      expect(outcome?.ok).toBe(false);
      expect(JSON.stringify(outcome)).not.toContain('outreach-engine');
      expect(JSON.stringify(outcome)).not.toContain(process.cwd());
    });
  });

  it('refuses a literal loop of millions of iterations when the sequence is saved', async () => {
    const res = await saveSequence([
      {
        type: 'email',
        subject: 'Hi',
        body: '{% for i in (1..6000) %}{% for j in (1..6000) %}{% endfor %}{% endfor %}',
      },
    ]);
    expect(res.statusCode, res.body).toBe(400);
    expect(res.json().error.details[0]).toEqual({
      path: 'body.steps.0.body',
      message: expect.stringContaining('at most 1000'),
    });
  });

  it.each([
    {
      what: 'a loop sized by a lead field, over the time limit',
      body: '{% assign n = custom.n | plus: 0 %}{% for i in (1..n) %}{% for j in (1..n) %}{% endfor %}{% endfor %}x',
      fields: { n: 100_000 },
      reason: /template_error: (render time|memory) limit exceeded/,
    },
    {
      what: 'a string doubled a thousand times, over the memory limit',
      body: '{% assign s = "xxxxxxxxxx" %}{% for i in (1..1000) %}{% assign s = s | append: s %}{% endfor %}{{ s | size | default: 0 }}',
      fields: {},
      reason: /template_error: memory limit exceeded/,
    },
    {
      what: 'an output of megabytes',
      body: '{% for i in (1..1000) %}{% for j in (1..1000) %}{{ custom.word }}{% endfor %}{% endfor %}',
      fields: { word: 'abcdefghij' },
      reason: /template_error: (output size|memory|render time) limit exceeded/,
    },
  ])(
    'fails the step with template_error for $what, and the event loop stays free',
    async ({ body, fields, reason }) => {
      const loop = monitorEventLoopDelay({ resolution: 10 });
      loop.enable();
      const { run, email, leadId } = await runEmail(body, fields);
      loop.disable();
      expect(run.status).toBe('failed');
      expect(run.reason).toMatch(reason);
      expect(sink.mailTo(email)).toHaveLength(0);
      // Before: the whole render ran on this loop (seconds for the first case, a crash for the
      // second). Rendering now happens on a worker thread; a stall of even half a second would show.
      expect(loop.max / 1e6).toBeLessThan(500);
      // The reason a person reads on the lead's timeline names the limit, not a path of the host.
      const timeline = await engine.app.inject({
        method: 'GET',
        url: `/v1/leads/${leadId}/timeline`,
        headers: ws.auth,
      });
      expect(timeline.statusCode).toBe(200);
      expect(timeline.body).not.toContain(process.cwd());
      // The engine goes on sending other leads' email.
      const after = await runEmail('Hi {{ firstName }}');
      expect(after.run.status).toBe('sent');
      expect(sink.mailTo(after.email)).toHaveLength(1);
    },
  );
});
