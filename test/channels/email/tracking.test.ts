import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EmailChannel } from '../../../src/channels/email/email.channel';
import { events } from '../../../src/db/schema/index';
import { createTestWorkspace, type TestEngine } from '../../helpers/engine';
import { type SmtpSink } from '../../helpers/smtp-sink';
import { addMailbox } from '../../helpers/mailboxes';
import { claimedContext, storeSequence } from '../../helpers/step-context';
import { startEmailChannelTest } from './support';

const htmlBody =
  '<p>Hi {{ firstName }}</p><p><a href="https://example.test/pricing?plan=pro&amp;ref=mail">Pricing</a> or <a href="https://example.test/demo">a demo</a></p>';

describe('open and click tracking', () => {
  let engine: TestEngine;
  let sink: SmtpSink;
  let channel: EmailChannel;
  let close: () => Promise<void>;
  beforeAll(async () => {
    ({ engine, sink, channel, close } = await startEmailChannelTest());
  });
  afterAll(() => close());

  async function sendTracked(settings: { trackOpens?: boolean; trackClicks?: boolean }) {
    const ws = await createTestWorkspace(engine.app);
    await addMailbox(engine, ws, sink);
    const seq = await storeSequence(engine, ws.id, {
      steps: [{ type: 'email', subject: 'Hi', body: htmlBody }],
      settings: { stopOnReply: true, stopCompanyOnReply: false, ...settings },
    });
    const ctx = await claimedContext(engine, ws.id, seq);
    expect((await channel.send(ctx)).kind).toBe('sent');
    const [mail] = sink.mailTo(ctx.lead.email);
    const html = typeof mail?.parsed.html === 'string' ? mail.parsed.html : '';
    return { ctx, html };
  }
  const eventsOf = (enrollmentId: string, type: string) =>
    engine.deps.db
      .select()
      .from(events)
      .where(and(eq(events.enrollmentId, enrollmentId), eq(events.type, type)));
  const pathOf = (url: string) => new URL(url).pathname;
  /** The same string with its last character changed: a signature that no longer matches. */
  const flip = (s: string) => `${s.slice(0, -1)}${s.endsWith('A') ? 'B' : 'A'}`;

  it('is off by default: links untouched, no pixel', async () => {
    const { html } = await sendTracked({});
    expect(html).toContain('href="https://example.test/demo"');
    expect(html).not.toContain('/t/o/');
    expect(html).not.toContain('/t/c/');
  });

  it('records an open from the pixel', async () => {
    const { ctx, html } = await sendTracked({ trackOpens: true });
    expect(html).toContain('href="https://example.test/demo"');
    const pixel = /<img src="([^"]+\/t\/o\/[^"]+)"/.exec(html)?.[1] ?? '';
    const res = await engine.app.inject({ method: 'GET', url: pathOf(pixel) });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('image/gif');
    const opened = await eventsOf(ctx.enrollment.id, 'email.opened');
    expect(opened).toHaveLength(1);
    expect(opened[0]).toMatchObject({
      leadId: ctx.lead.id,
      stepRunId: ctx.run.id,
      data: { messageId: `<${ctx.run.id}@sender.test>` },
    });
    // A forged pixel still answers with the image but records nothing.
    const forged = await engine.app.inject({ method: 'GET', url: flip(pathOf(pixel)) });
    expect(forged.statusCode).toBe(200);
    expect(await eventsOf(ctx.enrollment.id, 'email.opened')).toHaveLength(1);
  });

  it('redirects clicks to the links of the sent body only, recording each click', async () => {
    const { ctx, html } = await sendTracked({ trackClicks: true });
    const links = [...html.matchAll(/href="([^"]+)"/g)].map((m) => m[1] ?? '');
    expect(links).toHaveLength(2);
    expect(links.every((l) => l.includes('/t/c/'))).toBe(true);
    const targets: string[] = [];
    for (const link of links) {
      const res = await engine.app.inject({ method: 'GET', url: pathOf(link) });
      expect(res.statusCode).toBe(302);
      targets.push(String(res.headers.location));
    }
    expect(targets).toEqual(['https://example.test/pricing?plan=pro&ref=mail', 'https://example.test/demo']);
    const clicked = await eventsOf(ctx.enrollment.id, 'email.clicked');
    expect(clicked.map((e) => e.data.url)).toEqual(targets);

    // No open redirect: another index, a changed signature, or a made-up token go nowhere.
    const [id, , sig] = pathOf(links[0] ?? '')
      .slice('/t/c/'.length)
      .split('.');
    for (const token of [`${id}.2.${sig}`, `${id}.0.${flip(sig ?? '')}`, 'https%3A%2F%2Fevil.test']) {
      const res = await engine.app.inject({ method: 'GET', url: `/t/c/${token}` });
      expect(res.statusCode).toBe(404);
      expect(res.headers.location).toBeUndefined();
    }
    expect(await eventsOf(ctx.enrollment.id, 'email.clicked')).toHaveLength(2);
  });
});
