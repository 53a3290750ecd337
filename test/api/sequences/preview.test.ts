import { and, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chooseVariant } from '../../../src/channels/email/compose';
import { createEmailChannel, type EmailChannel } from '../../../src/channels/email/email.channel';
import { TEST_SENDS_PER_HOUR } from '../../../src/channels/email/test-send';
import { EmailStep } from '../../../src/core/steps';
import { enrollments, events, messages, stepRuns } from '../../../src/db/schema/index';
import type { Channel } from '../../../src/engine/channel';
import { channelMap } from '../../helpers/channels';
import {
  createTestWorkspace,
  startTestEngine,
  type TestEngine,
  type TestWorkspace,
  waitFor,
} from '../../helpers/engine';
import { insertLeads } from '../../helpers/factories';
import { addMailbox, type MailboxJson } from '../../helpers/mailboxes';
import { createActiveSequence, enrollLeads } from '../../helpers/sequences';
import { type SmtpSink, startSmtpSink } from '../../helpers/smtp-sink';
import { header } from '../../channels/email/support';

type Preview = {
  stepId: string;
  stepType: string;
  version: number;
  mailboxId: string | null;
  headers: Record<string, string>;
  subject: string | null;
  text: string | null;
  html: string | null;
  variant: { index: number; label: string } | null;
  variantSource: 'run' | 'preview' | null;
  missingVariables: string[];
};
type ErrorAnswer = { error: { code: string; message: string; details?: { path: string }[] } };

const opener = {
  id: 'opener',
  type: 'email',
  subject: 'Hi {{ firstName }}',
  body: '<p>Hello {{ firstName }} at {{ company }} ({{ custom.industry }})</p><p>{{ sender.signature }}</p><p><a href="{{ unsubscribeUrl }}">Stop</a></p>',
  variants: [
    {
      subject: 'Hey {{ firstName }}',
      body: '<p>Hey {{ firstName }} at {{ company }} ({{ custom.industry }})</p><p>{{ sender.signature }}</p>',
    },
  ],
};
const steps = [
  opener,
  { id: 'pause', type: 'wait', days: 3 },
  {
    id: 'bump',
    type: 'email',
    thread: 'reply',
    body: 'Following up, {{ firstName }}. {{ sender.firstName }}',
  },
  { id: 'note', type: 'linkedin_message', body: 'Hi {{ firstName }}, fellow {{ title }}' },
  { id: 'call', type: 'task', title: 'Call {{ firstName }}' },
];

