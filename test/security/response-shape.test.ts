import { randomUUID } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rewriteLinks, trackableLinks } from '../../src/channels/email/tracking-links';
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
 * Issue 16, item 9: every answer is in the error shape (the click redirect included), and an
 * inbound webhook answers a workspace that exists exactly as one that does not.
 */
describe('answers an attacker reads', () => {
  let engine: TestEngine;
  let sink: SmtpSink;
  let ws: TestWorkspace;
  beforeAll(async () => {
    sink = await startSmtpSink();
    engine = await startTestEngine({ workers: true, env: { MAINTENANCE_INTERVAL_SECONDS: '0.3' } });
    ws = await createTestWorkspace(engine.app);
    await addMailbox(engine, ws, sink);
  });
  afterAll(async () => {
    await engine.close();
    await sink.close();
  });

  it('redirects a tracked link written with an encoded CR/LF without breaking the response', async () => {
    const email = `click.${randomUUID().slice(0, 8)}@example.test`;
    const lead = await engine.app.inject({
      method: 'POST',
      url: '/v1/leads',
      headers: ws.auth,
      payload: { email },
    });
    const sequenceId = await createActiveSequence(engine.app, ws, {
      steps: [
        {
          type: 'email',
          subject: 'Hi',
          body: '<p><a href="https://example.test/a&#13;&#10;Set-Cookie:&#32;stolen=1">read</a></p>',
        },
      ],
      settings: { trackClicks: true },
    });
    await enrollLeads(engine.app, ws, sequenceId, [lead.json<{ id: string }>().id]);
    const mail = await waitFor(async () => sink.mailTo(email)[0], { timeoutMs: 30_000, what: 'the email' });
    const html = typeof mail.parsed.html === 'string' ? mail.parsed.html : '';
    const link = /href="([^"]*\/t\/c\/[^"]+)"/.exec(html)?.[1] ?? '';
    expect(link).not.toBe('');
    const res = await engine.app.inject({ method: 'GET', url: new URL(link).pathname });
    expect(res.statusCode).toBe(302);
    expect(String(res.headers.location)).toBe('https://example.test/aSet-Cookie:%20stolen=1');
    expect(res.headers['set-cookie']).toBeUndefined();
  });

  it('answers an unknown click link in the error shape', async () => {
    const res = await engine.app.inject({ method: 'GET', url: `/t/c/${randomUUID()}.0.forged` });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual({ error: { code: 'not_found', message: 'this link is not valid' } });
  });

  it('finds links in linear time: `<a` repeated with no `>` costs what one pass costs', () => {
    const hostile = '<a href=x '.repeat(100_000);
    const plain = 'p'.repeat(hostile.length);
    const time = (f: () => void) => {
      const start = performance.now();
      f();
      return performance.now() - start;
    };
    const baseline = Math.max(
      time(() => trackableLinks(plain)),
      time(() => plain.split('<').join('<')),
      1,
    );
    const hostileMs = time(() => {
      trackableLinks(hostile);
      rewriteLinks(hostile, () => 'y');
    });
    // The old whole-body pattern took minutes on this input; a linear scan is a few passes.
    expect(hostileMs / baseline).toBeLessThan(200);
  });

  describe('inbound webhooks', () => {
    const post = (workspaceId: string, headers: Record<string, string>, body: string) =>
      engine.app.inject({
        method: 'POST',
        url: `/v1/webhooks/${workspaceId}/email`,
        headers: { 'content-type': 'application/json', ...headers },
        payload: body,
      });
    const body = JSON.stringify({ from: 'someone@example.test', subject: 'Re: hi', text: 'hello' });
    const signed = (secret: string, at: Date) => {
      const id = `msg_${randomUUID()}`;
      return {
        'webhook-id': id,
        'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
        'webhook-signature': new Webhook(secret).sign(id, at, body),
      };
    };
    const foreignSecret = `whsec_${Buffer.from(randomUUID()).toString('base64')}`;

    it.each([
      ['no signature headers', () => ({})],
      ['a signature with another secret', () => signed(foreignSecret, new Date())],
      ['a signature an hour old', () => signed(foreignSecret, new Date(Date.now() - 3_600_000))],
      [
        'a malformed timestamp',
        () => ({ 'webhook-id': 'msg_1', 'webhook-timestamp': 'soon', 'webhook-signature': 'v1,abc' }),
      ],
    ])('gives %s the same answer for a real workspace and a made-up one', async (_what, headers) => {
      const known = await post(ws.id, headers(), body);
      const unknown = await post(randomUUID(), headers(), body);
      const notAnId = await post('not-a-workspace', headers(), body);
      expect(known.statusCode).toBe(401);
      expect(unknown.statusCode).toBe(known.statusCode);
      expect(unknown.json()).toEqual(known.json());
      expect(notAnId.json()).toEqual(known.json());
    });
  });
});
