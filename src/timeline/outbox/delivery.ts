import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { and, eq, sql } from 'drizzle-orm';
import { Webhook } from 'standardwebhooks';
import type { Deps } from '../../context';
import { webhookAttempts, webhookDeliveries, webhookEndpoints } from '../../db/schema/index';
import { hostKey } from '../../lib/allowed-targets';
import { BLOCKED_TARGET, BlockedTargetError, type OutboundTargets } from '../../lib/outbound-targets';

/** How deliveries are retried. The defaults spread 15 attempts over about a day. */
export type RetryPolicy = { baseMs: number; maxMs: number; maxAttempts: number };
export const defaultRetryPolicy: RetryPolicy = { baseMs: 30_000, maxMs: 4 * 3_600_000, maxAttempts: 15 };

/**
 * Wait before the attempt after `attempt` (1-based): exponential from `baseMs`, capped at `maxMs`,
 * with ±25% jitter so receivers coming back from an outage are not hit by every sender at once.
 * Defaults: 30 s, 1 min, 2 min … 2 h 8 min, then 4 h; 14 waits ≈ 24 h.
 */
export function retryDelayMs(
  attempt: number,
  policy: RetryPolicy,
  random: () => number = Math.random,
): number {
  const exponential = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(exponential * (0.75 + random() * 0.5));
}

/** Deliveries handed to the queue per dispatcher statement. */
export const DISPATCH_BATCH = 500;

/** Age after which a pending delivery is handed to the queue again, in case its job was lost with Redis. */
const REDISPATCH_AFTER = '10 minutes';

/**
 * The outbox dispatcher: marks a batch of pending deliveries as enqueued and adds their jobs (job id
 * = delivery id, so a second add of a waiting or delayed job is a no-op). Deliveries not yet
 * enqueued go first; ones enqueued long ago are re-added, which recovers jobs lost with Redis.
 * Returns how many were handed over.
 */
export async function dispatchPendingDeliveries(
  deps: Pick<Deps, 'db' | 'queues'>,
  opts: { batch?: number; policy?: RetryPolicy } = {},
): Promise<number> {
  const policy = opts.policy ?? defaultRetryPolicy;
  const claimed = await deps.db.execute<{ id: string; attempts: number; replayed: number }>(sql`
    update webhook_deliveries d set enqueued_at = now()
    from (
      select id from webhook_deliveries
      where status = 'pending'
        and (enqueued_at is null or enqueued_at < now() - ${REDISPATCH_AFTER}::interval)
      order by enqueued_at nulls first, created_at
      limit ${opts.batch ?? DISPATCH_BATCH}
      for update skip locked
    ) due
    where d.id = due.id
    returning d.id, d.attempts - d.replayed_at_attempt as attempts, d.replayed_at_attempt as replayed`);
  if (claimed.rows.length === 0) return 0;
  await deps.queues.webhooks.addBulk(
    claimed.rows.map((row) => ({
      name: 'deliver',
      data: { deliveryId: row.id },
      opts: {
        // A replay is a job of its own: the finished job of the first run may still be in Redis.
        jobId: row.replayed === 0 ? row.id : `${row.id}-r${row.replayed}`,
        // The attempt count lives in Postgres; a re-added job only gets the attempts left.
        attempts: Math.max(1, policy.maxAttempts - row.attempts),
        backoff: { type: 'webhook' },
        removeOnComplete: true,
        removeOnFail: true,
      },
    })),
  );
  return claimed.rows.length;
}

export type DeliveryOutcome =
  | { kind: 'skipped'; reason: 'not_pending' | 'endpoint_deleted' }
  | { kind: 'succeeded'; attempt: number }
  | { kind: 'failed'; attempt: number; final: boolean; error: string };

/**
 * One delivery attempt: signs the stored payload the Standard Webhooks way with the endpoint's
 * secret, POSTs it, and records the attempt. The row is the state machine: a delivery that is no
 * longer pending (a duplicate job) does nothing. A URL that reaches a private address is refused
 * before connecting and recorded as `blocked: private address`; that attempt is the last.
 */
