import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWebhookDelivery } from '../../../workers/webhooks';
import {
  createTestWorkspace,
  startTestEngine,
  type TestEngine,
  type TestWorkspace,
  waitFor,
} from '../../helpers/engine';
import { enrolledLeads, type ReceivedHook, startReceiver } from '../inbound-webhooks/support';

type Endpoint = {
  id: string;
  url: string;
  events: string[];
  secret: string;
  enabled: boolean;
  description: string | null;
  previousSecretExpiresAt: string | null;
};
type Delivery = { id: string; eventType: string; status: string; attemptCount: number };

/** PATCH, secret rotation, replay and test ping of outbound endpoints, through the public API. */
describe('webhook endpoint management', () => {
  let engine: TestEngine;
  let delivery: ReturnType<typeof startWebhookDelivery>;
  let ws: TestWorkspace;
  beforeAll(async () => {
    engine = await startTestEngine();
    delivery = startWebhookDelivery(engine.deps, {
      policy: { baseMs: 50, maxMs: 200, maxAttempts: 2 },
      dispatchEveryMs: 50,
    });
    ws = await createTestWorkspace(engine.app);
  });
  afterAll(async () => {
    await delivery.worker.close();
    await Promise.all(delivery.loops.map((l) => l.stop()));
    await engine.close();
  });

  const call = (method: 'GET' | 'POST' | 'PATCH', url: string, payload?: object, auth = ws.auth) =>
    engine.app.inject({ method, url: `/v1/webhook-endpoints${url}`, headers: auth, payload });
  const subscribe = async (url: string, events: string[]) => {
    const res = await call('POST', '', { url, events, description: 'CRM sync' });
    expect(res.statusCode).toBe(201);
    return res.json<Endpoint>();
  };
  const deliveries = async (endpointId: string) =>
    (await call('GET', `/${endpointId}/deliveries`)).json<{ data: Delivery[] }>().data;
  const newReply = async () => {
    const { leads } = await enrolledLeads(engine, ws, { count: 1 });
    const res = await engine.app.inject({
      method: 'POST',
      url: '/v1/replies',
      headers: ws.auth,
      payload: { leadId: leads[0]?.id, channel: 'email' },
    });
    expect(res.statusCode).toBeLessThan(300);
  };
  const headersOf = (hook: ReceivedHook) =>
    Object.fromEntries(Object.entries(hook.headers).map(([k, v]) => [k, String(v)]));
  const verifies = (secret: string, hook: ReceivedHook) => {
    try {
      new Webhook(secret).verify(hook.body, headersOf(hook));
      return true;
    } catch {
      return false;
    }
  };

  it('PATCHes url, events, description and enabled; a private URL is refused like at creation', async () => {
    const endpoint = await subscribe('https://crm.test/hook', ['lead.replied']);
    expect(endpoint).toMatchObject({ description: 'CRM sync', enabled: true });
    const patched = await call('PATCH', `/${endpoint.id}`, {
      url: 'https://crm.test/v2',
      events: ['lead.stage_changed', 'task.created'],
      description: null,
    });
    expect(patched.statusCode).toBe(200);
    expect(patched.json()).toMatchObject({
      url: 'https://crm.test/v2',
      events: ['lead.stage_changed', 'task.created'],
      description: null,
      enabled: true,
    });
    expect(patched.json()).not.toHaveProperty('secret');
    for (const url of ['http://169.254.169.254/latest', 'http://10.0.0.7/x', 'http://[::1]/x']) {
      const refused = await call('PATCH', `/${endpoint.id}`, { url });
      expect(refused.statusCode).toBe(400);
      expect(refused.json().error).toMatchObject({ code: 'private_address' });
    }
    const invalid = await call('PATCH', `/${endpoint.id}`, { events: ['lead.exploded'] });
    expect(invalid.statusCode).toBe(400);
    expect(invalid.json().error.details.map((d: { path: string }) => d.path)).toContain('body.events.0');
    expect((await call('PATCH', `/${endpoint.id}`, {})).statusCode).toBe(400);
    const other = await createTestWorkspace(engine.app, 'Other');
    expect((await call('PATCH', `/${endpoint.id}`, { enabled: false }, other.auth)).statusCode).toBe(404);
    expect((await call('GET', `/${endpoint.id}`)).json()).toMatchObject({ url: 'https://crm.test/v2' });
  });

  it('a disabled endpoint gets no new deliveries; enabled again, it does', async () => {
    const receiver = await startReceiver();
    try {
      const endpoint = await subscribe(receiver.url, ['lead.replied']);
      expect((await call('PATCH', `/${endpoint.id}`, { enabled: false })).json()).toMatchObject({
        enabled: false,
      });
      await newReply();
      expect(await deliveries(endpoint.id)).toEqual([]);
      await call('PATCH', `/${endpoint.id}`, { enabled: true });
      await newReply();
      await waitFor(async () => receiver.received.length === 1, { what: 'one delivery' });
      expect((await deliveries(endpoint.id)).map((d) => d.eventType)).toEqual(['lead.replied']);
    } finally {
      await receiver.close();
    }
  });

  it('rotates the secret: during the overlap both secrets verify; with no overlap only the new one', async () => {
    const receiver = await startReceiver();
    try {
      const endpoint = await subscribe(receiver.url, ['lead.replied']);
      const rotated = await call('POST', `/${endpoint.id}/rotate-secret`, { overlapHours: 2 });
      expect(rotated.statusCode).toBe(200);
      const { secret, previousSecretExpiresAt } = rotated.json<{
        secret: string;
        previousSecretExpiresAt: string;
      }>();
      expect(secret).toMatch(/^whsec_/);
      expect(secret).not.toBe(endpoint.secret);
      expect(Date.parse(previousSecretExpiresAt)).toBeGreaterThan(Date.now() + 3_600_000);
      expect((await call('GET', `/${endpoint.id}`)).json()).toMatchObject({ previousSecretExpiresAt });
      await newReply();
      const [first] = await waitFor(async () => (receiver.received.length >= 1 ? receiver.received : null));
      if (!first) throw new Error('nothing received');
      expect(String(first.headers['webhook-signature']).split(' ')).toHaveLength(2);
      expect(verifies(endpoint.secret, first)).toBe(true);
      expect(verifies(secret, first)).toBe(true);

      const again = await call('POST', `/${endpoint.id}/rotate-secret`, { overlapHours: 0 });
      const latest = again.json<{ secret: string; previousSecretExpiresAt: null }>();
      expect(latest.previousSecretExpiresAt).toBeNull();
      await newReply();
      const [, second] = await waitFor(async () =>
        receiver.received.length >= 2 ? receiver.received : null,
      );
      if (!second) throw new Error('second delivery missing');
      expect(String(second.headers['webhook-signature']).split(' ')).toHaveLength(1);
      expect(verifies(latest.secret, second)).toBe(true);
      expect(verifies(secret, second)).toBe(false);
      expect(verifies(endpoint.secret, second)).toBe(false);
      // No body: the default overlap (24 h).
      const byDefault = await call('POST', `/${endpoint.id}/rotate-secret`);
      expect(byDefault.json()).toMatchObject({ previousSecretExpiresAt: expect.any(String) });
      expect(byDefault.statusCode).toBe(200);
      const bad = await call('POST', `/${endpoint.id}/rotate-secret`, { overlapHours: 1000 });
      expect(bad.statusCode).toBe(400);
      expect(bad.json().error.details.map((d: { path: string }) => d.path)).toContain('body.overlapHours');
    } finally {
      await receiver.close();
    }
  });

  it('replays a failed delivery under the same webhook-id until the receiver takes it', async () => {
    let answer = 500;
    const receiver = await startReceiver(() => answer);
    try {
      const endpoint = await subscribe(receiver.url, ['lead.replied']);
      await newReply();
      const [failed] = await waitFor(async () => {
        const list = await deliveries(endpoint.id);
        return list[0]?.status === 'failed' ? list : null;
      });
      if (!failed) throw new Error('no failed delivery');
      expect(failed.attemptCount).toBe(2);
      answer = 200;
      const replay = await call('POST', `/${endpoint.id}/deliveries/${failed.id}/replay`);
      expect(replay.statusCode).toBe(202);
      expect(replay.json()).toEqual({ id: failed.id, status: 'pending' });
      const [done] = await waitFor(async () => {
        const list = await deliveries(endpoint.id);
        return list[0]?.status === 'succeeded' ? list : null;
      });
      expect(done).toMatchObject({ id: failed.id, attemptCount: 3 });
      expect(new Set(receiver.received.map((h) => h.headers['webhook-id']))).toEqual(new Set([failed.id]));
      // A succeeded delivery can be replayed too (the receiver lost it); an unknown one is a 404.
      expect((await call('POST', `/${endpoint.id}/deliveries/${failed.id}/replay`)).statusCode).toBe(202);
      await waitFor(async () => receiver.received.length === 4, { what: 'the second replay' });
      const unknown = await call('POST', `/${endpoint.id}/deliveries/${crypto.randomUUID()}/replay`);
      expect(unknown.statusCode).toBe(404);
      // Another workspace's key, with this endpoint and delivery: not found, nothing queued.
      const other = await createTestWorkspace(engine.app, 'Stranger');
      const foreign = await call(
        'POST',
        `/${endpoint.id}/deliveries/${failed.id}/replay`,
        undefined,
        other.auth,
      );
      expect(foreign.statusCode).toBe(404);
      expect((await deliveries(endpoint.id))[0]?.status).not.toBe('pending');
    } finally {
      await receiver.close();
    }
  });

  it('refuses to replay a delivery that is still pending', async () => {
    const endpoint = await subscribe('https://crm.test/hook', ['lead.replied']);
    // An engine with no delivery worker: its deliveries stay pending for as long as the test looks.
    const quiet = await startTestEngine();
    try {
      const qws = await createTestWorkspace(quiet.app);
      const created = await quiet.app.inject({
        method: 'POST',
        url: '/v1/webhook-endpoints',
        headers: qws.auth,
        payload: { url: 'https://crm.test/hook', events: ['lead.replied'] },
      });
      const qid = created.json<{ id: string }>().id;
      const { leads } = await enrolledLeads(quiet, qws, { count: 1 });
      await quiet.app.inject({
        method: 'POST',
        url: '/v1/replies',
        headers: qws.auth,
        payload: { leadId: leads[0]?.id, channel: 'email' },
      });
      const list = await quiet.app.inject({
        method: 'GET',
        url: `/v1/webhook-endpoints/${qid}/deliveries`,
        headers: qws.auth,
      });
      const [pending] = list.json<{ data: Delivery[] }>().data;
      expect(pending?.status).toBe('pending');
      const res = await quiet.app.inject({
        method: 'POST',
        url: `/v1/webhook-endpoints/${qid}/deliveries/${pending?.id}/replay`,
        headers: qws.auth,
      });
      expect(res.statusCode).toBe(409);
      expect(res.json().error).toMatchObject({ code: 'delivery_pending' });
      // Another workspace's endpoint id with this delivery: not found.
      const wrong = await call('POST', `/${endpoint.id}/deliveries/${pending?.id}/replay`);
      expect(wrong.statusCode).toBe(404);
    } finally {
      await quiet.close();
    }
  });

  it("sends a signed webhook.test ping now and answers with the receiver's status", async () => {
    const receiver = await startReceiver((_hook, n) => (n === 1 ? 204 : 503));
    try {
      const endpoint = await subscribe(receiver.url, ['lead.replied']);
      const ok = await call('POST', `/${endpoint.id}/test`);
      expect(ok.statusCode).toBe(200);
      expect(ok.json()).toMatchObject({ ok: true, statusCode: 204, error: null });
      const [hook] = receiver.received;
      if (!hook) throw new Error('no ping received');
      const body = new Webhook(endpoint.secret).verify(hook.body, headersOf(hook));
      expect(body).toMatchObject({
        type: 'webhook.test',
        data: { endpointId: endpoint.id, workspaceId: ws.id },
      });
      expect(hook.headers['webhook-id']).toBe(ok.json().deliveryId);
      const failing = await call('POST', `/${endpoint.id}/test`);
      expect(failing.json()).toMatchObject({ ok: false, statusCode: 503 });
      // Both pings are in the delivery log, as finished one-attempt deliveries.
      const list = await deliveries(endpoint.id);
      expect(list.map((d) => [d.eventType, d.status, d.attemptCount])).toEqual([
        ['webhook.test', 'failed', 1],
        ['webhook.test', 'succeeded', 1],
      ]);
      await receiver.close();
      const gone = await call('POST', `/${endpoint.id}/test`);
      expect(gone.json()).toMatchObject({ ok: false, statusCode: null });
      expect(gone.json().error).toBeTruthy();
      const other = await createTestWorkspace(engine.app, 'Elsewhere');
      expect((await call('POST', `/${endpoint.id}/test`, undefined, other.auth)).statusCode).toBe(404);
    } finally {
      await receiver.close().catch(() => {});
    }
  });
});
