import { z } from 'zod';
import { ErrorBody } from './errors';
import { type ErrorStatus, type OperationSpec, operations } from './operations';

/**
 * The parts of the generated document this module reads and writes. Swagger builds the document
 * from the routes' schemas; only these fields are touched here, so only they are typed.
 */
type Parameter = { name: string; in: string; required?: boolean; description?: string };
type Response = { description: string; content?: Record<string, unknown>; headers?: Record<string, unknown> };
type ResponseRef = { $ref: string };
type Operation = {
  operationId?: string;
  summary?: string;
  description?: string;
  parameters?: Parameter[];
  requestBody?: unknown;
  security?: unknown[];
  responses?: Record<string, Response | ResponseRef>;
};
type ContractDoc = {
  paths?: Record<string, Record<string, Operation>>;
  components?: { schemas?: Record<string, unknown>; responses?: Record<string, Response> };
};

export const methods = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

/** The security requirement of a route, from its `config.auth` (app.ts settles it for every route). */
export function securityOf(auth: 'admin' | 'public' | 'key' | undefined): Record<string, string[]>[] | null {
  if (auth === 'admin') return [{ adminToken: [] }];
  if (auth === 'public') return [];
  return null; // the document's default: the workspace API key
}

export const securitySchemes = {
  apiKey: { type: 'http', scheme: 'bearer', description: 'A workspace API key (ok_…)' },
  adminToken: {
    type: 'http',
    scheme: 'bearer',
    description: 'The deployment ADMIN_TOKEN; admin routes answer 401 while it is unset',
  },
} as const;

const errorRef = { $ref: '#/components/schemas/Error' };
const jsonError = (description: string): Response => ({
  description,
  content: { 'application/json': { schema: errorRef } },
});

/** Shared error answers, by status, referenced from every operation that can give them. */
const errorResponses: Record<ErrorStatus, [name: string, response: Response]> = {
  400: [
    'BadRequest',
    jsonError(
      'validation_failed (details: one {path, message} per failing field), invalid_json, or another ' +
        'code naming what is wrong with the request',
    ),
  ],
  401: ['Unauthorized', jsonError('unauthorized: the credential is missing, invalid or revoked')],
  404: ['NotFound', jsonError('not_found: no such resource in this workspace')],
  409: ['Conflict', jsonError('The request conflicts with the current state; the code says how')],
  413: ['PayloadTooLarge', jsonError('payload_too_large: the body is above this route’s limit')],
  415: ['UnsupportedMediaType', jsonError('unsupported_media_type: the Content-Type is not accepted')],
  422: [
    'Unprocessable',
    jsonError(
      'The request is well formed but refused on its content; the code says why, details which items',
    ),
  ],
  429: [
    'RateLimited',
    {
      ...jsonError('rate_limited: too many requests (or failed authentications); retry later'),
      headers: {
        'retry-after': { description: 'Seconds to wait', schema: { type: 'integer' } },
        'ratelimit-limit': { description: 'Requests allowed per window', schema: { type: 'integer' } },
        'ratelimit-remaining': { description: 'Requests left in the window', schema: { type: 'integer' } },
        'ratelimit-reset': { description: 'Seconds until the window resets', schema: { type: 'integer' } },
      },
    },
  ],
  500: [
    'InternalError',
    jsonError('internal_error: details stay in the server log, under the x-request-id header'),
  ],
};

const signatureHeaders = ['webhook-id', 'webhook-timestamp', 'webhook-signature'];
const signatureDescription =
  'Signed as Standard Webhooks (standardwebhooks.com) with the workspace webhook secret: ' +
  '`webhook-signature` is `v1,` + base64 HMAC-SHA256 of `{webhook-id}.{webhook-timestamp}.{body}`. ' +
  'An unknown workspace gets the same 401 as a bad signature.';

/** The errors an operation's shape implies; the table adds the rest and removes what cannot occur. */
export function derivedErrors(op: Operation, path: string): ErrorStatus[] {
  const statuses: ErrorStatus[] = [];
  const inputs = (op.parameters ?? []).filter((p) => p.in !== 'header');
  if (inputs.length > 0 || op.requestBody) statuses.push(400);
  const isPublic = Array.isArray(op.security) && op.security.length === 0;
  if (!isPublic || isSigned(op)) statuses.push(401);
  if (path.includes('{')) statuses.push(404);
  if (op.requestBody) statuses.push(413, 415);
  statuses.push(429, 500);
  return statuses;
}

