import { and, eq, gt } from 'drizzle-orm';
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
    await dovecot.addUser(user, PASS);
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

  it('the List-Unsubscribe mailto works: the mail it writes to the sending mailbox unsubscribes the lead', async () => {
    const { ws, user } = await setup();
    const { lead, email: to } = await firstEmailSent(ws, 3);
    const sent = sink.mailTo(to)[0]?.raw;
    expect(header(sent, 'List-Unsubscribe')).toContain(`mailto:${user}?subject=unsubscribe`);
    // What a mail client sends for that link: the subject, an empty body, no thread headers.
    await dovecot.append(
      user,
      PASS,
      [
        `From: <${to}>`,
        `To: ${user}`,
        'Subject: unsubscribe',
        `Message-ID: <unsub-${lead.id}@example.test>`,
        '',
        '',
      ].join('\r\n'),
    );
    await waitFor(async () => (await enrollmentOf(lead.id))?.status === 'unsubscribed', {
      timeoutMs: 10_000,
    });
    await new Promise((r) => setTimeout(r, 4_000));
    expect(sink.mailTo(to)).toHaveLength(1);
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
    // Not retried at once: a backoff after each failed login (no tight loop against the server).
    expect(row?.inboxRetryAt).toBeInstanceOf(Date);
    expect(row?.inboxFailures).toBeGreaterThan(0);
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

  it('an ambiguous send found in the Sent folder is settled as sent and the cadence moves on; one found nowhere stays for an operator', async () => {
    const { ws, user } = await setup();
    const filed = await firstEmailSent(ws, 60);
    const lost = await firstEmailSent(ws, 60);
    const runsOf = async (leadId: string) => {
      const enrollment = await enrollmentOf(leadId);
      return engine.deps.db
        .select()
        .from(stepRuns)
        .where(eq(stepRuns.enrollmentId, enrollment?.id ?? ''));
    };
    const first = async (leadId: string) => (await runsOf(leadId)).find((r) => r.stepIndex === 0);
    // The follow-up email, after the wait step.
    const next = async (leadId: string) => (await runsOf(leadId)).find((r) => r.stepIndex > 0);
    // What a crash during the SMTP hand-off leaves: the run `ambiguous`, its cadence waiting. Made
    // here from a send the engine has finished recording (so nothing of it is still in flight),
    // with the follow-up it scheduled taken back, as if it had never been scheduled.
    for (const lead of [filed.lead, lost.lead]) {
      const sent = await waitFor(async () => {
        const run = await first(lead.id);
        return run?.status === 'sent' && (await next(lead.id)) ? run : undefined;
      });
      await engine.deps.db
        .delete(stepRuns)
        .where(and(eq(stepRuns.enrollmentId, sent.enrollmentId), gt(stepRuns.stepIndex, 0)));
      await engine.deps.db
        .update(stepRuns)
        .set({ status: 'ambiguous', reason: 'lease_expired', updatedAt: new Date() })
        .where(eq(stepRuns.id, sent.id));
    }
    // Gmail files what was submitted over SMTP in Sent: the copy carries the run's Message-ID.
    const copy = sink.mailTo(filed.email)[0]?.raw ?? '';
    await dovecot.append(user, PASS, copy, 'Sent');

    await waitFor(async () => (await first(filed.lead.id))?.status === 'sent', { timeoutMs: 15_000 });
    expect((await first(filed.lead.id))?.reason).toBe('found_in_sent_folder');
    // The cadence went on without an operator: its follow-up is scheduled again.
    expect((await next(filed.lead.id))?.status).toBe('scheduled');
    // The other one was looked for in the same pass and not found: still the operator's to
    // settle, its follow-up not scheduled, nothing resent.
    expect((await first(lost.lead.id))?.status).toBe('ambiguous');
    expect(await next(lost.lead.id)).toBeUndefined();
    expect(sink.mailTo(lost.email)).toHaveLength(1);
  });

  it("verify logs in over SMTP and IMAP and reports what works, in the server's own words", async () => {
    const { ws, mailbox, user } = await setup();
    const verify = async () =>
      (
        await engine.app.inject({
          method: 'POST',
          url: `/v1/mailboxes/${mailbox.id}/verify`,
          headers: ws.auth,
        })
      ).json();
    const good = await verify();
    expect(good.smtp).toEqual({ ok: true, error: null });
    expect(good.imap).toMatchObject({ ok: true, error: null });
    expect(good.imap.folders).toEqual(expect.arrayContaining(['INBOX', 'Sent', 'Junk']));

    const patch = (imap: Record<string, unknown>) =>
      engine.app.inject({
        method: 'PATCH',
        url: `/v1/mailboxes/${mailbox.id}`,
        headers: ws.auth,
        payload: { imap },
      });
    const base = { host: dovecot.host, port: dovecot.port, secure: false, tls: 'none', user };
    await patch({ ...base, pass: 'wrong-password' });
    expect((await verify()).imap).toMatchObject({
      ok: false,
      error: expect.stringMatching(/authentication failed/i),
    });
    // The server offers no TLS: with tls required the password is never sent in clear.
    await patch({ ...base, pass: PASS, tls: 'required' });
    const clear = (await verify()).imap;
    expect(clear.ok).toBe(false);
    expect(clear.error).toMatch(/STARTTLS|TLS/i);
    // Implicit TLS against a plain-text port: a TLS failure, not a hang.
    await patch({ ...base, pass: PASS, secure: true });
    expect((await verify()).imap.ok).toBe(false);
    const closed = await patch({ ...base, pass: PASS, port: 1 });
    expect(closed.statusCode).toBe(200);
    expect((await verify()).imap).toMatchObject({ ok: false, error: expect.stringMatching(/ECONNREFUSED/) });
    // A private address the operator did not allow is refused when saved, naming the field.
    const privateHost = await patch({ ...base, host: '10.1.2.3', pass: PASS });
    expect(privateHost.statusCode).toBe(400);
    expect(privateHost.json().error).toMatchObject({
      code: 'private_address',
      details: [{ path: 'body.imap.host' }],
    });
    // The reader reports the failure on the mailbox rather than crashing.
    await waitFor(async () => (await view(ws, mailbox.id)).inbox.status === 'error', { timeoutMs: 30_000 });
  });

  it('hostile mail (20 MB, malformed MIME, an endless header line, no Message-ID) is stored, and the reader goes on to the next reply', async () => {
    const { ws, user } = await setup();
    const { lead, email: to, messageId } = await firstEmailSent(ws, 60);
    const big = Buffer.concat([
      Buffer.from(
        `From: <${to}>\r\nTo: ${user}\r\nSubject: huge\r\nMessage-ID: <huge@example.test>\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n`,
      ),
      Buffer.from(
        `${'QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB\r\n'.repeat(270_000)}`,
      ),
    ]);
    const malformed = [
      'From: someone@example.test',
      `To: ${user}`,
      'Subject: broken',
      'Message-ID: <broken@example.test>',
      'Content-Type: multipart/mixed; boundary="never-closed"',
      '',
      '--never-closed',
      'Content-Type: text/plain; charset=x-no-such-charset',
      '',
      'text in a charset nobody knows',
      '',
    ].join('\r\n');
    const endless = `From: other@example.test\r\nTo: ${user}\r\nSubject: long\r\nX-Long: ${'a'.repeat(200_000)}\r\n\r\nbody\r\n`;
    const noId = `From: anon@example.test\r\nTo: ${user}\r\nSubject: no id\r\n\r\nhello\r\n`;
    const reply = [
      `From: <${to}>`,
      `To: ${user}`,
      'Subject: Re: Quick question',
      `Message-ID: <after-hostile-${lead.id}@example.test>`,
      `In-Reply-To: ${messageId}`,
      '',
      'Yes, call me.',
      '',
    ].join('\r\n');
    await dovecot.appendMany(user, PASS, [big, malformed, endless, noId, reply]);
    const inboundOf = () =>
      engine.deps.db
        .select({ messageId: messages.messageId, subject: messages.subject, headers: messages.headers })
        .from(messages)
        .where(and(eq(messages.workspaceId, ws.id), eq(messages.direction, 'inbound')));
    // The 20 MB message is the lead's too and stops the cadence by itself, possibly in a read of its
    // own: the reader went on once the reply after it is stored.
    const replyId = `<after-hostile-${lead.id}@example.test>`;
    await waitFor(async () => (await inboundOf()).some((m) => m.messageId === replyId), {
      timeoutMs: 30_000,
    });
    expect((await enrollmentOf(lead.id))?.status).toBe('replied');
    const inbound = await inboundOf();
    expect(inbound).toHaveLength(5);
    const huge = inbound.find((m) => m.messageId === '<huge@example.test>');
    expect(huge?.headers?.['x-engine-truncated']).toMatch(/^read \d+ of \d+ bytes$/);
    expect(inbound.find((m) => m.subject === 'no id')?.messageId).toMatch(/@no-message-id\.invalid>$/);
    expect(inbound.map((m) => m.subject)).toEqual(expect.arrayContaining(['broken', 'long']));
  });
});