export async function attemptDelivery(
  deps: Pick<Deps, 'db' | 'secrets' | 'log' | 'targets'>,
  deliveryId: string,
  opts: { policy?: RetryPolicy; timeoutMs?: number } = {},
): Promise<DeliveryOutcome> {
  const policy = opts.policy ?? defaultRetryPolicy;
  const [row] = await deps.db
    .select({ delivery: webhookDeliveries, endpoint: webhookEndpoints })
    .from(webhookDeliveries)
    .innerJoin(webhookEndpoints, eq(webhookEndpoints.id, webhookDeliveries.endpointId))
    .where(eq(webhookDeliveries.id, deliveryId));
  if (row?.delivery.status !== 'pending') return { kind: 'skipped', reason: 'not_pending' };
  if (row.endpoint.deletedAt) {
    await deps.db
      .update(webhookDeliveries)
      .set({ status: 'failed' })
      .where(and(eq(webhookDeliveries.id, deliveryId), eq(webhookDeliveries.status, 'pending')));
    return { kind: 'skipped', reason: 'endpoint_deleted' };
  }
  const attempt = row.delivery.attempts + 1;
  const body = JSON.stringify(row.delivery.payload);
  const result = await post(deps.targets, row.endpoint.url, body, {
    id: deliveryId,
    secrets: signingSecrets(deps, row.endpoint),
    timeoutMs: opts.timeoutMs ?? 10_000,
  });
  const ok = result.statusCode !== null && result.statusCode >= 200 && result.statusCode < 300;
  // A replay gets a fresh retry budget: attempts before it do not count against it.
  const final =
    !ok &&
    (attempt - row.delivery.replayedAtAttempt >= policy.maxAttempts || result.error === BLOCKED_TARGET);
  await deps.db.transaction(async (tx) => {
    await tx.insert(webhookAttempts).values({ deliveryId, attempt, ...result });
    await tx
      .update(webhookDeliveries)
      .set({
        attempts: attempt,
        status: ok ? 'succeeded' : final ? 'failed' : 'pending',
        deliveredAt: ok ? new Date() : null,
      })
      .where(and(eq(webhookDeliveries.id, deliveryId), eq(webhookDeliveries.status, 'pending')));
  });
  if (ok) return { kind: 'succeeded', attempt };
  const error = result.error ?? `HTTP ${result.statusCode}`;
  deps.log.info({ deliveryId, attempt, final, error }, 'webhook delivery attempt failed');
  return { kind: 'failed', attempt, final, error };
}

/**
 * The secrets a delivery is signed with now: the current one, and during a rotation's overlap the
 * previous one too, so a receiver still verifying with the old secret accepts it.
 */
export function signingSecrets(
  deps: Pick<Deps, 'secrets'>,
  endpoint: typeof webhookEndpoints.$inferSelect,
  now: Date = new Date(),
): string[] {
  const current = deps.secrets.decrypt(endpoint.secretEnc);
  const previous =
    endpoint.previousSecretEnc && endpoint.previousSecretExpiresAt && endpoint.previousSecretExpiresAt > now
      ? [deps.secrets.decrypt(endpoint.previousSecretEnc)]
      : [];
  return [current, ...previous];
}

export type PostResult = { statusCode: number | null; error: string | null; durationMs: number };

/** One signed POST to `url`; Standard Webhooks allows several space-separated signatures. */
export async function post(
  targets: OutboundTargets,
  url: string,
  body: string,
  sign: { id: string; secrets: string[]; timeoutMs: number },
): Promise<PostResult> {
  const now = new Date();
  const headers = {
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(body)),
    'user-agent': 'outreach-engine-webhooks/1',
    'webhook-id': sign.id,
    'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
    'webhook-signature': sign.secrets.map((secret) => new Webhook(secret).sign(sign.id, now, body)).join(' '),
  };
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  try {
    const statusCode = await request(targets, new URL(url), { headers, body, timeoutMs: sign.timeoutMs });
    return { statusCode, error: null, durationMs: elapsed() };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    return { statusCode: null, error: message.slice(0, 500), durationMs: elapsed() };
  }
}

/**
 * One POST through the outbound guard: an address literal is checked here (the socket does not look
 * it up), a host name by the guard's lookup, on its own connection, so each delivery checks again.
 * No redirects: a 3xx to another host must not carry a signed payload there. Resolves the status.
 */
function request(
  targets: OutboundTargets,
  url: URL,
  opts: { headers: Record<string, string>; body: string; timeoutMs: number },
): Promise<number> {
  const port = Number(url.port) || (url.protocol === 'https:' ? 443 : 80);
  const host = hostKey(url.hostname);
  if (net.isIP(host) && !targets.permits({ host, port }, host))
    return Promise.reject(new BlockedTargetError());
  return new Promise((resolve, reject) => {
    const req = (url.protocol === 'https:' ? https : http).request(
      url,
      {
        method: 'POST',
        headers: opts.headers,
        agent: false,
        lookup: targets.lookupFor(port),
        signal: AbortSignal.timeout(opts.timeoutMs),
      },
      (res) => {
        resolve(res.statusCode ?? 0);
        // Only the status counts; the body is not read.
        res.destroy();
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}
