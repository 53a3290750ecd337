import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Deps } from '../context';
import { csrfToken, page, render } from './page-kit';
import { checkApiKey, endSession, startSession } from './session';

/** Only a page of this app: anything else (`//evil.test`, `/v1/...`) would be an open redirect. */
const NextPath = z
  .string()
  .max(2000)
  .regex(/^\/app(\/[\w\-/]*)?(\?[^\s]*)?$/)
  .catch('/app');

const SignIn = z.object({ key: z.string().trim().min(1).max(500), next: NextPath.optional() });

/** Sign-in with an API key of the workspace, and sign-out. */
export function registerAuthRoutes(app: FastifyInstance, deps: Deps): void {
  const loginPage = (request: FastifyRequest, reply: FastifyReply, next: unknown, error?: string) =>
    render(reply, 'login', { csrf: csrfToken(deps, request, reply), next: NextPath.parse(next), error });

  app.get('/app/login', { config: page, schema: { hide: true } }, async (request, reply) =>
    loginPage(request, reply, (request.query as { next?: unknown }).next),
  );

  app.post(
    '/app/login',
    { config: page, schema: { hide: true }, preHandler: app.csrfProtection },
    async (request, reply) => {
      const input = SignIn.safeParse(request.body);
      const key = input.success ? await checkApiKey(deps, input.data.key) : null;
      if (!input.success || !key) {
        reply.code(401);
        const next = (request.body as { next?: unknown } | undefined)?.next;
        return loginPage(request, reply, next, 'That key is not a live API key of any workspace.');
      }
      await startSession(deps, request, reply, key);
      return reply.redirect(input.data.next ?? '/app', 303);
    },
  );

  app.post(
    '/app/logout',
    { config: page, schema: { hide: true }, preHandler: app.csrfProtection },
    async (request, reply) => {
      await endSession(deps, request, reply);
      return reply.redirect('/app/login', 303);
    },
  );
}
