import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import { jsonSchemaTransform } from 'fastify-type-provider-zod';
import { applyContract, securityOf, securitySchemes } from './openapi-contract';

/** The server-rendered web app is for people, not integrators: it stays out of the API document. */
const isWebApp = (url: string) => url === '/app' || url.startsWith('/app/');

/**
 * OpenAPI generated from the same zod schemas the routes validate with, completed from the
 * operations table (operations.ts): ids, error answers, raw bodies, each route's credential.
 */
export async function registerOpenApi(app: FastifyInstance, _publicUrl: string): Promise<void> {
  await app.register(swagger, {
    openapi: {
      info: {
        title: 'Outreach engine API',
        version: '1.0.0',
        description:
          'Self-hosted multichannel outreach: leads, pipeline, sequences, email and LinkedIn steps.',
      },
      // Relative, so "Try it out" calls the origin the page came from, whatever the port or proxy.
      servers: [{ url: '/' }],
      components: { securitySchemes },
      security: [{ apiKey: [] }],
    },
    transform: (input) => {
      const { schema, url } = jsonSchemaTransform(input);
      if (isWebApp(url)) return { schema: { ...schema, hide: true }, url };
      // The credential the route really takes (`config.auth`), not the document's default.
      const security = securityOf(input.route.config?.auth);
      return { schema: security ? { ...schema, security } : schema, url };
    },
    transformObject: (document) =>
      'openapiObject' in document ? applyContract(document.openapiObject) : document.swaggerObject,
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { config: { auth: 'public' }, schema: { hide: true } }, async () => app.swagger());
}
