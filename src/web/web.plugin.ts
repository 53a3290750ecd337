import { fileURLToPath } from 'node:url';
import cookie from '@fastify/cookie';
import csrf from '@fastify/csrf-protection';
import formbody from '@fastify/formbody';
import helmet from '@fastify/helmet';
import fastifyStatic from '@fastify/static';
import view from '@fastify/view';
import type { FastifyInstance } from 'fastify';
import { Liquid } from 'liquidjs';
import type { Deps } from '../context';
import { registerAuthRoutes } from './auth.routes';
import { registerBoardRoutes } from './board/board.routes';
import { registerDashboardRoutes } from './dashboard/dashboard.routes';
import { registerLeadRoutes } from './leads/lead-page.routes';
import { registerSequenceRoutes } from './sequences/sequence-pages.routes';
import { csrfUserInfo } from './page-kit';
import { filters } from './view-filters';

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

/**
 * Pages get their own Liquid: every output escaped, no access to prototypes, no includes outside the
 * views folder. It shares nothing with the tenants' template engine (src/core/liquid.ts), which
 * renders emails from tenant input; these templates are ours.
 */
function pageEngine(): Liquid {
  const engine = new Liquid({
    root: here('./views'),
    extname: '.liquid',
    outputEscape: 'escape',
    ownPropertyOnly: true,
    strictFilters: true,
    cache: true,
  });
  for (const [name, fn] of Object.entries(filters)) engine.registerFilter(name, fn);
  return engine;
}

/** The web app under /app: its plugins stay inside this scope, so the JSON API is unchanged. */
export const webApp = (deps: Deps) => async (app: FastifyInstance) => {
  await app.register(cookie);
  await app.register(formbody, { bodyLimit: 64 * 1024 });
  await app.register(helmet, {
    // Scripts and styles only from our own origin: no inline script, no style attribute.
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'data:'],
        connectSrc: ["'self'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
        baseUri: ["'none'"],
        objectSrc: ["'none'"],
      },
    },
    hsts: deps.config.PUBLIC_URL.startsWith('https:'),
  });
  await app.register(csrf, {
    sessionPlugin: '@fastify/cookie',
    getUserInfo: csrfUserInfo,
    csrfOpts: { hmacKey: deps.secrets.sign('web-csrf', 'hmac-key') },
  });
  await app.register(view, { engine: { liquid: pageEngine() }, root: here('./views') });
  await app.register(async (assets) => {
    // Files, not pages: the sign-in page needs its stylesheet before anyone has a session.
    assets.addHook('onRoute', (route) => {
      route.config = { ...route.config, auth: 'public' };
    });
    await assets.register(fastifyStatic, { root: here('./public'), prefix: '/app/assets/' });
    await assets.register(fastifyStatic, {
      root: here('../../node_modules/htmx.org/dist'),
      prefix: '/app/vendor/htmx/',
      allowedPath: (path) => path === '/htmx.min.js',
      decorateReply: false,
    });
    await assets.register(fastifyStatic, {
      root: here('../../node_modules/sortablejs'),
      prefix: '/app/vendor/sortable/',
      allowedPath: (path) => path === '/Sortable.min.js',
      decorateReply: false,
    });
  });
  registerAuthRoutes(app, deps);
  registerBoardRoutes(app, deps);
  registerLeadRoutes(app, deps);
  registerSequenceRoutes(app, deps);
  registerDashboardRoutes(app, deps);
};
