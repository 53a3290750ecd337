import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { InvalidCursorError } from '../../db/keyset';
import { ChecksBusy } from '../../engine/list-check';
import { nulPath } from './unicode-text';

export const ErrorBody = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    details: z.array(z.unknown()).optional(),
  }),
});
export type ErrorBody = z.infer<typeof ErrorBody>;

/** An error meant for the client: the handler turns it into the docs/design.md §5 error shape. */
export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly details?: unknown[],
  ) {
    super(message);
  }
}

export const notFound = (what = 'resource') => new HttpError(404, 'not_found', `${what} not found`);
export const conflict = (code: string, message: string) => new HttpError(409, code, message);
export const badRequest = (path: string, message: string) =>
  new HttpError(400, 'validation_failed', `${path}: ${message}`, [{ path, message }]);

export const errorBody = (code: string, message: string, details?: unknown[]): ErrorBody => ({
  error: details ? { code, message, details } : { code, message },
});

/**
 * Postgres codes of values it refuses: bad syntax (22P02), out of range (22003, 22008), bad date
 * (22007), too long (22001), a NUL in text (22021) or jsonb (22P05), too big (54000).
 */
const malformedValueCodes = new Set(['22P02', '22003', '22007', '22008', '22001', '22021', '22P05', '54000']);

/** The SQLSTATE of a Postgres error, also when drizzle wraps it (as `cause`) in its own error. */
function postgresCode(err: unknown, depth = 0): string | undefined {
  if (typeof err !== 'object' || err === null || depth > 3) return undefined;
  const code = 'code' in err ? err.code : undefined;
  if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return code;
  return 'cause' in err ? postgresCode(err.cause, depth + 1) : undefined;
}

/** A list check is over in 20 s at most: when to try again after `ChecksBusy`. */
const CHECK_RETRY_SECONDS = 5;

/** Fastify's own client errors, by code, mapped to our error codes. */
const fastifyCodes: Record<string, string> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'payload_too_large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'invalid_body',
  FST_ERR_CTP_INVALID_JSON_BODY: 'invalid_json',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'invalid_body',
};

/**
 * Fastify's `frameworkErrors` option: errors raised while routing (a URL that is not validly
 * percent-encoded, a path parameter over the router's length limit) skip `setErrorHandler` and
 * would otherwise be answered in Fastify's own shape. Fixed messages: the URL may be huge.
 */
export function frameworkErrors(err: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  if (err.code === 'FST_ERR_BAD_URL') {
    reply.code(400).send(errorBody('bad_url', 'the URL is not validly percent-encoded'));
  } else if (err.code === 'FST_ERR_MAX_PARAM_LENGTH') {
    reply.code(414).send(errorBody('uri_too_long', 'a path parameter is too long'));
  } else {
    reply.code(500).send(errorBody('internal_error', 'internal error'));
  }
}

export function installErrorHandler(app: FastifyInstance): void {
  app.setNotFoundHandler((request, reply) => {
    reply
      .code(404)
      .send(errorBody('not_found', `route ${request.method} ${request.url.split('?')[0]} not found`));
  });

  app.setErrorHandler((err: FastifyError, request, reply) => {
    if (hasZodFastifySchemaValidationErrors(err)) {
      const details = err.validation.map((v) => ({
        path: [err.validationContext, ...v.instancePath.split('/').filter(Boolean)].join('.'),
        message: v.message ?? 'invalid',
      }));
      const first = details[0];
      const message = first ? `${first.path}: ${first.message}` : 'request validation failed';
      return reply.code(400).send(errorBody('validation_failed', message, details));
    }
    if (err instanceof HttpError) {
      return reply.code(err.statusCode).send(errorBody(err.code, err.message, err.details));
    }
    if (err instanceof ChecksBusy) {
      reply.header('retry-after', String(CHECK_RETRY_SECONDS));
      return reply.code(429).send(errorBody('rate_limited', err.message));
    }
    if (err instanceof InvalidCursorError) {
      const bad = badRequest('querystring.cursor', 'invalid cursor');
      return reply.code(400).send(errorBody(bad.code, bad.message, bad.details));
    }
    const pgCode = postgresCode(err);
    if (pgCode === '23505')
      return reply.code(409).send(errorBody('conflict', 'a record with these values exists'));
    if (pgCode && malformedValueCodes.has(pgCode)) {
      // Safety net: validation should have caught this, but bad input is never a 500. A NUL is
      // the usual cause, and the request shows where it is.
      const path = nulPath(request);
      const nul = path ? badRequest(path, 'must not contain NUL characters') : null;
      if (nul) return reply.code(400).send(errorBody(nul.code, nul.message, nul.details));
      return reply.code(400).send(errorBody('validation_failed', 'a value is out of range or malformed'));
    }
    const status = err.statusCode ?? 500;
    if (status === 429) return reply.code(429).send(errorBody('rate_limited', err.message));
    if (status >= 400 && status < 500) {
      const code = fastifyCodes[err.code] ?? (status === 413 ? 'payload_too_large' : 'bad_request');
      if (err.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || err.name === 'SyntaxError') {
        return reply.code(400).send(errorBody('invalid_json', 'body is not valid JSON'));
      }
      return reply.code(status).send(errorBody(code, err.message));
    }
    request.log.error({ err }, 'unhandled error');
    // 5xx details stay in the logs, never in the response.
    return reply.code(500).send(errorBody('internal_error', 'internal error'));
  });
}
