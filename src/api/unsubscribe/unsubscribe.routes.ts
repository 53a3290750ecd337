import formbody from '@fastify/formbody';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Deps } from '../../context';
import { confirmPage, donePage, invalidPage } from './unsubscribe.page';
import { resolveUnsubscribeToken, unsubscribeByToken } from './unsubscribe.service';

const TokenParams = z.object({ token: z.string().min(1).max(1000) });
const html = 'text/html; charset=utf-8';

/**
 * `GET /u/:token` (a page with a button) and `POST /u/:token` (RFC 8058 one-click). Public: the
 * signed token is the authority. Any POST with a valid token unsubscribes, whatever its body, since
 * only a deliberate action (the mail client's one-click or our button) sends one; link scanners GET.
 */
export const unsubscribeRoutes =
  (deps: Deps): FastifyPluginAsyncZod =>
  async (app) => {
    // Scoped to this plugin: the rest of the API stays JSON-only.
    await app.register(formbody, { bodyLimit: 4096 });
    app.addContentTypeParser(
      ['multipart/form-data', 'text/plain'],
      { parseAs: 'string', bodyLimit: 4096 },
      (_r, _b, done) => done(null, null),
    );

    app.get(
      '/u/:token',
      {
        config: { auth: 'public' },
        schema: { tags: ['unsubscribe'], summary: 'Unsubscribe page', params: TokenParams },
      },
      async (request, reply) => {
        if (!(await resolveUnsubscribeToken(deps, request.params.token)))
          return reply.code(404).type(html).send(invalidPage());
        return reply
          .type(html)
          .header('cache-control', 'no-store')
          .send(confirmPage(`/u/${encodeURIComponent(request.params.token)}`));
      },
    );

    app.post(
      '/u/:token',
      {
        config: { auth: 'public' },
        schema: { tags: ['unsubscribe'], summary: 'RFC 8058 one-click unsubscribe', params: TokenParams },
      },
      async (request, reply) => {
        if (!(await unsubscribeByToken(deps, request.params.token, 'one_click')))
          return reply.code(404).type(html).send(invalidPage());
        return reply.type(html).header('cache-control', 'no-store').send(donePage());
      },
    );
  };
