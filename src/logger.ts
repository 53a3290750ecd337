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

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    { level, redact: { paths: redactPaths, censor: '[redacted]' }, base: { service: 'outreach' } },
    destination,
  );
}
