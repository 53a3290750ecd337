import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { sha256 } from '../../lib/crypto';
import { bearerToken } from './auth';
import { HttpError } from './errors';

/** Probes and scrapes come from one address every few seconds; limiting them would fake an outage. */
const unlimitedRoutes = new Set(['/health', '/metrics']);

/**
 * The bucket of a request: its bearer credential (API key or admin token), the workspace of an
 * inbound webhook, else its address.
 * Hashed so the limiter's memory never holds a usable key.
 */
export function rateLimitKey(request: FastifyRequest): string {
  // Inbound webhooks carry no bearer: a mail provider posts for many customers from a few
  // addresses, so their bucket is the workspace in the path, not the sender's address.
  // Read from the matched route, not the URL text, which may spell the same path many ways.
  if (request.routeOptions.url?.startsWith('/v1/webhooks/:workspaceId/')) {
    const { workspaceId } = request.params as { workspaceId?: string };
    if (workspaceId) return `inbound:${workspaceId.toLowerCase()}`;
  }
  const token = bearerToken(request);
  return token ? `key:${sha256(token)}` : `ip:${request.ip}`;
}

/**
 * Limits requests per minute per API key (falling back to the client address), answering
 * 429 in the error shape with the draft `RateLimit-*` headers and `Retry-After`.
 * The limiter runs as a root `onRequest` hook added here, so it must be registered before the
 * auth hook: a flood is refused before any database lookup. Counters are per process (memory).
 */
export async function registerRateLimit(app: FastifyInstance, perMinute: number): Promise<void> {
  await app.register(rateLimit, {
    // Not per route: the hook below covers every request, unknown routes included.
    global: false,
    max: perMinute,
    timeWindow: 60_000,
    enableDraftSpec: true,
    keyGenerator: rateLimitKey,
    allowList: (request) => unlimitedRoutes.has(request.routeOptions.url ?? ''),
    errorResponseBuilder: (_request, context) =>
      new HttpError(
        429,
        'rate_limited',
        `rate limit of ${context.max} requests per minute exceeded; retry in ${context.after}`,
      ),
  });
  app.addHook('onRequest', app.rateLimit());
}
