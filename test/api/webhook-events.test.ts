import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Webhook } from 'standardwebhooks';
import { createEmailChannel, type EmailChannel } from '../../src/channels/email/email.channel';
import { stepRuns } from '../../src/db/schema/index';
import type { Channel } from '../../src/engine/channel';
import { outboundPayloadSchema } from '../../src/timeline/outbox/event-schemas';
import { channelMap } from '../helpers/channels';
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
import { header } from '../channels/email/support';
import { signedPost, startReceiver } from './inbound-webhooks/support';

/**
 * Every event a receiver actually gets, from real flows (sends through an SMTP server, signed
 * replies, an out-of-office, a bounce, tracking, a task, an unsubscribe, a test ping, a lease that
 * runs out mid-send), checked
 * against the documented schema of its type (src/timeline/outbox/event-schemas.ts). An event type
 * with no schema fails here by name.
 */
describe('outbound event payloads match their documented schemas', () => {
  let engine: TestEngine;
  let sink: SmtpSink;
  let ws: TestWorkspace;
  let email: EmailChannel | null = null;
  const channel: Channel = {
    stepTypes: ['email'],
    send: (ctx) => {
      email ??= createEmailChannel(ctx.deps);
      return email.send(ctx);
    },
    close: async () => email?.close(),
  };
  beforeAll(async () => {
    sink = await startSmtpSink();
    engine = await startTestEngine({
      workers: true,
      env: { MAINTENANCE_INTERVAL_SECONDS: '0.3' },
      channels: channelMap(channel),
    });
    ws = await createTestWorkspace(engine.app);
    await addMailbox(engine, ws, sink, { dailyLimit: 100 });
  });
  afterAll(async () => {
    await engine.close();
    await sink.close();
  });

  const api = async <T>(method: 'GET' | 'POST' | 'PATCH', url: string, payload?: object) => {
    const res = await engine.app.inject({ method, url, headers: ws.auth, payload });
    if (res.statusCode >= 300) throw new Error(`${method} ${url}: ${res.statusCode} ${res.body}`);
    return res.json<T>();
  };
  const newLead = (name: string) =>
    api<{ id: string; email: string }>('POST', '/v1/leads', {
      email: `${name}@events.test`,
      firstName: name,
      company: 'Events Inc',
    });
  const mailTo = (address: string) =>
    waitFor(async () => sink.mailTo(address)[0], { what: `mail to ${address}` });
  const pathOf = (url: string) => new URL(url).pathname;

  it('validates each delivered event; every flow here emits its type', async () => {
    const receiver = await startReceiver();
    try {
      const endpoint = await api<{ id: string; secret: string }>('POST', '/v1/webhook-endpoints', {
        url: receiver.url,
        events: ['*'],
      });
      const [tracked, replier, away, bouncer, stuck] = await Promise.all(
        ['tracked', 'replier', 'away', 'bouncer', 'stuck'].map(newLead),
      );
      if (!tracked || !replier || !away || !bouncer || !stuck) throw new Error('leads missing');
      sink.setBehaviour((mail) =>
        mail.envelopeTo.includes(bouncer.email) ? { code: 550, message: '5.1.1 no such user' } : undefined,
      );

      // A tracked email then a task: sent, opened, clicked, task created, enrollment completed.
      const short = await createActiveSequence(engine.app, ws, {
        steps: [
          {
            type: 'email',
            subject: 'Hi {{ firstName }}',
            body: '<p>Hi {{ firstName }}, see <a href="https://example.com/pricing">pricing</a></p>',
          },
          { type: 'task', kind: 'call', title: 'Call {{ firstName }}' },
        ],
        settings: { trackOpens: true, trackClicks: true },
      });
      // A cadence that waits: a reply, an out-of-office and a bounce interrupt it.
      const long = await createActiveSequence(engine.app, ws, {
        steps: [
          { type: 'email', subject: 'Quick question', body: 'Hello {{ firstName }}' },
          { type: 'wait', days: 3 },
          { type: 'email', subject: 'x', body: 'Following up', thread: 'reply' },
        ],
        settings: { onReply: { stage: 'proposal' } },
      });
      await enrollLeads(engine.app, ws, short, [tracked.id]);
      const { enrolled } = await enrollLeads(engine.app, ws, long, [
        replier.id,
        away.id,
        bouncer.id,
        stuck.id,
      ]);
      const stuckEnrollment = enrolled.find((e) => e.leadId === stuck.id)?.enrollmentId ?? '';

      const trackedMail = await mailTo(tracked.email);
      const html = String(trackedMail.parsed.html);
      const pixel = html.match(/https?:\/\/[^"']+\/t\/o\/[^"']+/)?.[0];
      const link = html.match(/https?:\/\/[^"']+\/t\/c\/[^"']+/)?.[0];
      if (!pixel || !link) throw new Error(`no tracking URLs in ${html}`);
      expect((await engine.app.inject({ method: 'GET', url: pathOf(pixel) })).statusCode).toBe(200);
      expect((await engine.app.inject({ method: 'GET', url: pathOf(link) })).statusCode).toBe(302);

      const replierMail = await mailTo(replier.email);
      await signedPost(engine, ws, 'email', {
        from: replier.email,
        text: 'Sounds good, let us talk.',
        inReplyTo: replierMail.parsed.messageId,
      });
      const awayMail = await mailTo(away.email);
      await signedPost(engine, ws, 'email', {
        from: away.email,
        subject: 'Automatic reply: Quick question',
        headers: { 'Auto-Submitted': 'auto-replied' },
        text: 'I am out of the office this week.',
        inReplyTo: awayMail.parsed.messageId,
      });

      const tasks = await waitFor(async () => {
        const list = await api<{ data: { id: string }[] }>('GET', `/v1/tasks?leadId=${tracked.id}`);
        return list.data.length > 0 ? list.data : null;
      });
      await api('PATCH', `/v1/tasks/${tasks[0]?.id}`, { done: true });
      const unsubscribe = header(trackedMail.raw, 'List-Unsubscribe')?.match(/<(https?:[^>]+)>/)?.[1];
      if (!unsubscribe) throw new Error('no List-Unsubscribe URL');
      const unsubscribed = await engine.app.inject({ method: 'POST', url: pathOf(unsubscribe) });
      expect(unsubscribed.statusCode).toBe(200);
      await api('POST', `/v1/webhook-endpoints/${endpoint.id}/test`);
      // A worker that died mid-send (its claim started handing off, then the lease ran out): the
      // maintenance loop marks the run ambiguous.
      await mailTo(stuck.email);
      const [next] = await waitFor(async () => {
        const rows = await engine.deps.db
          .select()
          .from(stepRuns)
          .where(and(eq(stepRuns.enrollmentId, stuckEnrollment), eq(stepRuns.status, 'scheduled')));
        return rows.length > 0 ? rows : null;
      });
      await engine.deps.db
        .update(stepRuns)
        .set({
          status: 'claimed',
          handoff: 'started',
          claimedAt: new Date(),
          leaseUntil: new Date(Date.now() - 1000),
        })
        .where(eq(stepRuns.id, next?.id ?? ''));

      const expected = [
        'lead.created',
        'enrollment.started',
        'message.sent',
        'email.opened',
        'email.clicked',
        'task.created',
        'task.completed',
        'enrollment.completed',
        'lead.replied',
        'lead.stage_changed',
        'enrollment.stopped',
        'lead.out_of_office',
        'lead.bounced',
        'lead.unsubscribed',
        'webhook.test',
        'step.ambiguous',
      ];
      const typesSeen = () =>
        new Set(receiver.received.map((hook) => (JSON.parse(hook.body) as { type: string }).type));
      await waitFor(async () => expected.every((type) => typesSeen().has(type)), {
        timeoutMs: 40_000,
        what: `every expected event type (missing: ${expected.filter((t) => !typesSeen().has(t)).join(', ')})`,
      });

      const problems: string[] = [];
      for (const hook of receiver.received) {
        const headers = Object.fromEntries(Object.entries(hook.headers).map(([k, v]) => [k, String(v)]));
        const body = new Webhook(endpoint.secret).verify(hook.body, headers) as { type: string };
        const schema = outboundPayloadSchema(body.type);
        if (!schema) {
          problems.push(`${body.type}: no schema; add it to src/timeline/outbox/event-schemas.ts`);
          continue;
        }
        const parsed = schema.safeParse(body);
        if (!parsed.success)
          problems.push(
            `${body.type}: ${parsed.error.issues.map((i) => `${i.path.join('.')} ${i.message}`).join('; ')}`,
          );
      }
      expect(problems).toEqual([]);
    } finally {
      await receiver.close();
    }
  });

  it('a schema is strict: an undocumented field or a wrong type fails', () => {
    const schema = outboundPayloadSchema('enrollment.completed');
    const ok = {
      type: 'enrollment.completed',
      timestamp: '2026-01-01T10:00:00.000Z',
      data: {
        eventId: 1,
        workspaceId: crypto.randomUUID(),
        leadId: null,
        enrollmentId: null,
        lead: null,
        sequenceId: crypto.randomUUID(),
      },
    };
    expect(schema?.safeParse(ok).success).toBe(true);
    expect(schema?.safeParse({ ...ok, data: { ...ok.data, extra: 1 } }).success).toBe(false);
    expect(schema?.safeParse({ ...ok, data: { ...ok.data, sequenceId: 'x' } }).success).toBe(false);
    expect(outboundPayloadSchema('lead.exploded')).toBeNull();
  });
});