describe('step preview and test send', () => {
  let engine: TestEngine;
  let sink: SmtpSink;
  let ws: TestWorkspace;
  let other: TestWorkspace;
  let mailbox: MailboxJson;
  let sequenceId: string;
  let email: EmailChannel | null = null;
  const channel: Channel = {
    stepTypes: ['email'],
    send: (ctx) => {
      email ??= createEmailChannel(ctx.deps);
      return email.send(ctx);
    },
    close: async () => email?.close(),
  };

  const post = (path: string, payload: object, who: TestWorkspace = ws) =>
    engine.app.inject({
      method: 'POST',
      url: `/v1/sequences/${sequenceId}/${path}`,
      headers: who.auth,
      payload,
    });
  const preview = async (payload: object) => {
    const res = await post('preview', payload);
    expect(res.statusCode, res.body).toBe(200);
    return res.json<Preview>();
  };
  const lead = async (i: number, customFields: Record<string, unknown> = { industry: 'Looms' }) => {
    const [row] = await insertLeads(engine.deps.db, ws.id, 1, () => ({
      customFields,
      firstName: `Ada${i}`,
      company: 'Analytical & Co',
      title: 'CTO',
      linkedinUrl: `https://www.linkedin.com/in/ada-${i}-${Math.random().toString(36).slice(2, 8)}`,
    }));
    if (!row) throw new Error('no lead');
    return row;
  };

  beforeAll(async () => {
    sink = await startSmtpSink();
    engine = await startTestEngine({
      workers: true,
      env: { MAINTENANCE_INTERVAL_SECONDS: '0.3' },
      channels: channelMap(channel),
    });
    ws = await createTestWorkspace(engine.app);
    other = await createTestWorkspace(engine.app, 'Other');
    mailbox = await addMailbox(engine, ws, sink, { signature: 'Sam, Acme' });
    sequenceId = await createActiveSequence(engine.app, ws, { steps });
  }, 60_000);

  afterAll(async () => {
    await engine?.close();
    await sink?.close();
  });

  it('renders the email the channel then sends: subject, text, HTML, headers and variant', async () => {
    const bare = await lead(0, {});
    const lacking = await preview({ leadId: bare.id, stepId: 'opener' });
    expect(lacking.missingVariables).toEqual(['custom.industry']);
    const ada = await lead(1);
    const before = await preview({ leadId: ada.id, stepId: 'opener' });
    expect(before).toMatchObject({ stepType: 'email', variantSource: 'preview', mailboxId: mailbox.id });
    expect(before.missingVariables).toEqual([]);
    expect(before.html).toContain('Analytical &amp; Co');
    expect(before.html).toContain('Sam, Acme');
    expect(before.headers).toMatchObject({
      From: `Sam Sender <${mailbox.fromEmail}>`,
      To: `Ada1 Last0 <${ada.email}>`,
    });

    expect((await enrollLeads(engine.app, ws, sequenceId, [ada.id])).enrolled).toHaveLength(1);
    const [sent] = await waitFor(async () => sink.mailTo(ada.email).length > 0 && sink.mailTo(ada.email), {
      what: 'the opener to arrive',
    });
    const after = await preview({ leadId: ada.id, stepId: 'opener' });
    // With a run, the variant is the run's own pick: the one that was sent.
    const [run] = await engine.deps.db
      .select()
      .from(stepRuns)
      .where(
        and(
          eq(stepRuns.stepId, 'opener'),
          sql`${stepRuns.enrollmentId} in (select id from enrollments where lead_id = ${ada.id})`,
        ),
      );
    const picked = chooseVariant(EmailStep.parse(opener), run?.id ?? '').variant;
    expect(after.variantSource).toBe('run');
    expect(after.variant?.index).toBe(picked);
    // The unsubscribe token is sealed afresh each time (a random nonce): another token, the same lead.
    const token = (v: string | null | undefined) => v?.trim().replace(/\/u\/[\w.-]+/g, '/u/TOKEN') ?? null;
    expect(after.subject).toBe(sent?.parsed.subject);
    expect(token(after.text)).toBe(token(sent?.parsed.text));
    expect(token(after.html)).toBe(token(typeof sent?.parsed.html === 'string' ? sent.parsed.html : null));
    for (const name of ['From', 'To', 'Subject', 'Message-ID', 'List-Unsubscribe', 'List-Unsubscribe-Post'])
      expect(token(after.headers[name]), name).toBe(token(header(sent?.raw, name)));
  });

  it('answers a reply step with its thread, and a LinkedIn step with its text', async () => {
    const bob = await lead(2);
    // Not enrolled: the thread is the one the opener will start.
    const projected = await preview({ leadId: bob.id, stepId: 'bump' });
    expect(projected.subject).toMatch(/^Re: (Hi|Hey) Ada2$/);
    expect(projected.text).toBe('Following up, Ada2. Sam');
    expect(projected.headers['In-Reply-To']).toBeUndefined();

    expect((await enrollLeads(engine.app, ws, sequenceId, [bob.id])).enrolled).toHaveLength(1);
    const [enrollment] = await waitFor(async () => {
      const rows = await engine.deps.db.select().from(enrollments).where(eq(enrollments.leadId, bob.id));
      return rows[0]?.threadMessageId ? rows : null;
    });
    const threaded = await preview({ leadId: bob.id, stepId: 'bump' });
    expect(threaded.subject).toBe(`Re: ${enrollment?.threadSubject}`);
    expect(threaded.headers['In-Reply-To']).toBe(enrollment?.threadMessageId);

    const note = await preview({ leadId: bob.id, stepId: 'note' });
    expect(note).toMatchObject({
      stepType: 'linkedin_message',
      text: 'Hi Ada2, fellow CTO',
      subject: null,
      html: null,
    });
  });

  it('refuses an unknown step, version or lead, a lead of another workspace, and a step with nothing to send', async () => {
    const ada = await lead(3);
    const [foreign] = await insertLeads(engine.deps.db, other.id, 1);
    const cases: [object, number, string, string][] = [
      [{ leadId: ada.id, stepId: 'nope' }, 404, 'not_found', 'body.stepId'],
      [{ leadId: ada.id, stepId: 'opener', version: 99 }, 404, 'not_found', 'body.version'],
      [{ leadId: foreign?.id, stepId: 'opener' }, 404, 'not_found', 'body.leadId'],
      [{ leadId: crypto.randomUUID(), stepId: 'opener' }, 404, 'not_found', 'body.leadId'],
      [{ leadId: ada.id, stepId: 'call' }, 400, 'not_a_message_step', 'body.stepId'],
      [{ leadId: ada.id, stepId: 'pause' }, 400, 'not_a_message_step', 'body.stepId'],
      [{ leadId: 'nope', stepId: 'opener' }, 400, 'validation_failed', 'body.leadId'],
      [{ leadId: ada.id, stepId: 'x'.repeat(65) }, 400, 'validation_failed', 'body.stepId'],
    ];
    for (const [payload, status, code, path] of cases) {
      const res = await post('preview', payload);
      expect(res.statusCode, JSON.stringify(payload)).toBe(status);
      const { error } = res.json<ErrorAnswer>();
      expect(error.code).toBe(code);
      expect(error.details?.map((d) => d.path)).toContain(path);
    }
    // Another workspace's sequence is not found, whoever the lead.
    const res = await post('preview', { leadId: ada.id, stepId: 'opener' }, other);
    expect(res.statusCode).toBe(404);
  });

  it('test-sends to the given address, marked, recorded nowhere, and refuses hostile input', async () => {
    const ada = await lead(4);
    const counts = async () => {
      const [m] = await engine.deps.db.select({ n: sql<number>`count(*)::int` }).from(messages);
      const [e] = await engine.deps.db
        .select({ n: sql<number>`count(*)::int` })
        .from(events)
        .where(eq(events.leadId, ada.id));
      const [r] = await engine.deps.db.select({ n: sql<number>`count(*)::int` }).from(stepRuns);
      return { messages: m?.n, events: e?.n, runs: r?.n };
    };
    const before = await counts();
    const res = await post('test-send', { leadId: ada.id, stepId: 'opener', to: 'me@tester.test' });
    expect(res.statusCode, res.body).toBe(200);
    const [got] = await waitFor(
      async () => sink.mailTo('me@tester.test').length > 0 && sink.mailTo('me@tester.test'),
    );
    expect(got?.parsed.subject).toMatch(/^\[Test\] (Hi|Hey) Ada4$/);
    expect(header(got?.raw, 'X-Outreach-Test')).toBe('1');
    expect(header(got?.raw, 'In-Reply-To')).toBeNull();
    expect(got?.envelopeTo).toEqual(['me@tester.test']);
    // The unsubscribe link of a test leads nowhere: a click must not unsubscribe the lead.
    expect(header(got?.raw, 'List-Unsubscribe')).toContain('/u/test-send');
    expect(sink.mailTo(ada.email)).toHaveLength(0);
    expect(await counts()).toEqual(before);

    const hostile: [object, number, string][] = [
      [{ to: 'a@tester.test, b@tester.test' }, 400, 'body.to'],
      [{ to: 'a@tester.test\r\nBcc: b@tester.test' }, 400, 'body.to'],
      [{ to: 'Me <a@tester.test>' }, 400, 'body.to'],
      [{ to: ['a@tester.test'] }, 400, 'body.to'],
      [{ to: 'a@tester.test', mailboxId: crypto.randomUUID() }, 404, 'body.mailboxId'],
      [{ to: 'a@tester.test', stepId: 'note' }, 400, 'body.stepId'],
      [{ to: 'a@tester.test', stepId: 'nope' }, 404, 'body.stepId'],
    ];
    for (const [overrides, status, path] of hostile) {
      const bad = await post('test-send', { leadId: ada.id, stepId: 'opener', ...overrides });
      expect(bad.statusCode, JSON.stringify(overrides)).toBe(status);
      expect(bad.json<ErrorAnswer>().error.details?.map((d) => d.path)).toContain(path);
    }
    expect(sink.mailTo('a@tester.test')).toHaveLength(0);

    // An address that unsubscribed (or whose domain is suppressed) gets no test either.
    for (const target of [{ email: 'gone@tester.test' }, { domain: 'blocked.test' }]) {
      const added = await engine.app.inject({
        method: 'POST',
        url: '/v1/suppressions',
        headers: ws.auth,
        payload: target,
      });
      expect(added.statusCode, added.body).toBe(201);
    }
    for (const to of ['gone@tester.test', 'GONE@tester.test', 'me@blocked.test']) {
      const refused = await post('test-send', { leadId: ada.id, stepId: 'opener', to });
      expect(refused.statusCode, to).toBe(422);
      expect(refused.json<ErrorAnswer>().error.code).toBe('suppressed');
      expect(refused.json<ErrorAnswer>().error.details?.map((d) => d.path)).toEqual(['body.to']);
    }
    expect(sink.mailTo('gone@tester.test')).toHaveLength(0);
    expect(sink.mailTo('me@blocked.test')).toHaveLength(0);

    // A paused mailbox sends no test.
    const spare = await addMailbox(engine, ws, sink, { signature: 'Spare' });
    const paused = await engine.app.inject({
      method: 'PATCH',
      url: `/v1/mailboxes/${spare.id}`,
      headers: ws.auth,
      payload: { status: 'paused' },
    });
    expect(paused.statusCode, paused.body).toBe(200);
    const viaPaused = await post('test-send', {
      leadId: ada.id,
      stepId: 'opener',
      to: 'paused@tester.test',
      mailboxId: spare.id,
    });
    expect(viaPaused.statusCode).toBe(409);
    expect(viaPaused.json<ErrorAnswer>().error.code).toBe('mailbox_paused');
    expect(sink.mailTo('paused@tester.test')).toHaveLength(0);

    // The workspace's hourly allowance, then 429 with Retry-After.
    for (let i = 1; i < TEST_SENDS_PER_HOUR; i++) {
      const ok = await post('test-send', { leadId: ada.id, stepId: 'bump', to: 'me@tester.test' });
      expect(ok.statusCode, ok.body).toBe(200);
    }
    const limited = await post('test-send', { leadId: ada.id, stepId: 'opener', to: 'me@tester.test' });
    expect(limited.statusCode).toBe(429);
    expect(limited.json<ErrorAnswer>().error.code).toBe('rate_limited');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    // Another workspace has its own allowance (and no such sequence).
    const elsewhere = await post(
      'test-send',
      { leadId: ada.id, stepId: 'opener', to: 'me@tester.test' },
      other,
    );
    expect(elsewhere.statusCode).toBe(404);
  });
});
