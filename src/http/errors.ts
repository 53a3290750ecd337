import type { FastifyError, FastifyInstance } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { z } from 'zod';

export const ErrorBody = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    details: z.array(z.unknown()).optional(),
  }),
});
export type ErrorBody = z.infer<typeof ErrorBody>;

export type ErrorDetail = { path: string; message: string };

/** An error meant for the client: the handler turns it into the DESIGN.md §5 error shape. */
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

/** Fastify's own client errors, by code, mapped to our error codes. */
const fastifyCodes: Record<string, string> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'payload_too_large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'invalid_body',
  FST_ERR_CTP_INVALID_JSON_BODY: 'invalid_json',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'invalid_body',
};

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
    const pgCode = (err as { code?: string }).code;
    if (pgCode === '23505')
      return reply.code(409).send(errorBody('conflict', 'a record with these values exists'));
    if (pgCode && ['22P02', '22003', '22007', '22008', '22001', '54000'].includes(pgCode)) {
      // Safety net: validation should have caught this, but bad input is never a 500.
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
