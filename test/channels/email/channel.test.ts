import { and, eq } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createEmailChannel, type EmailChannel } from '../../../src/channels/email/email.channel';
import { AmbiguousSendError } from '../../../src/channels/email/smtp-errors';
import type { ChannelResult, StepContext } from '../../../src/engine/channel';
import { enrollments, mailboxes, messages } from '../../../src/db/schema/index';
import { createTestWorkspace, type TestEngine } from '../../helpers/engine';
import { type SmtpSink } from '../../helpers/smtp-sink';
import { addMailbox } from '../../helpers/mailboxes';
import {
  applyEnrollmentPatch,
  claimedContext,
  nextAttempt,
  reload,
  storeSequence,
} from '../../helpers/step-context';
import { header, startEmailChannelTest } from './support';

const twoSteps = {
  steps: [
    { type: 'email' as const, subject: 'Hello {{ firstName }}', body: 'Hi {{ firstName }} at {{ company }}' },
    {
      type: 'email' as const,
      subject: 'unused',
      body: 'Following up, {{ firstName }}',
      thread: 'reply' as const,
    },
  ],
};

describe('email channel against a real SMTP server', () => {
  let engine: TestEngine;
  let sink: SmtpSink;
  let channel: EmailChannel;
  let close: () => Promise<void>;
  beforeAll(async () => {
    ({ engine, sink, channel, close } = await startEmailChannelTest());
  });
  afterEach(() => sink.setBehaviour(undefined));
  afterAll(() => close());

  const setup = async (mailbox: Record<string, unknown> = {}) => {
    const ws = await createTestWorkspace(engine.app);
    const box = await addMailbox(engine, ws, sink, mailbox);
    return { ws, box };
  };
  const messageRows = (stepRunId: string) =>
    engine.deps.db.select().from(messages).where(eq(messages.stepRunId, stepRunId));

  it('sends with our Message-ID and both unsubscribe headers, then threads the reply step with Re:', async () => {
    const { ws, box } = await setup();
    const seq = await storeSequence(engine, ws.id, twoSteps);
    const first = await claimedContext(engine, ws.id, seq, { lead: { firstName: 'Grace', company: 'Navy' } });
    const to = first.lead.email ?? '';

    const r1 = await channel.send(first);
    expect(r1.kind).toBe('sent');
    if (r1.kind !== 'sent') return;
    const messageId = String(r1.data?.messageId);
    expect(messageId).toBe(`<${first.run.id}@sender.test>`);
    expect(r1.enrollmentPatch).toEqual({
      mailboxId: box.id,
      threadMessageId: messageId,
      threadSubject: 'Hello Grace',
    });
    const [mail] = sink.mailTo(to);
    expect(mail?.parsed.messageId).toBe(messageId);
    expect(mail?.parsed.subject).toBe('Hello Grace');
    expect(mail?.parsed.text?.trim()).toBe('Hi Grace at Navy');
    expect(mail?.parsed.html).toBe(false);
    expect(mail?.parsed.from?.value[0]).toEqual({ address: 'sales@sender.test', name: 'Sam Sender' });
    expect(header(mail?.raw, 'List-Unsubscribe')).toMatch(
      /^<http:\/\/localhost:3000\/u\/[A-Za-z0-9._-]+>, <mailto:sales@sender\.test\?subject=unsubscribe>$/,
    );
    expect(header(mail?.raw, 'List-Unsubscribe-Post')).toBe('List-Unsubscribe=One-Click');
    // The row stays `sending` until the engine records the outcome, which marks the row it names.
    const [row] = await messageRows(first.run.id);
    expect(r1.sentMessageRowId).toBe(row?.id);
    expect(row).toMatchObject({
      status: 'sending',
      messageId,
      direction: 'outbound',
      mailboxId: box.id,
      subject: 'Hello Grace',
    });

    await applyEnrollmentPatch(engine, first, r1);
    const second = await claimedContext(engine, ws.id, seq, {
      stepIndex: 1,
      enrollmentId: first.enrollment.id,
    });
    const r2 = await channel.send(second);
    expect(r2.kind).toBe('sent');
    const replies = sink.mailTo(to);
    expect(replies).toHaveLength(2);
    const reply = replies[1];
    expect(reply?.parsed.subject).toBe('Re: Hello Grace');
    expect(reply?.parsed.inReplyTo).toBe(messageId);
    expect(reply?.parsed.references).toBe(messageId);
    expect(reply?.parsed.text?.trim()).toBe('Following up, Grace');
    // The thread root is set once, by the first email.
    expect(r2.kind === 'sent' && r2.enrollmentPatch).toEqual({ mailboxId: box.id });
  });

  it('sends an HTML body with a plain-text alternative', async () => {
    const { ws } = await setup();
    const seq = await storeSequence(engine, ws.id, {
      steps: [
        {
          type: 'email',
          subject: 'Hi',
          body: '<p>Hello <b>{{ firstName }}</b></p><p><a href="https://example.test/demo">Book a demo</a></p>',
        },
      ],
    });
    const ctx = await claimedContext(engine, ws.id, seq, { lead: { firstName: 'Linus' } });
    expect((await channel.send(ctx)).kind).toBe('sent');
    const [mail] = sink.mailTo(ctx.lead.email);
    expect(mail?.parsed.html).toContain('<b>Linus</b>');
    expect(mail?.parsed.html).toContain('href="https://example.test/demo"');
    expect(mail?.parsed.text?.trim()).toBe('Hello Linus\n\nBook a demo (https://example.test/demo)');
  });

  it('retries 451 twice with backoff, then delivers once with one message row', async () => {
    const { ws } = await setup();
    const seq = await storeSequence(engine, ws.id, twoSteps);
    let ctx = await claimedContext(engine, ws.id, seq);
    const to = (ctx.lead.email ?? '').toLowerCase();
    sink.setBehaviour(({ envelopeTo, attempt }) =>
      envelopeTo.includes(to) && attempt <= 2 ? { code: 451, message: 'try again later' } : undefined,
    );
    const results: ChannelResult[] = [];
    for (let i = 0; i < 3; i++) {
      const before = Date.now();
      const result = await channel.send(ctx);
      results.push(result);
      if (result.kind === 'retry_later') {
        expect(result.reason).toMatch(/^smtp_451/);
        expect(result.countsAsAttempt).toBe(true);
        expect(result.at.getTime()).toBeGreaterThan(before + 3 * 60_000);
      }
      ctx = await nextAttempt(engine, ctx);
    }
    expect(results.map((r) => r.kind)).toEqual(['retry_later', 'retry_later', 'sent']);
    expect(sink.attempts.get(to)).toBe(3);
    expect(sink.mailTo(to)).toHaveLength(1);
    const rows = await messageRows(ctx.run.id);
    expect(rows.map((r) => r.status)).toEqual(['sending']);
    expect(results[2]).toMatchObject({ sentMessageRowId: rows[0]?.id });
    expect(sink.mailTo(to)[0]?.parsed.messageId).toBe(rows[0]?.messageId);
  });

  it('retries, and sends once, when the database fails at the hand-off before anything reached SMTP', async () => {
    const { ws } = await setup();
    const seq = await storeSequence(engine, ws.id, twoSteps);
    let ctx = await claimedContext(engine, ws.id, seq);
    const to = (ctx.lead.email ?? '').toLowerCase();
    const broken: typeof ctx = {
      ...ctx,
      handOff: () => Promise.reject(new Error('Connection terminated unexpectedly')),
    };
    const first = await channel.send(broken);
    expect(first).toMatchObject({ kind: 'retry_later', reason: 'handoff_check_failed' });
    expect((await messageRows(ctx.run.id)).map((r) => r.status)).toEqual(['canceled']);
    ctx = await nextAttempt(engine, ctx);
    expect((await channel.send(ctx)).kind).toBe('sent');
    expect(sink.mailTo(to)).toHaveLength(1);
  });

  it('lets the SMTP answer decide when the database fails after the exchange: sent once, or bounced', async () => {
    const { ws } = await setup();
    const seq = await storeSequence(engine, ws.id, twoSteps);
    // The hand-off's commit fails on a killed connection after the server answered.
    const commitLost = (ctx: StepContext): StepContext => ({
      ...ctx,
      handOff: async (send) => {
        await send();
        throw new Error('Connection terminated unexpectedly');
      },
    });
    const accepted = await claimedContext(engine, ws.id, seq);
    const sent = await channel.send(commitLost(accepted));
    expect(sent).toMatchObject({ kind: 'sent' });
    expect(sink.mailTo(accepted.lead.email)).toHaveLength(1);
    const [row] = await messageRows(accepted.run.id);
    expect(row?.status).toBe('sending');
    expect(sent).toMatchObject({ sentMessageRowId: row?.id });

    const refused = await claimedContext(engine, ws.id, seq);
    const refusedTo = (refused.lead.email ?? '').toLowerCase();
    sink.setBehaviour(({ envelopeTo }) =>
      envelopeTo.includes(refusedTo) ? { code: 550, message: 'no such user' } : undefined,
    );
    expect(await channel.send(commitLost(refused))).toMatchObject({ kind: 'failed', stop: 'bounced' });
    expect((await messageRows(refused.run.id)).map((r) => r.status)).toEqual(['failed']);
  });

  it('starts the SMTP exchange once even if the hand-off calls it again', async () => {
    const { ws } = await setup();
    const seq = await storeSequence(engine, ws.id, twoSteps);
    const ctx = await claimedContext(engine, ws.id, seq);
    const twice: StepContext = {
      ...ctx,
      handOff: async (send) => {
        await send();
        return { allowed: true, value: await send() };
      },
    };
    expect((await channel.send(twice)).kind).toBe('sent');
    expect(sink.mailTo(ctx.lead.email)).toHaveLength(1);
  });

  it('gives up after the last attempt with the reason', async () => {
    const limited = createEmailChannel(engine.deps, { maxAttempts: 2 });
    try {
      const { ws } = await setup();
      const seq = await storeSequence(engine, ws.id, twoSteps);
      let ctx = await claimedContext(engine, ws.id, seq);
      const to = (ctx.lead.email ?? '').toLowerCase();
      sink.setBehaviour(({ envelopeTo }) =>
        envelopeTo.includes(to) ? { code: 421, message: 'busy' } : undefined,
      );
      expect((await limited.send(ctx)).kind).toBe('retry_later');
      ctx = await nextAttempt(engine, ctx);
      const last = await limited.send(ctx);
      expect(last).toEqual({
        kind: 'failed',
        reason: expect.stringMatching(/^gave up after 2 attempts: smtp_421/),
      });
      expect(sink.mailTo(to)).toHaveLength(0);
    } finally {
      await limited.close();
    }
  });

  it('treats 550 for the recipient as a hard bounce', async () => {
    const { ws } = await setup();
    const seq = await storeSequence(engine, ws.id, twoSteps);
    const ctx = await claimedContext(engine, ws.id, seq);
    const to = (ctx.lead.email ?? '').toLowerCase();
    sink.setBehaviour(({ envelopeTo }) =>
      envelopeTo.includes(to) ? { code: 550, message: 'no such user' } : undefined,
    );
    const result = await channel.send(ctx);
    // The run keeps its variant (none here), so a bounce counts against the version that caused it.
    expect(result).toEqual({
      kind: 'failed',
      stop: 'bounced',
      reason: expect.stringMatching(/^smtp_550/),
      data: { variant: null },
    });
    expect(sink.mailTo(to)).toHaveLength(0);
    expect((await messageRows(ctx.run.id)).map((r) => r.status)).toEqual(['failed']);
  });

  it('never retries when the server goes silent after the message: it may have it (ambiguous)', async () => {
    const impatient = createEmailChannel(engine.deps, {
      timeouts: { connectionMs: 1000, greetingMs: 1000, socketMs: 1000 },
    });
    try {
      const { ws } = await setup();
      const seq = await storeSequence(engine, ws.id, twoSteps);
      const ctx = await claimedContext(engine, ws.id, seq);
      const to = (ctx.lead.email ?? '').toLowerCase();
      sink.setBehaviour(({ envelopeTo }) => (envelopeTo.includes(to) ? { dropConnection: true } : undefined));
      // Throwing is the channel's way to say "maybe delivered": the engine marks the run ambiguous.
      await expect(impatient.send(ctx)).rejects.toBeInstanceOf(AmbiguousSendError);
      expect((await messageRows(ctx.run.id)).map((r) => r.status)).toEqual(['sending']);
    } finally {
      await impatient.close();
    }
  });

  it('retries when the server cannot be reached', async () => {
    const { ws, box } = await setup();
    await engine.app.inject({
      method: 'PATCH',
      url: `/v1/mailboxes/${box.id}`,
      headers: ws.auth,
      payload: { smtp: { port: 1 } },
    });
    const seq = await storeSequence(engine, ws.id, twoSteps);
    const result = await channel.send(await claimedContext(engine, ws.id, seq));
    expect(result).toMatchObject({
      kind: 'retry_later',
      countsAsAttempt: true,
      reason: expect.stringMatching(/ECONNECTION|ESOCKET|ECONNREFUSED/),
    });
  });

  it('keeps CR/LF in a subject or a name from adding a header', async () => {
    const { ws, box } = await setup();
    // The API refuses line breaks in names; a row written some other way must still be safe.
    await engine.deps.db
      .update(mailboxes)
      .set({ fromName: 'Sam\r\nBcc: x@evil.test', updatedAt: new Date() })
      .where(eq(mailboxes.id, box.id));
    const seq = await storeSequence(engine, ws.id, {
      steps: [{ type: 'email', subject: 'Hello {{ firstName }}\r\nBcc: x@evil.test', body: 'Hi' }],
    });
    const ctx = await claimedContext(engine, ws.id, seq, {
      lead: { firstName: 'Eve\r\nBcc: x@evil.test', lastName: 'X\nCc: y@evil.test' },
    });
    expect((await channel.send(ctx)).kind).toBe('sent');
    const [mail] = sink.mailTo(ctx.lead.email);
    expect(mail?.envelopeTo).toEqual([ctx.lead.email?.toLowerCase()]);
    expect(mail?.parsed.headers.has('bcc')).toBe(false);
    expect(mail?.parsed.headers.has('cc')).toBe(false);
    expect(mail?.raw).not.toMatch(/\r\n(Bcc|Cc):/i);
    expect(mail?.parsed.subject).toBe('Hello Eve Bcc: x@evil.test Bcc: x@evil.test');
  });

  it('never exceeds the daily limit under parallel sends, and defers the rest to the next day', async () => {
    const { ws, box } = await setup({ dailyLimit: 3 });
    const seq = await storeSequence(engine, ws.id, twoSteps);
    const contexts = await Promise.all(Array.from({ length: 8 }, () => claimedContext(engine, ws.id, seq)));
    const results = await Promise.all(contexts.map((ctx) => channel.send(ctx)));
    const sent = results.filter((r) => r.kind === 'sent');
    const deferred = results.filter((r) => r.kind === 'retry_later');
    expect(sent).toHaveLength(3);
    expect(deferred).toHaveLength(5);
    const tomorrow = new Date();
    tomorrow.setUTCHours(24, 0, 0, 0);
    for (const r of deferred) {
      expect(r).toMatchObject({ reason: 'capacity', countsAsAttempt: false });
      if (r.kind === 'retry_later') expect(r.at.getTime()).toBeGreaterThanOrEqual(tomorrow.getTime());
    }
    const delivered = sink.received.filter((m) =>
      contexts.some((c) => m.envelopeTo.includes(c.lead.email ?? '')),
    );
    expect(delivered).toHaveLength(3);
    const rows = await engine.deps.db
      .select()
      .from(messages)
      .where(and(eq(messages.mailboxId, box.id), eq(messages.status, 'sending')));
    expect(rows).toHaveLength(3);
  });

  it('spaces sends by minIntervalSeconds (jittered), even when called in parallel', async () => {
    const { ws } = await setup({ minIntervalSeconds: 3600 });
    const seq = await storeSequence(engine, ws.id, twoSteps);
    const contexts = await Promise.all(Array.from({ length: 4 }, () => claimedContext(engine, ws.id, seq)));
    const started = Date.now();
    const results = await Promise.all(contexts.map((ctx) => channel.send(ctx)));
    expect(results.filter((r) => r.kind === 'sent')).toHaveLength(1);
    for (const r of results.filter((x) => x.kind === 'retry_later')) {
      if (r.kind !== 'retry_later') continue;
      expect(r.reason).toBe('capacity');
      expect(r.at.getTime()).toBeGreaterThanOrEqual(started + 3600_000);
      expect(r.at.getTime()).toBeLessThanOrEqual(Date.now() + 1.5 * 3600_000 + 1000);
    }
  });

  it('waits with no_mailbox when the workspace has none, without using up an attempt', async () => {
    const ws = await createTestWorkspace(engine.app);
    const seq = await storeSequence(engine, ws.id, twoSteps);
    const ctx = await claimedContext(engine, ws.id, seq);
    const before = Date.now();
    const result = await channel.send(ctx);
    expect(result).toMatchObject({ kind: 'retry_later', reason: 'no_mailbox', countsAsAttempt: false });
    if (result.kind === 'retry_later')
      expect(result.at.getTime()).toBeGreaterThanOrEqual(before + 5 * 60_000);
    expect(await messageRows(ctx.run.id)).toEqual([]);
  });

  it('round-robins new threads across active mailboxes and keeps a thread on its mailbox', async () => {
    const { ws, box: a } = await setup();
    const b = await addMailbox(engine, ws, sink, { name: 'Second', fromEmail: 'second@other.test' });
    const paused = await addMailbox(engine, ws, sink, { name: 'Paused', fromEmail: 'paused@other.test' });
    await engine.app.inject({
      method: 'PATCH',
      url: `/v1/mailboxes/${paused.id}`,
      headers: ws.auth,
      payload: { status: 'paused' },
    });
    const seq = await storeSequence(engine, ws.id, twoSteps);
    const used: string[] = [];
    for (let i = 0; i < 4; i++) {
      const ctx = await claimedContext(engine, ws.id, seq);
      const r = await channel.send(ctx);
      if (r.kind === 'sent') used.push(String(r.data?.mailboxId));
    }
    expect(used.filter((id) => id === a.id)).toHaveLength(2);
    expect(used.filter((id) => id === b.id)).toHaveLength(2);

    const pinned = await claimedContext(engine, ws.id, seq);
    await engine.deps.db
      .update(enrollments)
      .set({ mailboxId: b.id })
      .where(eq(enrollments.id, pinned.enrollment.id));
    for (let i = 0; i < 2; i++) {
      const r = await channel.send(await reload(engine, pinned));
      expect(r.kind === 'sent' && r.data?.mailboxId).toBe(b.id);
      await engine.deps.db.delete(messages).where(eq(messages.stepRunId, pinned.run.id));
    }
    await engine.deps.db
      .update(enrollments)
      .set({ mailboxId: paused.id })
      .where(eq(enrollments.id, pinned.enrollment.id));
    expect(await channel.send(await reload(engine, pinned))).toMatchObject({
      kind: 'retry_later',
      reason: 'mailbox_paused',
    });
  });

  it('sends a run at most once: a second call reports the first message', async () => {
    const { ws } = await setup();
    const seq = await storeSequence(engine, ws.id, twoSteps);
    const ctx = await claimedContext(engine, ws.id, seq);
    const first = await channel.send(ctx);
    // Recorded as the engine records a send (it marks the row the result names); a second call for
    // the run then reports that message and sends nothing.
    if (first.kind === 'sent' && first.sentMessageRowId)
      await engine.deps.db
        .update(messages)
        .set({ status: 'sent' })
        .where(eq(messages.id, first.sentMessageRowId));
    const again = await channel.send(await reload(engine, ctx));
    expect(again.kind).toBe('sent');
    expect(again.kind === 'sent' && again.data?.messageId).toBe(
      first.kind === 'sent' && first.data?.messageId,
    );
    expect(sink.mailTo(ctx.lead.email)).toHaveLength(1);
  });

  it('records the chosen variant (0 is the step itself, A) and sends its content', async () => {
    const { ws } = await setup();
    const seq = await storeSequence(engine, ws.id, {
      steps: [
        {
          type: 'email',
          subject: 'Base',
          body: 'base',
          variants: [{ body: 'variant zero' }, { subject: 'V1', body: 'variant one' }],
        },
      ],
    });
    for (let i = 0; i < 6; i++) {
      const ctx = await claimedContext(engine, ws.id, seq);
      const r = await channel.send(ctx);
      const variant = r.kind === 'sent' ? r.data?.variant : undefined;
      expect([0, 1, 2]).toContain(variant);
      const [mail] = sink.mailTo(ctx.lead.email);
      expect(mail?.parsed.text?.trim()).toBe(
        variant === 0 ? 'base' : variant === 1 ? 'variant zero' : 'variant one',
      );
      expect(mail?.parsed.subject).toBe(variant === 2 ? 'V1' : 'Base');
    }
  });

  it('fails a step whose template does not render, without sending', async () => {
    const { ws } = await setup();
    const seq = await storeSequence(engine, ws.id, twoSteps);
    const claimed = await claimedContext(engine, ws.id, seq);
    // Validation refuses such a template; a version stored under an older liquidjs could still hold one.
    const ctx = { ...claimed, step: { ...claimed.step, body: '{{ firstName | nosuchfilter }}' } };
    expect(await channel.send(ctx)).toMatchObject({
      kind: 'failed',
      reason: expect.stringMatching(/^template_error/),
    });
    expect(sink.mailTo(ctx.lead.email)).toHaveLength(0);
  });
});
