import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Deps } from '../../context';
import { errorBody } from '../http/errors';
import { recordOpen, resolveClick } from '../../channels/email/tracking';

/** The smallest transparent GIF. */
const PIXEL = Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64');
const TokenParams = z.object({ token: z.string().min(1).max(300) });

/**
 * The link as a Location header can carry it: serialised by the URL parser, which drops CR, LF and
 * tabs and percent-encodes the rest, so a link written with `&#13;&#10;` cannot break the response.
 * Null for anything that is not an absolute http(s) URL.
 */
function safeLocation(url: string | null): string | null {
  if (!url || !URL.canParse(url)) return null;
  const parsed = new URL(url);
  return parsed.protocol === 'http:' || parsed.protocol === 'https:' ? parsed.href : null;
}

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
        const target = safeLocation(await resolveClick(deps, request.params.token));
        if (!target) return reply.code(404).send(errorBody('not_found', 'this link is not valid'));
        return reply.header('cache-control', 'no-store').redirect(target, 302);
      },
    );
  };