const isSigned = (op: Operation) => (op.parameters ?? []).some((p) => p.name === 'webhook-signature');

const htmlPage = (description: string): Response => ({
  description,
  content: { 'text/html': { schema: { type: 'string' } } },
});

function applyErrors(op: Operation, path: string, spec: OperationSpec, used: Set<ErrorStatus>): void {
  const responses = op.responses ?? {};
  const extra = Object.keys(spec.errors ?? {}).map((s) => Number(s) as ErrorStatus);
  const statuses = new Set([...derivedErrors(op, path), ...extra]);
  for (const status of spec.never ?? []) statuses.delete(status);
  for (const status of statuses) {
    const own = spec.errors?.[status];
    if (own) responses[status] = jsonError(own);
    else if (status === 404 && spec.html)
      responses[status] = htmlPage('The link is not valid: a page says so');
    else if (status === 401 && isSigned(op))
      responses[status] = jsonError('invalid_signature: missing, stale or wrong signature headers');
    else {
      responses[status] = { $ref: `#/components/responses/${errorResponses[status][0]}` };
      used.add(status);
    }
  }
  op.responses = Object.fromEntries(Object.entries(responses).sort(([a], [b]) => Number(a) - Number(b)));
}

function describeSuccesses(op: Operation, spec: OperationSpec): void {
  for (const [status, response] of Object.entries(op.responses ?? {})) {
    if ('$ref' in response || (Number(status) >= 400 && status !== '503')) continue;
    const text = typeof spec.ok === 'string' ? spec.ok : spec.ok[Number(status)];
    if (text && spec.html) op.responses = { ...op.responses, [status]: htmlPage(text) };
    else if (text && spec.produces)
      op.responses = {
        ...op.responses,
        [status]: { description: text, content: { [spec.produces]: { schema: { type: 'string' } } } },
      };
    else if (text) response.description = text;
  }
}

function applySpec(op: Operation, path: string, spec: OperationSpec, used: Set<ErrorStatus>): void {
  op.operationId = spec.id;
  if (!op.summary && spec.summary) op.summary = spec.summary;
  if (spec.rawBody) {
    const { mediaType, description, example } = spec.rawBody;
    op.requestBody = {
      required: true,
      description,
      content: { [mediaType]: { schema: { type: 'string' }, ...(example ? { example } : {}) } },
    };
  }
  for (const param of op.parameters ?? []) {
    if (param.in === 'header' && signatureHeaders.includes(param.name)) param.required = true;
  }
  if (isSigned(op)) op.description = signatureDescription;
  describeSuccesses(op, spec);
  applyErrors(op, path, spec, used);
}

/** The error schema: the zod `ErrorBody` every error answer is built from. */
function errorSchema(): Record<string, unknown> {
  const { $schema: _, ...schema } = z.toJSONSchema(ErrorBody, { target: 'openapi-3.0', io: 'output' });
  return { ...schema, description: 'Every error answer: a stable code, a message, details when useful' };
}

/**
 * Completes swagger's document from the operations table: ids, summaries, success descriptions,
 * error answers, raw request bodies and required signature headers. Operations without an entry
 * are left as they are, for the contract test to name.
 */
export function applyContract<T extends object>(document: T): T {
  // Swagger's document type is a union over OpenAPI versions; this reads the 3.0 fields above.
  const doc = document as ContractDoc;
  const used = new Set<ErrorStatus>();
  for (const [path, item] of Object.entries(doc.paths ?? {})) {
    for (const method of methods) {
      const op = item[method];
      const spec = operations[`${method.toUpperCase()} ${path}`];
      if (!op || !spec) continue;
      applySpec(op, path, spec, used);
      const { operationId, summary, ...rest } = op;
      item[method] = { operationId, summary, ...rest }; // read first in the JSON and in Swagger UI
    }
  }
  // Only the shared answers some operation uses (an unused component is a lint warning).
  const responses = Object.fromEntries([...used].sort().map((status) => errorResponses[status]));
  doc.components = {
    ...doc.components,
    schemas: { ...doc.components?.schemas, Error: errorSchema() },
    responses: { ...doc.components?.responses, ...responses },
  };
  return document;
}
