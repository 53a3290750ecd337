import { and, asc, count, eq, inArray, isNull, sql } from 'drizzle-orm';
import type { Deps } from '../../context';
import type { DbOrTx } from '../../db/client';
import { webhookAttempts, webhookDeliveries, webhookEndpoints } from '../../db/schema/index';
import { keyset } from '../../db/keyset';
import { decodeCursor, toPage } from '../../db/keyset';
import type {
  CreateWebhookEndpointBody,
  DeliveriesQuery,
  Delivery,
  WebhookEndpoint,
} from './webhook-endpoints.schemas';
import { newWebhookSecret } from '../workspaces/workspaces.service';

type EndpointDeps = Pick<Deps, 'db' | 'secrets' | 'targets'>;
export type EndpointRow = typeof webhookEndpoints.$inferSelect;

/** Live endpoints a workspace may have: each event is delivered once per endpoint. */
export const MAX_ENDPOINTS_PER_WORKSPACE = 20;

/** A Standard Webhooks secret, as workspaces get for inbound webhooks. */
export const newSigningSecret = newWebhookSecret;

export const endpointView = (row: EndpointRow, now: Date = new Date()): WebhookEndpoint => ({
  id: row.id,
  url: row.url,
  events: row.events,
  description: row.description,
  enabled: row.enabled,
  previousSecretExpiresAt:
    row.previousSecretExpiresAt && row.previousSecretExpiresAt > now
      ? row.previousSecretExpiresAt.toISOString()
      : null,
  createdAt: row.createdAt.toISOString(),
});

/** Whether the guard lets a URL through without DNS (a host name is checked on every delivery). */
export function urlAllowedStatically(deps: Pick<Deps, 'targets'>, value: string): boolean {
  const url = new URL(value);
  const port = Number(url.port) || (url.protocol === 'https:' ? 443 : 80);
  return deps.targets.allowsStatically({ host: url.hostname, port });
}

/**
 * Creates a subscription; the signing secret is returned here and never again. Refused when the URL
 * is an address (or `localhost`) that `ALLOWED_PRIVATE_TARGETS` does not allow (a host name is
 * checked on every delivery instead), and past `MAX_ENDPOINTS_PER_WORKSPACE`.
 */
export async function createEndpoint(
  deps: EndpointDeps,
  workspaceId: string,
  input: CreateWebhookEndpointBody,
): Promise<
  | { ok: true; endpoint: WebhookEndpoint & { secret: string } }
  | { ok: false; error: 'private_address' | 'limit_reached' }
> {
  if (!urlAllowedStatically(deps, input.url)) return { ok: false, error: 'private_address' };
  const secret = newSigningSecret();
  return deps.db.transaction(async (tx) => {
    // The workspace row serialises concurrent creations, so two cannot both take the last place.
    // `no key update` leaves inserts that reference the workspace unblocked.
    await tx.execute(sql`select 1 from workspaces where id = ${workspaceId} for no key update`);
    const [live] = await tx
      .select({ n: count() })
      .from(webhookEndpoints)
      .where(and(eq(webhookEndpoints.workspaceId, workspaceId), isNull(webhookEndpoints.deletedAt)));
    if ((live?.n ?? 0) >= MAX_ENDPOINTS_PER_WORKSPACE) return { ok: false, error: 'limit_reached' } as const;
    const [row] = await tx
      .insert(webhookEndpoints)
      .values({
        workspaceId,
        url: input.url,
        events: input.events,
        description: input.description ?? null,
        secretEnc: deps.secrets.encrypt(secret),
      })
      .returning();
    if (!row) throw new Error('webhook endpoint insert returned nothing');
    return { ok: true, endpoint: { ...endpointView(row), secret } } as const;
  });
}

/** A live endpoint of this workspace, or null. */
export async function findEndpoint(db: DbOrTx, workspaceId: string, id: string): Promise<EndpointRow | null> {
  const [row] = await db
    .select()
    .from(webhookEndpoints)
    .where(
      and(
        eq(webhookEndpoints.id, id),
        eq(webhookEndpoints.workspaceId, workspaceId),
        isNull(webhookEndpoints.deletedAt),
      ),
    );
  return row ?? null;
}

export async function listEndpoints(
  db: DbOrTx,
  workspaceId: string,
  query: { limit: number; cursor?: string },
) {
  const e = webhookEndpoints;
  const page = keyset(e.createdAt, e.id, decodeCursor(query.cursor));
  const rows = await db
    .select()
    .from(e)
    .where(and(eq(e.workspaceId, workspaceId), isNull(e.deletedAt), page.where))
    .orderBy(...page.orderBy)
    .limit(query.limit + 1);
  return toPage(rows, query.limit, endpointView);
}

/**
 * Soft delete, so the delivery history stays listable; pending deliveries to it end as `failed`
 * when their job runs. Returns false when there is no such live endpoint.
 */
export async function deleteEndpoint(db: DbOrTx, workspaceId: string, id: string): Promise<boolean> {
  const rows = await db
    .update(webhookEndpoints)
    .set({ deletedAt: new Date() })
    .where(
      and(
        eq(webhookEndpoints.id, id),
        eq(webhookEndpoints.workspaceId, workspaceId),
        isNull(webhookEndpoints.deletedAt),
      ),
    )
    .returning({ id: webhookEndpoints.id });
  return rows.length > 0;
}

/** Deliveries to one endpoint, newest first, each with every attempt made. Null: no such endpoint. */
export async function listDeliveries(
  db: DbOrTx,
  workspaceId: string,
  endpointId: string,
  query: DeliveriesQuery,
): Promise<{ data: Delivery[]; nextCursor: string | null } | null> {
  const [endpoint] = await db
    .select({ id: webhookEndpoints.id })
    .from(webhookEndpoints)
    .where(and(eq(webhookEndpoints.id, endpointId), eq(webhookEndpoints.workspaceId, workspaceId)));
  if (!endpoint) return null;
  const d = webhookDeliveries;
  const page = keyset(d.createdAt, d.id, decodeCursor(query.cursor));
  const rows = await db
    .select()
    .from(d)
    .where(
      and(eq(d.endpointId, endpointId), query.status ? eq(d.status, query.status) : undefined, page.where),
    )
    .orderBy(...page.orderBy)
    .limit(query.limit + 1);
  const attempts =
    rows.length === 0
      ? []
      : await db
          .select()
          .from(webhookAttempts)
          .where(
            inArray(
              webhookAttempts.deliveryId,
              rows.map((r) => r.id),
            ),
          )
          .orderBy(asc(webhookAttempts.attempt));
  return toPage(rows, query.limit, (row) => ({
    id: row.id,
    eventType: row.eventType,
    eventId: row.eventId,
    status: row.status,
    attemptCount: row.attempts,
    createdAt: row.createdAt.toISOString(),
    deliveredAt: row.deliveredAt?.toISOString() ?? null,
    payload: row.payload,
    attempts: attempts
      .filter((a) => a.deliveryId === row.id)
      .map((a) => ({
        attempt: a.attempt,
        statusCode: a.statusCode,
        error: a.error,
        durationMs: a.durationMs,
        at: a.at.toISOString(),
      })),
  }));
}
