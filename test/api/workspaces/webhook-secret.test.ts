import { randomUUID } from 'node:crypto';
import { eq, sql } from 'drizzle-orm';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workspaces } from '../../../src/db/schema/index';
import {
  ADMIN_TOKEN,
  createTestWorkspace,
  startTestEngine,
  type TestEngine,
  type TestWorkspace,
} from '../../helpers/engine';
import { signedPost } from '../inbound-webhooks/support';

const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
/** A message from nobody the workspace knows: verified, then recorded as unmatched. */
const email = () => ({ from: `someone-${randomUUID()}@elsewhere.test`, subject: 'Hi', text: 'Hello' });

/** Reading the inbound webhook secret again, and rotating it with a grace period. */
describe('workspace webhook secret', () => {
  let engine: TestEngine;
  beforeAll(async () => {
    engine = await startTestEngine();
  });
  afterAll(() => engine.close());

  const read = (id: string, headers: Record<string, string> = admin) =>
    engine.app.inject({ method: 'GET', url: `/v1/workspaces/${id}/webhook-secret`, headers });
  const rotate = (id: string, payload?: unknown, headers: Record<string, string> = admin) =>
    engine.app.inject({
      method: 'POST',
      url: `/v1/workspaces/${id}/webhook-secret/rotate`,
      headers,
      ...(payload === undefined ? {} : { payload: payload as object }),
    });
  const post = (ws: TestWorkspace, secret: string) => signedPost(engine, ws, 'email', email(), { secret });

  it('reads the secret the workspace was created with, with the admin token only', async () => {
    const ws = await createTestWorkspace(engine.app);
    const res = await read(ws.id);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ webhookSecret: ws.webhookSecret, previousSecretExpiresAt: null });
    const withKey = await read(ws.id, ws.auth);
    expect(withKey.statusCode).toBe(401);
    expect(withKey.body).not.toContain(ws.webhookSecret);
  });

  it('answers 404 for an unknown workspace and 400 naming the field for a malformed id', async () => {
    expect((await read(randomUUID())).statusCode).toBe(404);
    expect((await rotate(randomUUID(), {})).statusCode).toBe(404);
    const bad = await read('not-a-uuid');
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.details[0].path).toBe('params.id');
  });

  it('rotates with a 24-hour grace by default: both secrets verify, and it reads back the new one', async () => {
    const ws = await createTestWorkspace(engine.app);
    const old = ws.webhookSecret;
    // Warm the webhook routes' cache with the old secret, as a busy sender would.
    expect((await post(ws, old)).statusCode).toBe(200);
    const before = Date.now();
    const res = await rotate(ws.id);
    expect(res.statusCode).toBe(200);
    const rotated = res.json<{ webhookSecret: string; previousSecretExpiresAt: string }>();
    expect(rotated.webhookSecret).toMatch(/^whsec_/);
    expect(rotated.webhookSecret).not.toBe(old);
    const graceMs = Date.parse(rotated.previousSecretExpiresAt) - before;
    expect(graceMs).toBeGreaterThan(23.9 * 3600_000);
    expect(graceMs).toBeLessThan(24.1 * 3600_000);
    expect((await read(ws.id)).json()).toEqual(rotated);

    expect((await post(ws, old)).statusCode).toBe(200);
    expect((await post(ws, rotated.webhookSecret)).statusCode).toBe(200);
    // One header carrying both signatures, as a sender switching over may send.
    const id = `msg_${randomUUID()}`;
    const at = new Date();
    const raw = Buffer.from(JSON.stringify(email()));
    const both = `${new Webhook(rotated.webhookSecret).sign(id, at, raw)} ${new Webhook(old).sign(id, at, raw)}`;
    expect((await signedPost(engine, ws, 'email', raw, { id, at, signature: both })).statusCode).toBe(200);
    // A secret nobody was given still fails.
    const stranger = `whsec_${Buffer.alloc(32, 9).toString('base64')}`;
    expect((await post(ws, stranger)).statusCode).toBe(401);
  });

  it('stops accepting the old secret once the grace period is over', async () => {
    const ws = await createTestWorkspace(engine.app);
    const rotated = (await rotate(ws.id, { graceSeconds: 3600 })).json<{ webhookSecret: string }>();
    // The hour passes (the clock is not ours to move: the row's end of grace is).
    await engine.deps.db
      .update(workspaces)
      .set({ previousWebhookSecretExpiresAt: sql`now() - interval '1 second'` })
      .where(eq(workspaces.id, ws.id));
    const late = await post(ws, ws.webhookSecret);
    expect(late.statusCode).toBe(401);
    expect(late.json().error.code).toBe('invalid_signature');
    expect((await post(ws, rotated.webhookSecret)).statusCode).toBe(200);
    expect((await read(ws.id)).json().previousSecretExpiresAt).toBeNull();
  });

  it('with graceSeconds 0 the old secret stops verifying at once', async () => {
    const ws = await createTestWorkspace(engine.app);
    expect((await post(ws, ws.webhookSecret)).statusCode).toBe(200);
    const res = await rotate(ws.id, { graceSeconds: 0 });
    expect(res.json().previousSecretExpiresAt).toBeNull();
    expect((await post(ws, ws.webhookSecret)).statusCode).toBe(401);
    expect((await post(ws, res.json().webhookSecret)).statusCode).toBe(200);
  });

  it('refuses a bad grace period with the field, and rotation with an API key', async () => {
    const ws = await createTestWorkspace(engine.app);
    for (const graceSeconds of [-1, 1.5, 'a day', 8 * 86_400]) {
      const res = await rotate(ws.id, { graceSeconds });
      expect(res.statusCode).toBe(400);
      expect(res.json().error.details[0].path).toBe('body.graceSeconds');
    }
    expect((await rotate(ws.id, {}, ws.auth)).statusCode).toBe(401);
    expect((await read(ws.id)).json().webhookSecret).toBe(ws.webhookSecret);
  });
});
