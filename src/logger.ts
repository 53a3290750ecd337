import { DrizzleQueryError } from 'drizzle-orm';
import pino, { type DestinationStream, type Logger } from 'pino';

/** Paths that may carry secrets or message bodies; never logged at any level. */
export const redactPaths = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["webhook-signature"]',
  '*.password',
  '*.pass',
  '*.apiKey',
  '*.secret',
  '*.webhookSecret',
  '*.cookies',
  '*.liAt',
];

/**
 * drizzle's query error carries every bound value (message bodies, reply texts, encrypted secrets)
 * in `params` and in its message and stack; the logged copy keeps the SQL and Postgres' own error.
 */
export function withoutQueryParams(err: Error): Error {
  if (!(err instanceof DrizzleQueryError)) return err;
  const safe = new Error(`Failed query: ${err.query}`, { cause: err.cause });
  safe.name = 'DrizzleQueryError';
  const header = `${err.name}: ${err.message}`;
  const frames = err.stack?.startsWith(header) ? err.stack.slice(header.length) : '';
  safe.stack = `${safe.name}: ${safe.message}${frames}`;
  return safe;
}

/** Unsubscribe and tracking links carry a token in the path: the log keeps the route, not the token. */
export const scrubUrl = (url: string) => url.replace(/^\/(u|t\/o|t\/c)\/[^/?#]+/, '/$1/[token]');

type RequestLike = {
  method?: string;
  url?: string;
  hostname?: string;
  ip?: string;
  socket?: { remotePort?: number };
};

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      redact: { paths: redactPaths, censor: '[redacted]' },
      serializers: {
        err: (err: Error) => pino.stdSerializers.err(withoutQueryParams(err)),
        req: (req: RequestLike) => ({
          method: req.method,
          url: scrubUrl(req.url ?? ''),
          host: req.hostname,
          remoteAddress: req.ip,
          remotePort: req.socket?.remotePort,
        }),
      },
      base: { service: 'outreach' },
    },
    destination,
  );
}
