import { randomBytes } from 'node:crypto';
import { and, eq, isNull } from 'drizzle-orm';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Deps } from '../context';
import { apiKeys } from '../db/schema/index';
import { sha256 } from '../lib/crypto';
import { findLiveKey } from '../api/http/auth';

export const SESSION_COOKIE = 'outreach_session';
/** A session lasts a working day; signing in again is cheap, a stolen cookie expires. */
export const SESSION_TTL_SECONDS = 12 * 60 * 60;

const SessionRecord = z.object({ workspaceId: z.uuid(), apiKeyId: z.uuid(), keyName: z.string() });
export type WebSession = z.infer<typeof SessionRecord> & { id: string };

/** Redis holds sessions under the hash of their id, so a dump of Redis cannot be replayed as cookies. */
const sessionKey = (deps: Deps, id: string) => `${deps.config.QUEUE_PREFIX}:web-session:${sha256(id)}`;

/** Whether cookies must be Secure: the request came over HTTPS, or the public URL is https. */
export const secureCookies = (deps: Deps, request: FastifyRequest) =>
  request.protocol === 'https' || deps.config.PUBLIC_URL.startsWith('https:');

export const sessionCookieOptions = (deps: Deps, request: FastifyRequest) => ({
  path: '/app',
  httpOnly: true,
  sameSite: 'strict' as const,
  secure: secureCookies(deps, request),
});

/** The workspace and key name an API key belongs to, when it is live. */
export const checkApiKey = (deps: Deps, key: string) => findLiveKey(deps.db, key);

/** A new session for a checked key: an opaque random id in the cookie, the record in Redis with a TTL. */
export async function startSession(
  deps: Deps,
  request: FastifyRequest,
  reply: FastifyReply,
  key: { id: string; workspaceId: string; name: string },
): Promise<void> {
  const id = randomBytes(32).toString('base64url');
  const record = { workspaceId: key.workspaceId, apiKeyId: key.id, keyName: key.name };
  await deps.redis.set(sessionKey(deps, id), JSON.stringify(record), 'EX', SESSION_TTL_SECONDS);
  reply.setCookie(SESSION_COOKIE, id, {
    ...sessionCookieOptions(deps, request),
    maxAge: SESSION_TTL_SECONDS,
  });
}

/**
 * The request's session, or null. A session whose key was revoked since sign-in ends at once: the
 * key is what the session stands for.
 */
export async function readSession(deps: Deps, request: FastifyRequest): Promise<WebSession | null> {
  const id = request.cookies[SESSION_COOKIE];
  if (!id || !/^[\w-]{43}$/.test(id)) return null;
  const stored = await deps.redis.get(sessionKey(deps, id));
  if (!stored) return null;
  const parsed = SessionRecord.safeParse(JSON.parse(stored));
  if (!parsed.success) return null;
  const [live] = await deps.db
    .select({ id: apiKeys.id })
    .from(apiKeys)
    .where(and(eq(apiKeys.id, parsed.data.apiKeyId), isNull(apiKeys.revokedAt)));
  if (!live) {
    await deps.redis.del(sessionKey(deps, id));
    return null;
  }
  return { ...parsed.data, id };
}

export async function endSession(deps: Deps, request: FastifyRequest, reply: FastifyReply): Promise<void> {
  const id = request.cookies[SESSION_COOKIE];
  if (id) await deps.redis.del(sessionKey(deps, id));
  reply.clearCookie(SESSION_COOKIE, sessionCookieOptions(deps, request));
}
