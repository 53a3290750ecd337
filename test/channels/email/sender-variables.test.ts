import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EmailChannel } from '../../../src/channels/email/email.channel';
import { senderVariables, templateError } from '../../../src/core/templates';
import { messages } from '../../../src/db/schema/index';
import { createTestWorkspace, type TestEngine, type TestWorkspace } from '../../helpers/engine';
import { addMailbox } from '../../helpers/mailboxes';
import { createSequence, enrollLeads } from '../../helpers/sequences';
import type { SmtpSink } from '../../helpers/smtp-sink';
import { claimedContext, storeSequence } from '../../helpers/step-context';
import { header, startEmailChannelTest } from './support';

const body = [
  'Hi {{ firstName }},',
  '{{ sender.firstName }} / {{ sender.lastName }} / {{ sender.email }}',
  '{{ sender.signature }}',
  'Unsubscribe: {{ unsubscribeUrl }}',
].join('\n');

describe('template variables: sender.* from the mailbox that sends, and unsubscribeUrl', () => {
  let engine: TestEngine;
  let sink: SmtpSink;
  let channel: EmailChannel;
  let close: () => Promise<void>;
  beforeAll(async () => {
    ({ engine, sink, channel, close } = await startEmailChannelTest());
  });
  afterAll(() => close());

  const mailboxCall = (ws: TestWorkspace, method: 'POST' | 'PATCH', url: string, payload: object) =>
    engine.app.inject({ method, url, headers: ws.auth, payload });

  it('keeps a plain-text signature per mailbox, set by POST and PATCH, with a length limit', async () => {
    const ws = await createTestWorkspace(engine.app);
    const created = await addMailbox(engine, ws, sink, { signature: 'Sam\nHead of Sales' });
    const url = `/v1/mailboxes/${created.id}`;
    const read = await engine.app.inject({ method: 'GET', url, headers: ws.auth });
    expect(read.json()).toMatchObject({ signature: 'Sam\nHead of Sales' });
    const patched = await mailboxCall(ws, 'PATCH', url, { signature: 'Sam, Acme' });
    expect(patched.statusCode).toBe(200);
    expect(patched.json()).toMatchObject({ signature: 'Sam, Acme' });
    expect((await mailboxCall(ws, 'PATCH', url, { signature: 'x'.repeat(2001) })).statusCode).toBe(400);
    expect((await mailboxCall(ws, 'PATCH', url, { signature: 'a\u0000b' })).statusCode).toBe(400);
    expect((await mailboxCall(ws, 'PATCH', url, { signature: null })).json()).toMatchObject({
      signature: null,
    });
  });

  it('refuses an unknown sender field when the sequence is saved, and never skips a lead for one', async () => {
    const ws = await createTestWorkspace(engine.app);
    const refused = await engine.app.inject({
      method: 'POST',
      url: '/v1/sequences',
      headers: ws.auth,
      payload: { name: 'typo', steps: [{ type: 'email', subject: 'Hi', body: '{{ sender.fristName }}' }] },
    });
    expect(refused.statusCode).toBe(400);
    expect(refused.body).toContain('sender.fristName');

    const sequenceId = await createSequence(engine.app, ws, {
      steps: [{ type: 'email', subject: '{{ sender.name }} here', body }],
    });
    const lead = await engine.app.inject({
      method: 'POST',
      url: '/v1/leads',
      headers: ws.auth,
      payload: { email: 'enrolled@example.test', firstName: 'Ada' },
    });
    const result = await enrollLeads(engine.app, ws, sequenceId, [lead.json<{ id: string }>().id]);
    expect(result.skipped).toEqual([]);
    expect(result.enrolled).toHaveLength(1);
  });

  it('renders the sending mailbox’s name, address and signature, and the List-Unsubscribe link', async () => {
    const ws = await createTestWorkspace(engine.app);
    // Two mailboxes: whichever sends, the email speaks for that one.
    await addMailbox(engine, ws, sink, {
      fromEmail: 'ada@sender.test',
      fromName: 'Ada King Lovelace',
      signature: 'Ada\nAnalytical Engines',
    });
    await addMailbox(engine, ws, sink, { fromEmail: 'sam@sender.test', fromName: 'Sam', name: 'Other' });
    const seq = await storeSequence(engine, ws.id, {
      steps: [{ type: 'email', subject: 'From {{ sender.name }}', body }],
    });
    const ctx = await claimedContext(engine, ws.id, seq, { lead: { firstName: 'Grace' } });
    expect((await channel.send(ctx)).kind).toBe('sent');
    const [mail] = sink.mailTo(ctx.lead.email);
    const from = mail?.parsed.from?.value[0];
    const sent = senderVariables({
      fromEmail: from?.address ?? '',
      fromName: from?.name ?? null,
      signature: from?.address === 'ada@sender.test' ? 'Ada\nAnalytical Engines' : null,
    });
    const unsubscribe = /<(http[^>]+)>/.exec(header(mail?.raw, 'List-Unsubscribe') ?? '')?.[1];
    expect(unsubscribe).toMatch(/\/u\//);
    expect(mail?.parsed.subject).toBe(`From ${sent.name}`);
    expect(mail?.parsed.text?.trim()).toBe(
      [
        'Hi Grace,',
        `${sent.firstName} / ${sent.lastName} / ${sent.email}`,
        sent.signature,
        `Unsubscribe: ${unsubscribe}`,
      ]
        .join('\n')
        .trim(),
    );
    const [row] = await engine.deps.db.select().from(messages).where(eq(messages.stepRunId, ctx.run.id));
    expect(row?.bodyText).toContain(`Unsubscribe: ${unsubscribe}`);
  });

  it('escapes the signature in an HTML body, and prints missing sender values as nothing', async () => {
    const ws = await createTestWorkspace(engine.app);
    await addMailbox(engine, ws, sink, {
      fromEmail: 'html@sender.test',
      fromName: 'Sam',
      signature: '<b>Sam</b> & co',
    });
    const seq = await storeSequence(engine, ws.id, {
      steps: [
        {
          type: 'email',
          subject: 'Hello',
          body: '<p>Hi</p><p>{{ sender.signature }}</p><p>[{{ sender.lastName }}]</p><a href="{{ unsubscribeUrl }}">stop</a>',
        },
      ],
    });
    const ctx = await claimedContext(engine, ws.id, seq);
    expect((await channel.send(ctx)).kind).toBe('sent');
    const [mail] = sink.mailTo(ctx.lead.email);
    expect(mail?.parsed.html).toContain('<p>&lt;b&gt;Sam&lt;/b&gt; &amp; co</p>');
    expect(mail?.parsed.html).toContain('<p>[]</p>');
    expect(mail?.parsed.html).toMatch(/<a href="http[^"]+\/u\/[^"]+">stop<\/a>/);
  });
});

describe('senderVariables and the save-time check', () => {
  it.each([
    [
      { fromName: 'Ada King  Lovelace', fromEmail: 'a@x.test', signature: null },
      ['Ada', 'King Lovelace', 'Ada King Lovelace'],
    ],
    [{ fromName: 'Cher', fromEmail: 'c@x.test', signature: 'C' }, ['Cher', '', 'Cher']],
    [{ fromName: null, fromEmail: 'n@x.test', signature: null }, ['', '', '']],
  ])('%o', (mailbox, [firstName, lastName, name]) => {
    expect(senderVariables(mailbox)).toMatchObject({ firstName, lastName, name, email: mailbox.fromEmail });
  });

  it.each([
    ['{{ sender.firstName }} {{ sender.signature | default: "" }} {{ unsubscribeUrl }}', null],
    ['{% if sender.signature %}{{ sender.signature }}{% endif %}', null],
    ['{{ sender }}', 'unknown variable sender'],
    ['{{ sender.password }}', 'unknown variable sender.password'],
    ['{% if sender.title %}x{% endif %}', 'unknown variable sender.title'],
  ])('%s', (source, error) => {
    const found = templateError(source);
    if (error === null) expect(found).toBeNull();
    else expect(found).toContain(error);
  });
});
