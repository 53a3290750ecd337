import { and, eq } from 'drizzle-orm';
import { ImapFlow } from 'imapflow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEmailChannel, type EmailChannel } from '../../../src/channels/email/email.channel';
import {
  enrollments,
  leads,
  mailboxes,
  messages,
  stepRuns,
  suppressions,
} from '../../../src/db/schema/index';
import type { Channel } from '../../../src/engine/channel';
import { channelMap } from '../../helpers/channels';
import { type Dovecot, startDovecot } from '../../helpers/dovecot';
import {
  createTestWorkspace,
  startTestEngine,
  type TestEngine,
  type TestWorkspace,
  waitFor,
} from '../../helpers/engine';
import { insertLeads } from '../../helpers/factories';
import { addMailbox } from '../../helpers/mailboxes';
import { createActiveSequence, enrollLeads } from '../../helpers/sequences';
import { type SmtpSink, startSmtpSink } from '../../helpers/smtp-sink';
import { header } from './support';

const PASS = 'inbox-password-1';

/**
 * The inbox of a mailbox, read over IMAP from a real Dovecot: a lead's reply, a bounce and an
 * out-of-office answer put in place with APPEND, as a delivery does, act on the cadence.
 */
describe('inbox connection over IMAP', () => {
  let engine: TestEngine;
  let sink: SmtpSink;
  let dovecot: Dovecot;
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
    [sink, dovecot] = await Promise.all([startSmtpSink(), startDovecot()]);
    engine = await startTestEngine({
      workers: true,
      env: { MAINTENANCE_INTERVAL_SECONDS: '0.3', INBOX_POLL_SECONDS: '2' },
      channels: channelMap(channel),
    });
  });
  afterAll(async () => {
    await engine?.close();
    await sink?.close();
    await dovecot?.stop();
  });

  let n = 0;
  /** A workspace with a mailbox whose inbox is a fresh Dovecot account, connected through the API. */
  async function setup() {
    const ws = await createTestWorkspace(engine.app);
    const user = `sdr${++n}@ourco.example`;
    dovecot.addUser(user, PASS);
    const mailbox = await addMailbox(engine, ws, sink, { fromEmail: user });
    const res = await engine.app.inject({
      method: 'PATCH',
      url: `/v1/mailboxes/${mailbox.id}`,
      headers: ws.auth,
      payload: {
        imap: { host: dovecot.host, port: dovecot.port, secure: false, tls: 'none', user, pass: PASS },
      },
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().inbox.status).toBe('idle');
    await waitFor(async () => (await view(ws, mailbox.id)).inbox.status === 'connected', {
      timeoutMs: 15_000,
    });
    return { ws, mailbox, user };
  }
  const view = async (ws: TestWorkspace, id: string) =>
    (await engine.app.inject({ method: 'GET', url: `/v1/mailboxes/${id}`, headers: ws.auth })).json();

  /** Enrolls one lead in email → wait → email, and returns it with its first message as sent. */
  async function firstEmailSent(ws: TestWorkspace, waitSeconds = 30) {
    const [lead] = await insertLeads(engine.deps.db, ws.id, 1);
    if (!lead?.email) throw new Error('no lead');
    const sequenceId = await createActiveSequence(engine.app, ws, {
      steps: [
        { type: 'email', subject: 'Quick question', body: 'Hi {{ firstName }}' },
        { type: 'wait', seconds: waitSeconds },
        { type: 'email', subject: 'x', body: 'Following up', thread: 'reply' },
      ],
    });
    await enrollLeads(engine.app, ws, sequenceId, [lead.id]);
    const sent = await waitFor(async () => sink.mailTo(lead.email)[0], { timeoutMs: 15_000 });
    const messageId = header(sent.raw, 'Message-ID');
    if (!messageId) throw new Error('no Message-ID');
    return { lead, email: lead.email, messageId };
  }

  const enrollmentOf = async (leadId: string) => {
    const [row] = await engine.deps.db.select().from(enrollments).where(eq(enrollments.leadId, leadId));
    return row;
  };

  it('a reply appended to the inbox stops the cadence: the follow-up never goes out, and nothing in the mailbox is changed', async () => {
    const { ws, mailbox, user } = await setup();
    const { lead, email: to, messageId } = await firstEmailSent(ws, 3);
    const reply = [
      `From: ${lead.firstName} <${to}>`,
      `To: ${user}`,
      'Subject: Re: Quick question',
      `Message-ID: <reply-${lead.id}@example.test>`,
      `In-Reply-To: ${messageId}`,
      `References: ${messageId}`,
      'Date: Mon, 07 Dec 2026 10:00:00 +0000',
      'Content-Type: text/plain; charset=utf-8',
      '',
      'Sounds interesting, can we talk on Thursday?',
      '',
      `On Mon, Dec 7, 2026 at 9:00 AM <${user}> wrote:`,
      '> Hi',
      '',
    ].join('\r\n');
    await dovecot.append(user, PASS, reply);
    await waitFor(async () => (await enrollmentOf(lead.id))?.status === 'replied', { timeoutMs: 10_000 });
    const [stored] = await engine.deps.db
      .select()
      .from(messages)
      .where(and(eq(messages.leadId, lead.id), eq(messages.direction, 'inbound')));
    expect(stored).toMatchObject({ classification: 'human', status: 'matched', mailboxId: mailbox.id });
    // The wait was 3 s: well past it, the follow-up was still never sent.
    await new Promise((r) => setTimeout(r, 5_000));
    expect(sink.mailTo(to)).toHaveLength(1);
    const runs = await engine.deps.db
      .select()
      .from(stepRuns)
      .where(eq(stepRuns.enrollmentId, (await enrollmentOf(lead.id))?.id ?? ''));
    expect(runs.filter((r) => r.status === 'sent')).toHaveLength(1);

    // Read-only: the reply is still unread (no \Seen) and still in the inbox.
    const client = new ImapFlow({
      host: dovecot.host,
      port: dovecot.port,
      secure: false,
      auth: { user, pass: PASS },
      logger: false,
    });
    await client.connect();
    const lock = await client.getMailboxLock('INBOX');
    try {
      const flags = [];
      for await (const m of client.fetch('1:*', { flags: true })) flags.push([...(m.flags ?? [])]);
      // One message, not \Seen (\Recent is this session's own flag).
      expect(flags).toHaveLength(1);
      expect(flags[0]).not.toContain('\\Seen');
    } finally {
      lock.release();
      await client.logout();
    }
  });

  it('a hard bounce suppresses the address; an out-of-office pauses the cadence until the return date; its own sent copy is not a reply', async () => {
    const { ws, user } = await setup();
    const bounced = await firstEmailSent(ws);
    const away = await firstEmailSent(ws);
    const dsn = [
      'From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>',
      `To: ${user}`,
      'Subject: Delivery Status Notification (Failure)',
      'Message-ID: <dsn-1@mx.google.com>',
      'Date: Mon, 07 Dec 2026 10:05:00 +0000',
      'MIME-Version: 1.0',
      'Content-Type: multipart/report; report-type=delivery-status; boundary="b1"',
      '',
      '--b1',
      'Content-Type: text/plain; charset=utf-8',
      '',
      `Address not found: your message wasn't delivered to ${bounced.email}.`,
      '',
      '--b1',
      'Content-Type: message/delivery-status',
      '',
      'Reporting-MTA: dns; googlemail.com',
      '',
      `Final-Recipient: rfc822; ${bounced.email}`,
      'Action: failed',
      'Status: 5.1.1',
      '',
      '--b1',
      'Content-Type: text/rfc822-headers',
      '',
      `From: ${user}`,
      `To: ${bounced.email}`,
      `Message-ID: ${bounced.messageId}`,
      'Subject: Quick question',
      '',
      '--b1--',
      '',
    ].join('\r\n');
    const ooo = [
      `From: <${away.email}>`,
      `To: ${user}`,
      'Subject: Automatic reply: Quick question',
      'Auto-Submitted: auto-replied',
      `Message-ID: <ooo-${away.lead.id}@example.test>`,
      `In-Reply-To: ${away.messageId}`,
      'Date: Mon, 07 Dec 2026 10:06:00 +0000',
      '',
      'I am out of the office until 4 January 2027 with limited access to email.',
      '',
    ].join('\r\n');
    const ownCopy = [
      `From: Sam <${user}>`,
      `To: <${away.email}>`,
      'Subject: Quick question',
      `Message-ID: <own-copy-${away.lead.id}@ourco.example>`,
      'Date: Mon, 07 Dec 2026 10:07:00 +0000',
      '',
      'Hi there',
      '',
    ].join('\r\n');
    for (const raw of [dsn, ooo, ownCopy]) await dovecot.append(user, PASS, raw);

    await waitFor(async () => (await enrollmentOf(bounced.lead.id))?.status === 'bounced', {
      timeoutMs: 10_000,
    });
    const suppressed = await engine.deps.db
      .select()
      .from(suppressions)
      .where(and(eq(suppressions.workspaceId, ws.id), eq(suppressions.value, bounced.email)));
    expect(suppressed).toHaveLength(1);

    const paused = await waitFor(
      async () => {
        const e = await enrollmentOf(away.lead.id);
        return e?.status === 'paused' ? e : undefined;
      },
      { timeoutMs: 10_000 },
    );
    expect(String(paused.resumeAt?.toISOString()) >= '2027-01-04').toBe(true);

    const inbound = await engine.deps.db
      .select({ messageId: messages.messageId })
      .from(messages)
      .where(and(eq(messages.workspaceId, ws.id), eq(messages.direction, 'inbound')));
    expect(inbound.map((m) => m.messageId).sort()).toEqual(
      ['<dsn-1@mx.google.com>', `<ooo-${away.lead.id}@example.test>`].sort(),
    );
    const [lead] = await engine.deps.db.select().from(leads).where(eq(leads.id, away.lead.id));
    expect(lead?.stage).not.toBe('lost');
  });

  it("a wrong password shows auth_failed with the server's words, and a fixed one reconnects", async () => {
    const { ws, mailbox, user } = await setup();
    const bad = await engine.app.inject({
      method: 'PATCH',
      url: `/v1/mailboxes/${mailbox.id}`,
      headers: ws.auth,
      payload: {
        imap: {
          host: dovecot.host,
          port: dovecot.port,
          secure: false,
          tls: 'none',
          user,
          pass: 'wrong-password',
        },
      },
    });
    expect(bad.statusCode).toBe(200);
    const failed = await waitFor(
      async () => {
        const v = await view(ws, mailbox.id);
        return v.inbox.status === 'auth_failed' ? v : undefined;
      },
      { timeoutMs: 30_000 },
    );
    expect(failed.inbox.lastError).toMatch(/authentication failed/i);
    const [row] = await engine.deps.db.select().from(mailboxes).where(eq(mailboxes.id, mailbox.id));
    expect(row?.inboxRetryAt?.getTime()).toBeGreaterThan(Date.now() - 1000);
    await engine.app.inject({
      method: 'PATCH',
      url: `/v1/mailboxes/${mailbox.id}`,
      headers: ws.auth,
      payload: {
        imap: { host: dovecot.host, port: dovecot.port, secure: false, tls: 'none', user, pass: PASS },
      },
    });
    await waitFor(async () => (await view(ws, mailbox.id)).inbox.status === 'connected', {
      timeoutMs: 15_000,
    });
  });
});
