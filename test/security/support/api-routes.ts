import type { FastifyInstance } from 'fastify';
import type { JsonSchema } from './schema-arbitrary';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export type Parameter = { name: string; in: 'path' | 'query'; required: boolean; schema: JsonSchema };

/** One operation of the API as the OpenAPI document describes it. */
export type ApiRoute = {
  method: HttpMethod;
  /** OpenAPI form: `/v1/leads/{id}`. */
  path: string;
  pathParams: Parameter[];
  queryParams: Parameter[];
  /** The body's media type and, for JSON, its schema; null when the operation takes no body. */
  body: { contentType: string; schema: JsonSchema | null } | null;
  /** Taken with the operator's admin token, not a workspace's key (no tenant reaches it). */
  admin: boolean;
};

type Operation = {
  parameters?: Parameter[];
  requestBody?: { content?: Record<string, { schema?: JsonSchema }> };
  security?: Record<string, string[]>[];
};

const methods: HttpMethod[] = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];

/**
 * Every `/v1` operation, read from the app's own OpenAPI document, so a route added later is fuzzed
 * and checked for tenancy without anyone editing these tests.
 */
export async function discoverV1Routes(app: FastifyInstance): Promise<ApiRoute[]> {
  const res = await app.inject({ method: 'GET', url: '/openapi.json' });
  if (res.statusCode !== 200) throw new Error(`openapi.json: ${res.statusCode}`);
  const doc = res.json<{ paths: Record<string, Record<string, Operation>> }>();
  const routes: ApiRoute[] = [];
  for (const [path, operations] of Object.entries(doc.paths)) {
    if (!path.startsWith('/v1/')) continue;
    for (const method of methods) {
      const op = operations[method.toLowerCase()];
      if (op) routes.push(toRoute(method, path, op));
    }
  }
  return routes;
}

function toRoute(method: HttpMethod, path: string, op: Operation): ApiRoute {
  const params = op.parameters ?? [];
  const content = Object.entries(op.requestBody?.content ?? {})[0];
  return {
    method,
    path,
    admin: (op.security ?? []).some((scheme) => 'adminToken' in scheme),
    pathParams: params.filter((p) => p.in === 'path'),
    queryParams: params.filter((p) => p.in === 'query'),
    body: content
      ? // A raw body (CSV, MIME) is documented as a string: it is fuzzed as raw text, not as JSON.
        {
          contentType: content[0],
          schema: content[0] === 'application/json' ? (content[1].schema ?? null) : null,
        }
      : bodyOfUndocumentedRaw(method, path),
  };
}

/**
 * Routes that parse a raw body themselves declare no JSON schema, so the document shows no body;
 * they are found by what they are for. A new raw-body route must be added here.
 */
function bodyOfUndocumentedRaw(method: HttpMethod, path: string): ApiRoute['body'] {
  if (method !== 'POST') return null;
  if (path === '/v1/leads/import') return { contentType: 'text/csv', schema: null };
  if (path.endsWith('/email/raw')) return { contentType: 'message/rfc822', schema: null };
  return null;
}

/** Fills `{name}` placeholders with already URL-encoded segments. */
export function fillPath(path: string, values: Record<string, string>): string {
  return path.replace(/\{(\w+)\}/g, (_, name: string) => values[name] ?? 'missing');
}

export const routeName = (r: ApiRoute) => `${r.method} ${r.path}`;
