import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Deps } from '../../context';
import { recordOpen, resolveClick } from './tracking.service';

/** The smallest transparent GIF. */
const PIXEL = Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64');
const TokenParams = z.object({ token: z.string().min(1).max(300) });

/** Open pixel and click redirect (public: mail clients and recipients call them without a key). */
export const trackingRoutes =
  (deps: Deps): FastifyPluginAsyncZod =>
  async (app) => {
    app.get(
      '/t/o/:token',
      { config: { auth: 'public' }, schema: { hide: true, params: TokenParams } },
      async (request, reply) => {
        // A bad token still gets the image: a broken picture in someone's inbox helps nobody.
        await recordOpen(deps, request.params.token);
        return reply.type('image/gif').header('cache-control', 'no-store, max-age=0').send(PIXEL);
      },
    );

    app.get(
      '/t/c/:token',
      { config: { auth: 'public' }, schema: { hide: true, params: TokenParams } },
      async (request, reply) => {
        const url = await resolveClick(deps, request.params.token);
        if (!url) {
          return reply
            .code(404)
            .type('text/html; charset=utf-8')
            .send('<!doctype html><title>Link not found</title><p>This link is not valid.</p>');
        }
        return reply.header('cache-control', 'no-store').redirect(url, 302);
      },
    );
  };
