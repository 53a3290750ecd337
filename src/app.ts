import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Deps } from './context';
import { registerAdmin } from './http/admin';
import { authenticateKey, requireAdmin } from './http/auth';
import { frameworkErrors, installErrorHandler } from './http/errors';
import { registerMetrics } from './http/metrics';
import { registerOpenApi } from './http/openapi';
import { registerRateLimit } from './http/rate-limit';
import { wellFormed } from './http/unicode-text';
import { registerPublicRoutes, registerV1Routes } from './http/routes';
import { healthRoutes } from './modules/health/health.routes';

/** Default body limit; routes that take more (CSV import) or less (webhooks: 1 MiB) set their own. */
export const BODY_LIMIT = 8 * 1024 * 1024;

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

  // 1. Zod compiles both validation and serialisation, so the OpenAPI document and the checks agree.
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  // 2. One error handler: the DESIGN.md §5 error shape, no stack traces to clients.
  installErrorHandler(app);
  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  // 3. Metrics next: its onResponse hook times every answer, 401s and 429s included.
  registerMetrics(app, deps);
  // 4. The rate limit before auth, so a flood gets 429 without costing a database lookup.
  await registerRateLimit(app, deps.config.RATE_LIMIT_PER_MINUTE);
  // 5. Auth before body parsing, so a bad key is a 401 even for a malformed body.
  app.addHook('onRequest', async (request) => {
    const mode = request.routeOptions.config.auth ?? (request.url.startsWith('/v1/') ? 'key' : 'public');
    if (mode === 'admin') requireAdmin(request, deps.config.ADMIN_TOKEN);
    else if (mode === 'key') await authenticateKey(deps.db, request);
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
  return app;
}
