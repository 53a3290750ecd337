import { and, desc, eq, isNull, ne, sql } from 'drizzle-orm';
import type { Deps } from '../../context';
import { webhookAttempts, webhookDeliveries, webhookEndpoints } from '../../db/schema/index';
import { attemptDelivery } from '../../timeline/outbox/delivery';
import { TEST_EVENT_TYPE } from '../../timeline/outbox/event-types';
import type { UpdateWebhookEndpointBody, WebhookEndpoint } from './webhook-endpoints.schemas';
import {
  endpointView,
  findEndpoint,
  newSigningSecret,
  urlAllowedStatically,
} from './webhook-endpoints.service';

type ChangeDeps = Pick<Deps, 'db' | 'secrets' | 'targets' | 'log'>;

const live = (workspaceId: string, id: string) =>
  and(
    eq(webhookEndpoints.id, id),
    eq(webhookEndpoints.workspaceId, workspaceId),
    isNull(webhookEndpoints.deletedAt),
  );

/**
 * Changes an endpoint's URL, events, description or enabled flag. A new URL goes through the same
 * outbound-target guard as at creation. Pending deliveries go to the URL as it is when they run.
 */
export async function updateEndpoint(
  deps: ChangeDeps,
  workspaceId: string,
  id: string,
  input: UpdateWebhookEndpointBody,
): Promise<{ ok: true; endpoint: WebhookEndpoint } | { ok: false; error: 'not_found' | 'private_address' }> {
  if (input.url !== undefined && !urlAllowedStatically(deps, input.url))
    return { ok: false, error: 'private_address' };
  const [row] = await deps.db
    .update(webhookEndpoints)
    .set({
      ...(input.url !== undefined ? { url: input.url } : {}),
      ...(input.events !== undefined ? { events: input.events } : {}),
      ...(input.description !== undefined ? { description: input.description } : {}),
      ...(input.enabled !== undefined ? { enabled: input.enabled } : {}),
    })
    .where(live(workspaceId, id))
    .returning();
  return row ? { ok: true, endpoint: endpointView(row) } : { ok: false, error: 'not_found' };
}

/**
 * A new signing secret, returned once. The previous one keeps signing (a second `v1,` signature)
 * for `overlapHours`, so receivers can switch without dropping a delivery. Rotating again during
 * an overlap replaces the previous secret with the one current until now: at most two sign.
 */
export async function rotateSecret(
  deps: ChangeDeps,
  workspaceId: string,
  id: string,
  overlapHours: number,
): Promise<{ secret: string; previousSecretExpiresAt: string | null } | null> {
  const secret = newSigningSecret();
  const expires = overlapHours > 0 ? new Date(Date.now() + overlapHours * 3_600_000) : null;
  const [row] = await deps.db
    .update(webhookEndpoints)
    .set({
      // The right-hand side reads the row before the update: the old current secret.
      previousSecretEnc: expires ? sql`${webhookEndpoints.secretEnc}` : null,
      previousSecretExpiresAt: expires,
      secretEnc: deps.secrets.encrypt(secret),
    })
    .where(live(workspaceId, id))
    .returning({ id: webhookEndpoints.id });
  return row ? { secret, previousSecretExpiresAt: expires?.toISOString() ?? null } : null;
}

/**
 * Queues a finished delivery (succeeded or failed) again, under the same id, so the receiver sees
 * the same `webhook-id` and can dedupe; it gets a fresh retry budget. A pending one is refused: it
 * is already on its way.
 */
export async function replayDelivery(
  deps: ChangeDeps,
  workspaceId: string,
  endpointId: string,
  deliveryId: string,
): Promise<{ ok: true } | { ok: false; error: 'not_found' | 'pending' }> {
  if (!(await findEndpoint(deps.db, workspaceId, endpointId))) return { ok: false, error: 'not_found' };
  const d = webhookDeliveries;
  const [replayed] = await deps.db
    .update(d)
    .set({
      status: 'pending',
      enqueuedAt: null,
      deliveredAt: null,
      replayedAtAttempt: sql`${d.attempts}`,
    })
    .where(and(eq(d.id, deliveryId), eq(d.endpointId, endpointId), ne(d.status, 'pending')))
    .returning({ id: d.id });
  if (replayed) return { ok: true };
  const [exists] = await deps.db
    .select({ id: d.id })
    .from(d)
    .where(and(eq(d.id, deliveryId), eq(d.endpointId, endpointId)));
  return { ok: false, error: exists ? 'pending' : 'not_found' };
}

export type TestPing = {
  deliveryId: string;
  ok: boolean;
  statusCode: number | null;
  error: string | null;
  durationMs: number;
};

/**
 * Sends a `webhook.test` ping now (enabled or not), signed like any delivery, and answers with what
 * the receiver said. It is logged as a one-attempt delivery, so it shows in the delivery list.
 */
export async function sendTestPing(
  deps: ChangeDeps,
  workspaceId: string,
  endpointId: string,
): Promise<TestPing | null> {
  if (!(await findEndpoint(deps.db, workspaceId, endpointId))) return null;
  const now = new Date();
  const [delivery] = await deps.db
    .insert(webhookDeliveries)
    .values({
      workspaceId,
      endpointId,
      eventType: TEST_EVENT_TYPE,
      payload: {
        type: TEST_EVENT_TYPE,
        timestamp: now.toISOString(),
        data: { workspaceId, endpointId, message: 'Test ping from the outreach engine.' },
      },
      // Marked as handed over, so the dispatcher leaves it to this request.
      enqueuedAt: now,
    })
    .returning({ id: webhookDeliveries.id });
  if (!delivery) throw new Error('test delivery insert returned nothing');
  await attemptDelivery(deps, delivery.id, { policy: { baseMs: 0, maxMs: 0, maxAttempts: 1 } });
  const [attempt] = await deps.db
    .select()
    .from(webhookAttempts)
    .where(eq(webhookAttempts.deliveryId, delivery.id))
    .orderBy(desc(webhookAttempts.attempt))
    .limit(1);
  const statusCode = attempt?.statusCode ?? null;
  return {
    deliveryId: delivery.id,
    ok: statusCode !== null && statusCode >= 200 && statusCode < 300,
    statusCode,
    error: attempt?.error ?? null,
    durationMs: attempt?.durationMs ?? 0,
  };
}
