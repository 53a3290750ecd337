import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyRequest } from 'fastify';
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Deps } from '../context';
import { ADMIN_QUEUES_PATH, registerAdmin } from './http/admin';
import { authenticateKey, requireAdmin } from './http/auth';
import { createAuthFailures } from './http/auth-failures';
import { frameworkErrors, HttpError, installErrorHandler } from './http/errors';
import { registerMetrics } from './http/metrics';
import { registerOpenApi } from './http/openapi';
import { registerRateLimit } from './http/rate-limit';
import { wellFormed } from './http/unicode-text';
import { registerPublicRoutes, registerV1Routes } from './routes';
import { healthRoutes } from './health/health.routes';
import { webApp } from '../web/web.plugin';

/** Default body limit; routes that take more (CSV import) or less (webhooks: 1 MiB) set their own. */
export const BODY_LIMIT = 8 * 1024 * 1024;

/**
 * The credential a route needs: what it declares, else none for the API documents (Swagger UI's
 * pages and assets) and the queue dashboard (which checks ADMIN_TOKEN itself, taking Basic auth
 * from browsers), else an API key. A new route is closed until it says it is open.
 */
export function authModeOf(url: string, declared: 'admin' | 'public' | 'key' | undefined) {
  if (declared) return declared;
  if (url === '/docs' || url.startsWith('/docs/')) return 'public';
  if (url === ADMIN_QUEUES_PATH || url.startsWith(`${ADMIN_QUEUES_PATH}/`)) return 'public';
  return 'key';
}

/**
 * The credential this request needs: its route's mode. When no route matched only the not-found
 * handler runs; under /v1 it still wants a key, so the API's routes cannot be listed without one.
 */
function requestAuthMode(request: FastifyRequest): 'admin' | 'public' | 'key' {
  if (request.is404) return request.url.startsWith('/v1/') ? 'key' : 'public';
  return request.routeOptions.config.auth ?? 'key';
}

/** Builds the Fastify app; never listens (server.ts and the tests decide that). */
export async function buildApp(deps: Deps): Promise<FastifyInstance> {
  const logger: FastifyBaseLogger = deps.log;
  const app = Fastify({
    loggerInstance: logger,
    bodyLimit: BODY_LIMIT,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && /^[\w.-]{1,100}$/.test(given) ? given : randomUUID();
    },
    ajv: { customOptions: { coerceTypes: false } },
    frameworkErrors,
  }).withTypeProvider<ZodTypeProvider>();

  // 0. Every route's credential is settled as it is added (see `authModeOf`), before any route is.
  app.addHook('onRoute', (route) => {
    route.config = { ...route.config, auth: authModeOf(route.url, route.config?.auth) };
  });
  // 1. Zod compiles both validation and serialisation, so the OpenAPI document and the checks agree.
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  // 2. One error handler: the docs/design.md §5 error shape, no stack traces to clients.
  installErrorHandler(app);
  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  // 3. Metrics next: its onResponse hook times every answer, 401s and 429s included.
  registerMetrics(app, deps);
  // 4. The rate limit before auth, so a flood gets 429 without costing a database lookup.
  await registerRateLimit(app, deps.config.RATE_LIMIT_PER_MINUTE);
  // 5. Auth before body parsing, so a bad key is a 401 even for a malformed body. Decided by the
  // route that matched, never by the URL's spelling (`/%761/leads` is routed to `/v1/leads`).
  const failures = createAuthFailures(deps.config.AUTH_FAILURES_PER_MINUTE);
  app.addHook('onRequest', async (request, reply) => {
    const mode = requestAuthMode(request);
    if (mode === 'public') return;
    failures.check(request, reply);
    try {
      if (mode === 'admin') requireAdmin(request, deps.config.ADMIN_TOKEN);
      else await authenticateKey(deps.db, request);
    } catch (err) {
      if (err instanceof HttpError && err.statusCode === 401) failures.fail(request);
      throw err;
    }
  });
  // A handler of a key route never runs without its workspace, whatever happened above.
  app.addHook('preHandler', async (request) => {
    if (!request.is404 && requestAuthMode(request) === 'key' && !request.workspaceId) {
      throw new HttpError(401, 'unauthorized', 'missing API key: send Authorization: Bearer <key>');
    }
  });
  // 5b. Parsed JSON may hold lone surrogates, which no column can store: made well-formed here.
  app.addHook('preValidation', async (request) => {
    request.body = wellFormed(request.body);
  });
  // 6. Docs first, so every route registered after it appears in the OpenAPI document.
  await registerOpenApi(app, deps.config.PUBLIC_URL);
  await app.register(healthRoutes(deps));
  // 7. The queue dashboard guards itself with ADMIN_TOKEN (hidden from the API document).
  await registerAdmin(app, deps);
  await registerV1Routes(app, deps);
  await registerPublicRoutes(app, deps);
  // 8. The web app under /app: its pages declare `auth: 'public'` and check their own session.
  await app.register(webApp(deps));
  return app;
}
