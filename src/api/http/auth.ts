import { timingSafeEqual } from 'node:crypto';
import { and, eq, isNull } from 'drizzle-orm';
import type { FastifyRequest } from 'fastify';
import type { Db, DbOrTx } from '../../db/client';
import { apiKeys } from '../../db/schema/index';
import { sha256 } from '../../lib/crypto';
import { HttpError } from './errors';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by `authenticate` on every `/v1` route except the admin ones. */
    workspaceId: string;
    apiKeyId: string;
  }
  interface FastifyContextConfig {
    /** `admin`: needs ADMIN_TOKEN; `public`: no auth; default: an API key. */
    auth?: 'admin' | 'public' | 'key';
  }
}

const unauthorized = (message: string) => new HttpError(401, 'unauthorized', message);

export function bearerToken(request: FastifyRequest): string | null {
  const header = request.headers.authorization;
  if (!header) return null;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1] ?? null;
}

export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export function requireAdmin(request: FastifyRequest, adminToken: string | undefined): void {
  const token = bearerToken(request);
  if (!adminToken) throw unauthorized('admin routes are disabled: ADMIN_TOKEN is not set');
  if (!token || !safeEqual(token, adminToken)) throw unauthorized('a valid admin token is required');
}

/** The live (not revoked) API key a token is, with its workspace and name; null for any other token. */
export async function findLiveKey(db: DbOrTx, token: string) {
  const [key] = await db
    .select({ id: apiKeys.id, workspaceId: apiKeys.workspaceId, name: apiKeys.name })
    .from(apiKeys)
    .where(and(eq(apiKeys.hash, sha256(token)), isNull(apiKeys.revokedAt)))
    .limit(1);
  return key ?? null;
}

/** Resolves the API key to its workspace; every `/v1` query is then scoped to `request.workspaceId`. */
export async function authenticateKey(db: Db, request: FastifyRequest): Promise<void> {
  const token = bearerToken(request);
  if (!token) throw unauthorized('missing API key: send Authorization: Bearer <key>');
  const key = await findLiveKey(db, token);
  if (!key) throw unauthorized('invalid or revoked API key');
  request.workspaceId = key.workspaceId;
  request.apiKeyId = key.id;
}
