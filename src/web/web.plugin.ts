import { fileURLToPath } from 'node:url';
import cookie from '@fastify/cookie';
import csrf from '@fastify/csrf-protection';
import formbody from '@fastify/formbody';
import helmet from '@fastify/helmet';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import type { Deps } from '../context';
import { registerAuthRoutes } from './auth.routes';
import { registerBoardRoutes } from './board/board.routes';
import { registerDashboardRoutes } from './dashboard/dashboard.routes';
import { registerLeadRoutes } from './leads/lead-page.routes';
import { registerSequenceRoutes } from './sequences/sequence-pages.routes';
import { csrfUserInfo } from './page-kit';

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

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
