import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Deps } from '../../context';
import { bearerToken, safeEqual } from './auth';
import { HttpError } from './errors';

export const ADMIN_QUEUES_PATH = '/admin/queues';
/**
 * The dashboard page without its Google Fonts link, so it works offline and leaks no visit to a
 * third party (the page falls back to the system sans-serif; everything else it loads is ours).
 */
export function withoutExternalFonts(html: string): string {
  return html.replace(/<link[^>]+fonts\.(googleapis|gstatic)\.com[^>]*>/g, '');
}

/**
 * The admin token from `Authorization: Bearer <token>`, or as the password of Basic auth (browsers),
 * or as its user name when the password is empty.
 */
export function adminCredential(request: FastifyRequest): string | null {
  const bearer = bearerToken(request);
  if (bearer) return bearer;
  const basic = /^Basic\s+(\S+)\s*$/i.exec(request.headers.authorization ?? '')?.[1];
  if (!basic) return null;
  const decoded = Buffer.from(basic, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return null;
  // `http://<token>@host/…` sends the token as the user name with an empty password.
  return decoded.slice(colon + 1) || decoded.slice(0, colon) || null;
}

function guard(adminToken: string | undefined, request: FastifyRequest, reply: FastifyReply): void {
  const given = adminCredential(request);
  if (adminToken && given && safeEqual(given, adminToken)) return;
  // The Basic challenge makes a browser ask for the token, so the dashboard is usable by hand.
  reply.header('www-authenticate', 'Basic realm="outreach admin", charset="UTF-8"');
  throw new HttpError(
    401,
    'unauthorized',
    adminToken
      ? 'a valid admin token is required (Bearer, or as the Basic auth password)'
      : 'admin routes are disabled: ADMIN_TOKEN is not set',
  );
}

/**
 * The BullMQ dashboard (bull-board) at `GET /admin/queues`, behind ADMIN_TOKEN.
 * Read-only: Postgres is the source of truth, so removing or promoting a job by hand would only
 * race the scheduler and the reconciler (docs/decisions.md).
 */
export async function registerAdmin(app: FastifyInstance, deps: Pick<Deps, 'config' | 'queues'>) {
  const serverAdapter = new FastifyAdapter();
  serverAdapter.setBasePath(ADMIN_QUEUES_PATH);
  createBullBoard({
    queues: deps.queues.all().map((queue) => new BullMQAdapter(queue, { readOnlyMode: true })),
    serverAdapter,
    options: { uiConfig: { boardTitle: 'Outreach queues' } },
  });
  await app.register(
    async (scope) => {
      scope.addHook('onRoute', (route) => {
        // bull-board sets its own error handler, which does not speak our error shape (401, 429,
        // hidden 5xx details); a route-level handler takes precedence over it.
        route.errorHandler = app.errorHandler;
      });
      // app.ts treats paths outside /v1 as public; this scoped hook guards the dashboard instead.
      scope.addHook('onRequest', async (request, reply) => guard(deps.config.ADMIN_TOKEN, request, reply));
      scope.addHook('onSend', async (_request, reply, payload) => {
        const html = String(reply.getHeader('content-type') ?? '').startsWith('text/html');
        return html && typeof payload === 'string' ? withoutExternalFonts(payload) : payload;
      });
      await scope.register(serverAdapter.registerPlugin());
    },
    { prefix: ADMIN_QUEUES_PATH },
  );
}
