import { eq } from 'drizzle-orm';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { events, webhookDeliveries } from '../../../src/db/schema/index';
import { defaultRetryPolicy, retryDelayMs } from '../../../src/timeline/outbox/delivery';
import { startWebhookDelivery } from '../../../workers/webhooks';
import {
  createTestWorkspace,
  startTestEngine,
  type TestEngine,
  type TestWorkspace,
  waitFor,
} from '../../helpers/engine';
import {
  enrolledLeads,
  type ReceivedHook,
  signedPost,
  startReceiver,
} from '../../api/inbound-webhooks/support';

type Delivery = {
  id: string;
  eventType: string;
  status: string;
  attemptCount: number;
  payload: { type: string; data: Record<string, unknown> };
  attempts: { attempt: number; statusCode: number | null; error: string | null }[];
};

/**
 * Outbound webhooks end to end: endpoint API, outbox fan-out in the event's transaction, the
 * dispatcher loop, the BullMQ processor, signatures a receiver verifies, retries. The test engine has
 * a database of its own, so no other suite's dispatcher picks up these deliveries.
 */
describe('outbound webhooks', () => {
  let engine: TestEngine;
  let delivery: ReturnType<typeof startWebhookDelivery>;
  let ws: TestWorkspace;
  beforeAll(async () => {
    engine = await startTestEngine();
    delivery = startWebhookDelivery(engine.deps, {
      policy: { baseMs: 50, maxMs: 200, maxAttempts: 6 },
      dispatchEveryMs: 50,
    });
    ws = await createTestWorkspace(engine.app);
  });
  afterAll(async () => {
    await delivery.worker.close();
    await Promise.all(delivery.loops.map((l) => l.stop()));
    await engine.close();
  });

  const subscribe = async (url: string, events: string[]) => {
    const res = await engine.app.inject({
      method: 'POST',
      url: '/v1/webhook-endpoints',
      headers: ws.auth,
      payload: { url, events },
    });
    expect(res.statusCode).toBe(201);
    return res.json<{ id: string; secret: string; url: string; events: string[] }>();
  };
  const deliveries = async (endpointId: string) => {
    const res = await engine.app.inject({
      method: 'GET',
      url: `/v1/webhook-endpoints/${endpointId}/deliveries`,
      headers: ws.auth,
    });
    expect(res.statusCode).toBe(200);
    return res.json<{ data: Delivery[] }>().data;
  };
  /** A freshly enrolled lead marked as replied by hand: one `lead.replied` event. */
  const newReply = async () => {
    const { leads } = await enrolledLeads(engine, ws, { count: 1 });
    const res = await engine.app.inject({
      method: 'POST',
      url: '/v1/replies',
      headers: ws.auth,
      payload: { leadId: leads[0]?.id, channel: 'email' },
    });
    if (res.statusCode >= 300) throw new Error(`mark reply failed: ${res.statusCode} ${res.body}`);
  };
  const Payload = z.object({ type: z.string(), data: z.record(z.string(), z.unknown()) });
  const verify = (secret: string, hook: ReceivedHook) => {
    const headers = Object.fromEntries(Object.entries(hook.headers).map(([k, v]) => [k, String(v)]));
    return Payload.parse(new Webhook(secret).verify(hook.body, headers));
  };

  it('validates endpoints: http(s) only, known event types, with the failing path', async () => {
    const cases: [object, string][] = [
      [{ url: 'ftp://crm.test/hook', events: ['lead.replied'] }, 'body.url'],
      [{ url: 'not a url', events: ['lead.replied'] }, 'body.url'],
      [{ url: 'https://user:pw@crm.test/hook', events: ['lead.replied'] }, 'body.url'],
      [{ url: 'https://crm.test/hook', events: ['lead.exploded'] }, 'body.events.0'],
      [{ url: 'https://crm.test/hook', events: [] }, 'body.events'],
    ];
    for (const [payload, path] of cases) {
      const res = await engine.app.inject({
        method: 'POST',
        url: '/v1/webhook-endpoints',
        headers: ws.auth,
        payload,
      });
      expect(res.statusCode).toBe(400);
      expect(res.json().error.details.map((d: { path: string }) => d.path)).toContain(path);
    }
  });

  it('creates, lists (secret shown once), and deletes endpoints, scoped to the workspace', async () => {
    const created = await subscribe('https://crm.test/hook', ['lead.replied', 'lead.replied', '*']);
    expect(created.secret).toMatch(/^whsec_/);
    expect(created.events).toEqual(['lead.replied', '*']);
    const list = await engine.app.inject({ method: 'GET', url: '/v1/webhook-endpoints', headers: ws.auth });
    const listed = list.json<{ data: Record<string, unknown>[] }>().data.find((e) => e.id === created.id);
    expect(listed).toMatchObject({ url: 'https://crm.test/hook' });
    expect(listed).not.toHaveProperty('secret');
    const other = await createTestWorkspace(engine.app, 'Other');
    const url = `/v1/webhook-endpoints/${created.id}`;
    expect((await engine.app.inject({ method: 'DELETE', url, headers: other.auth })).statusCode).toBe(404);
    expect((await engine.app.inject({ method: 'DELETE', url, headers: ws.auth })).statusCode).toBe(204);
    expect((await engine.app.inject({ method: 'DELETE', url, headers: ws.auth })).statusCode).toBe(404);
    expect((await engine.app.inject({ method: 'GET', url, headers: ws.auth })).statusCode).toBe(404);
  });

  it('delivers signed lead.replied and lead.stage_changed events that the receiver verifies', async () => {
    const receiver = await startReceiver();
    try {
      const endpoint = await subscribe(receiver.url, ['lead.replied', 'lead.stage_changed']);
      const { leads } = await enrolledLeads(engine, ws, {
        count: 1,
        settings: { onReply: { stage: 'proposal' } },
      });
      const lead = leads[0];
      if (!lead) throw new Error('no lead');
      await signedPost(engine, ws, 'email', { from: lead.email, text: 'Yes', inReplyTo: lead.messageId });
      await waitFor(async () => receiver.received.length >= 2, { what: 'two deliveries' });
      const verified = receiver.received.map((hook) => verify(endpoint.secret, hook));
      expect(verified.map((p) => p.type).sort()).toEqual(['lead.replied', 'lead.stage_changed']);
      const stage = verified.find((p) => p.type === 'lead.stage_changed');
      expect(stage?.data).toMatchObject({ leadId: lead.id, from: 'lead', to: 'proposal', source: 'reply' });
      expect(stage?.data.lead).toMatchObject({ id: lead.id, email: lead.email, stage: 'proposal' });
      // A forged or altered copy does not verify with the secret.
      const first = receiver.received[0];
      if (!first) throw new Error('nothing received');
      expect(() => verify(endpoint.secret, { ...first, body: first.body.replace('lead', 'laed') })).toThrow();
      // Events the endpoint did not subscribe to (enrollment.stopped here) were not delivered.
      await waitFor(async () => (await deliveries(endpoint.id)).every((d) => d.status === 'succeeded'));
      expect((await deliveries(endpoint.id)).map((d) => d.eventType).sort()).toEqual([
        'lead.replied',
        'lead.stage_changed',
      ]);
    } finally {
      await receiver.close();
    }
  });

  it('delivers lead.created for each lead a bulk import creates, with the lead as it was created', async () => {
    const receiver = await startReceiver();
    try {
      const endpoint = await subscribe(receiver.url, ['lead.created']);
      const res = await engine.app.inject({
        method: 'POST',
        url: '/v1/leads/bulk',
        headers: ws.auth,
        payload: {
          leads: [
            { email: 'ada@created.test', firstName: 'Ada', customFields: { plan: 'pro' } },
            { email: 'bob@created.test', company: 'Bob Co', stage: 'contacted' },
          ],
        },
      });
      expect(res.statusCode).toBe(200);
      const [ada, bob] = res.json<{ ids: string[] }>().ids;
      await waitFor(async () => receiver.received.length >= 2, { what: 'two deliveries' });
      const byLead = new Map(
        receiver.received.map((hook) => verify(endpoint.secret, hook)).map((p) => [p.data.leadId, p]),
      );
      expect(byLead.get(ada)).toMatchObject({
        type: 'lead.created',
        data: {
          source: 'api',
          workspaceId: ws.id,
          lead: {
            id: ada,
            email: 'ada@created.test',
            firstName: 'Ada',
            stage: 'lead',
            customFields: { plan: 'pro' },
          },
        },
      });
      expect(byLead.get(bob)?.data.lead).toMatchObject({ id: bob, company: 'Bob Co', stage: 'contacted' });
      // The event the payload names is the lead's recorded lead.created event.
      const [recorded] = await engine.deps.db
        .select()
        .from(events)
        .where(eq(events.id, Number(byLead.get(ada)?.data.eventId)));
      expect(recorded).toMatchObject({ leadId: ada, type: 'lead.created' });
    } finally {
      await receiver.close();
    }
  });

  it('retries a failing receiver: 3 failures then success → one success and 4 recorded attempts', async () => {
    const receiver = await startReceiver((_hook, n) => (n <= 3 ? 500 : 200));
    try {
      const endpoint = await subscribe(receiver.url, ['lead.replied']);
      await newReply();
      const [done] = await waitFor(
        async () => {
          const list = await deliveries(endpoint.id);
          return list.every((d) => d.status === 'succeeded') && list.length > 0 ? list : null;
        },
        { what: 'a successful delivery' },
      );
      expect(done).toMatchObject({ eventType: 'lead.replied', status: 'succeeded', attemptCount: 4 });
      expect(done?.attempts.map((a) => [a.attempt, a.statusCode])).toEqual([
        [1, 500],
        [2, 500],
        [3, 500],
        [4, 200],
      ]);
      // Every attempt carried the same webhook-id, so a receiver can dedupe retries.
      expect(new Set(receiver.received.map((h) => h.headers['webhook-id']))).toEqual(new Set([done?.id]));
    } finally {
      await receiver.close();
    }
  });

  it('gives up after the last attempt, recording each one, and never retries a deleted endpoint', async () => {
    const receiver = await startReceiver(() => 503);
    const endpoint = await subscribe(receiver.url, ['lead.replied']);
    await newReply();
    const [failed] = await waitFor(async () => {
      const list = await deliveries(endpoint.id);
      return list[0]?.status === 'failed' ? list : null;
    });
    expect(failed?.attempts.map((a) => a.statusCode)).toEqual([503, 503, 503, 503, 503, 503]);
    await receiver.close();
    // A closed port: connection errors are recorded as attempts with an error, not a status code.
    const gone = await subscribe(receiver.url, ['lead.replied']);
    await newReply();
    const [errored] = await waitFor(async () => {
      const list = await deliveries(gone.id);
      return (list[0]?.attempts.length ?? 0) >= 1 ? list : null;
    });
    expect(errored?.attempts[0]).toMatchObject({ statusCode: null });
    expect(errored?.attempts[0]?.error).toBeTruthy();
    const attemptsBeforeDelete = (await deliveries(gone.id))[0]?.attemptCount ?? 0;
    await engine.app.inject({ method: 'DELETE', url: `/v1/webhook-endpoints/${gone.id}`, headers: ws.auth });
    const [row] = await waitFor(async () => {
      const rows = await engine.deps.db
        .select()
        .from(webhookDeliveries)
        .where(eq(webhookDeliveries.endpointId, gone.id));
      return rows[0]?.status === 'failed' ? rows : null;
    });
    // At most the attempt already in flight when the endpoint was deleted; none after.
    expect(row?.attempts).toBeLessThanOrEqual(attemptsBeforeDelete + 1);
  });
});

describe('retry schedule', () => {
  it('grows exponentially, caps, and stays within ±25% jitter', () => {
    const policy = { baseMs: 1000, maxMs: 10_000, maxAttempts: 10 };
    const mid = (n: number) => retryDelayMs(n, policy, () => 0.5);
    expect([1, 2, 3, 4, 5, 6].map(mid)).toEqual([1000, 2000, 4000, 8000, 10_000, 10_000]);
    expect(retryDelayMs(3, policy, () => 0)).toBe(3000);
    expect(retryDelayMs(3, policy, () => 0.999_999)).toBeLessThanOrEqual(5000);
  });

  it('spreads the default attempts over about a day', () => {
    const waits = Array.from({ length: defaultRetryPolicy.maxAttempts - 1 }, (_, i) =>
      retryDelayMs(i + 1, defaultRetryPolicy, () => 0.5),
    );
    const hours = waits.reduce((a, b) => a + b, 0) / 3_600_000;
    expect(hours).toBeGreaterThan(20);
    expect(hours).toBeLessThan(30);
  });
});
