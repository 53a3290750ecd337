import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Deps } from '../context';
import { pages } from './page-engine';
import { readSession, SESSION_COOKIE, sessionCookieOptions, type WebSession } from './session';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set on every /app page but the sign-in ones; see `requireSession`. */
    webSession: WebSession;
  }
}

/** Routes under /app are public to the API's key check: each page checks its own session. */
export const page = { auth: 'public' } as const;

/** The session of the signed-in person, or a way to sign in: a redirect for pages, 401 for htmx. */
export async function requireSession(deps: Deps, request: FastifyRequest, reply: FastifyReply) {
  const session = await readSession(deps, request);
  if (session) {
    request.webSession = session;
    return;
  }
  if (request.headers['hx-request']) return reply.code(401).header('hx-redirect', '/app/login').send();
  const next = request.method === 'GET' ? `?next=${encodeURIComponent(request.url)}` : '';
  return reply.redirect(`/app/login${next}`, 303);
}

/**
 * What CSRF tokens are bound to: the session cookie, or (before sign-in, when there is none) a fixed
 * word, since the token library refuses an empty one.
 */
export const csrfUserInfo = (request: FastifyRequest) => request.cookies[SESSION_COOKIE] || 'signed-out';

/**
 * A fresh anti-CSRF token for the page, bound to the session cookie (a token of one session is worth
 * nothing in another) and to the secret in the `_csrf` cookie.
 */
export function csrfToken(deps: Deps, request: FastifyRequest, reply: FastifyReply): string {
  return reply.generateCsrf({ userInfo: csrfUserInfo(request), ...sessionCookieOptions(deps, request) });
}

export async function render(reply: FastifyReply, template: string, data: Record<string, unknown>) {
  const html = pages.renderFileSync(template, data);
  return reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').send(html);
}
