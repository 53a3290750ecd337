import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enrollments, events, messages, workspaces } from '../../../src/db/schema/index';
import {
  createTestWorkspace,
  startTestEngine,
  type TestEngine,
  type TestWorkspace,
} from '../../helpers/engine';
import { type Enrolled, enrolledLeads, signedPost } from './support';

/** Inbound webhook authentication: Standard Webhooks signatures, replay protection, body limits. */
describe('inbound webhook signatures', () => {
  let engine: TestEngine;
  let ws: TestWorkspace;
  let setup: Enrolled;
  beforeAll(async () => {
    engine = await startTestEngine();
    ws = await createTestWorkspace(engine.app);
    setup = await enrolledLeads(engine, ws, { count: 8 });
  });
  afterAll(() => engine.close());

  const replyFrom = (i: number) => {
    const lead = setup.leads[i];
    if (!lead) throw new Error(`no lead ${i}`);
    return {
      lead,
      body: {
        from: lead.email,
        to: 'sales@sender.test',
        subject: 'Re: Quick question',
        text: 'Sure, call me.',
        inReplyTo: lead.messageId,
      },
    };
  };

  /** What a reply changes for a lead: its inbound messages, its enrollment status, its replied events. */
  const effects = async (leadId: string) => {
    const db = engine.deps.db;
    const inbound = await db
      .select()
      .from(messages)
      .where(and(eq(messages.leadId, leadId), eq(messages.direction, 'inbound')));
    const [enrollment] = await db.select().from(enrollments).where(eq(enrollments.leadId, leadId));
    const replied = await db
      .select()
      .from(events)
      .where(and(eq(events.leadId, leadId), eq(events.type, 'lead.replied')));
    return { inbound: inbound.length, status: enrollment?.status, replied: replied.length };
  };
  const untouched = { inbound: 0, status: 'active', replied: 0 };

  it('accepts a correctly signed reply and applies it', async () => {
    const { lead, body } = replyFrom(0);
    const res = await signedPost(engine, ws, 'email', body);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ status: 'matched', classification: 'human', leadId: lead.id });
    expect(await effects(lead.id)).toEqual({ inbound: 1, status: 'replied', replied: 1 });
  });

  const rejected: { name: string; opts: Parameters<typeof signedPost>[4] }[] = [
    {
      name: 'a signature made with another secret',
      opts: { secret: 'whsec_dGhpcyBpcyBub3QgdGhlIHNlY3JldCBhdCBhbGwh' },
    },
    { name: 'a timestamp 6 minutes old', opts: { at: new Date(Date.now() - 6 * 60_000) } },
    { name: 'a timestamp 6 minutes ahead', opts: { at: new Date(Date.now() + 6 * 60_000) } },
    {
      name: 'one changed byte of the body',
      opts: {
        tamper: (b) => {
          const copy = Buffer.from(b);
          copy[copy.length - 3] = (copy[copy.length - 3] ?? 0) ^ 1;
          return copy;
        },
      },
    },
    { name: 'a garbage signature header', opts: { signature: 'v1,AAAA' } },
    { name: 'an empty signature header', opts: { signature: '' } },
    { name: 'a v2 signature only', opts: { signature: 'v2,whatever' } },
  ];
  rejected.forEach(({ name, opts }, i) => {
    it(`answers 401 to ${name}, and changes nothing`, async () => {
      const { lead, body } = replyFrom(1 + (i % 2));
      const res = await signedPost(engine, ws, 'email', body, opts);
      expect(res.statusCode).toBe(401);
      expect(res.json().error.code).toBe('invalid_signature');
      expect(await effects(lead.id)).toEqual(untouched);
    });
  });

  it('answers 401 for an unknown or malformed workspace id', async () => {
    const { lead, body } = replyFrom(1);
    for (const id of ['00000000-0000-4000-8000-000000000000', 'not-a-uuid']) {
      const res = await signedPost(engine, { ...ws, id }, 'email', body);
      expect(res.statusCode).toBe(401);
    }
    expect(await effects(lead.id)).toEqual(untouched);
  });

  it('accepts one good signature among several (key rotation)', async () => {
    const { lead, body } = replyFrom(3);
    const raw = JSON.stringify(body);
    const at = new Date();
    const id = 'msg_rotation_1';
    const { Webhook } = await import('standardwebhooks');
    const good = new Webhook(ws.webhookSecret).sign(id, at, raw);
    const res = await signedPost(engine, ws, 'email', raw, { id, at, signature: `v1,b2xkLXNpZw== ${good}` });
    expect(res.statusCode).toBe(200);
    expect(await effects(lead.id)).toMatchObject({ inbound: 1, replied: 1 });
  });

  it('notices a secret changed elsewhere: the old one is refused at once, the new one accepted', async () => {
    const other = await createTestWorkspace(engine.app, 'Rotating');
    const { leads } = await enrolledLeads(engine, other, { count: 3 });
    const post = (i: number, secret: string) => {
      const lead = leads[i];
      if (!lead) throw new Error(`no lead ${i}`);
      const body = { from: lead.email, text: 'Yes', inReplyTo: lead.messageId };
      return signedPost(engine, other, 'email', body, { secret });
    };
    // This process has now seen (and remembers) the first secret.
    expect((await post(0, other.webhookSecret)).statusCode).toBe(200);
    // Another process changes it: nothing tells this one.
    const changed = `whsec_${Buffer.from('a brand new secret of 32 bytes!!').toString('base64')}`;
    await engine.deps.db
      .update(workspaces)
      .set({ webhookSecretEnc: engine.deps.secrets.encrypt(changed) })
      .where(eq(workspaces.id, other.id));
    const stale = await post(1, other.webhookSecret);
    expect(stale.statusCode).toBe(401);
    expect(stale.json().error.code).toBe('invalid_signature');
    expect(await effects(leads[1]?.id ?? '')).toEqual(untouched);
    expect((await post(1, changed)).statusCode).toBe(200);
    expect(await effects(leads[1]?.id ?? '')).toEqual({ inbound: 1, status: 'replied', replied: 1 });
    expect((await post(2, other.webhookSecret)).statusCode).toBe(401);
    expect(await effects(leads[2]?.id ?? '')).toEqual(untouched);
  });

  it('answers a replayed webhook id 200 with one effect, even when the replays race', async () => {
    const { lead, body } = replyFrom(4);
    const raw = JSON.stringify(body);
    const at = new Date();
    const id = 'msg_replayed_1';
    const answers = await Promise.all(
      Array.from({ length: 6 }, () => signedPost(engine, ws, 'email', raw, { id, at })),
    );
    expect(answers.map((a) => a.statusCode)).toEqual([200, 200, 200, 200, 200, 200]);
    expect(answers.filter((a) => a.json().status === 'duplicate')).toHaveLength(5);
    expect(await effects(lead.id)).toEqual({ inbound: 1, status: 'replied', replied: 1 });
  });

  it('ingests one email once even under a new webhook id (same Message-ID)', async () => {
    const { lead, body } = replyFrom(5);
    const withId = { ...body, messageId: '<reply-once@lead.test>' };
    expect((await signedPost(engine, ws, 'email', withId)).json().status).toBe('matched');
    expect((await signedPost(engine, ws, 'email', withId)).json().status).toBe('duplicate');
    expect(await effects(lead.id)).toMatchObject({ inbound: 1, replied: 1 });
  });

  it('reads the body as bytes whatever the content type says (providers differ), or with none', async () => {
    const { lead, body } = replyFrom(6);
    const res = await signedPost(
      engine,
      ws,
      'email',
      { ...body, text: 'ok' },
      { contentType: 'text/plain; charset=utf-8' },
    );
    expect(res.statusCode).toBe(200);
    const raw = Buffer.from(JSON.stringify({ from: 'nobody@nowhere.test', text: 'no type' }));
    const { Webhook } = await import('standardwebhooks');
    const at = new Date();
    const bare = await engine.app.inject({
      method: 'POST',
      url: `/v1/webhooks/${ws.id}/email`,
      headers: {
        'webhook-id': 'msg_no_type',
        'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
        'webhook-signature': new Webhook(ws.webhookSecret).sign('msg_no_type', at, raw),
      },
      payload: raw,
    });
    expect(bare.statusCode).toBe(200);
    expect(bare.json().status).toBe('unmatched');
    expect(await effects(lead.id)).toMatchObject({ inbound: 1, replied: 1 });
  });

  it('answers 413 above 1 MiB, before anything is stored', async () => {
    const { lead, body } = replyFrom(2);
    const res = await signedPost(engine, ws, 'email', { ...body, text: 'x'.repeat(1024 * 1024) });
    expect(res.statusCode).toBe(413);
    expect(res.json().error.code).toBe('payload_too_large');
    expect(await effects(lead.id)).toEqual(untouched);
  });

  it('answers 400 with the failing path to a signed but invalid body, and 400 to signed non-JSON', async () => {
    const { lead, body } = replyFrom(7);
    const invalid = await signedPost(engine, ws, 'email', { ...body, from: '' });
    expect(invalid.statusCode).toBe(400);
    expect(invalid.json().error.details.map((d: { path: string }) => d.path)).toContain('body.from');
    const notJson = await signedPost(engine, ws, 'email', '{"from": ');
    expect(notJson.statusCode).toBe(400);
    expect(notJson.json().error.code).toBe('invalid_json');
    expect(await effects(lead.id)).toEqual(untouched);
  });
});
