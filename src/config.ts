import { z } from 'zod';
import { AllowedPrivateTargets } from './lib/allowed-targets';

const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** A URL whose scheme is checked too, so `DATABASE_URL=mysql://…` fails at start-up, not at first query. */
const urlOf = (protocol: RegExp, what: string) => z.url({ protocol, error: `must be a ${what} URL` });
const httpUrl = urlOf(/^https?$/, 'http(s)://');

/** Every environment variable the engine reads (DESIGN.md §6). */
export const Config = z.object({
  DATABASE_URL: urlOf(/^postgres(ql)?$/, 'postgres://').default(
    'postgres://postgres@127.0.0.1:5432/outreach',
  ),
  REDIS_URL: urlOf(/^rediss?$/, 'redis://').default('redis://127.0.0.1:6379'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().min(1).default('0.0.0.0'),
  ADMIN_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  /** 32 bytes as 64 hex chars or base64. Without it a development key is derived and a warning logged. */
  ENCRYPTION_KEY: z
    .string()
    .refine((v) => decodeKey(v) !== null, 'must be 32 bytes, as 64 hex characters or base64')
    .optional(),
  PUBLIC_URL: httpUrl.default('http://localhost:3000'),
  LOG_LEVEL: z.enum(logLevels).default('info'),
  CHROMIUM_PATH: z.string().min(1).default('/usr/bin/chromium'),
  LINKEDIN_BASE_URL: httpUrl.default('https://www.linkedin.com'),
  ROLE: z.enum(['all', 'api', 'worker']).default('all'),
  /** Prefix of every BullMQ key, so several engines (or test runs) can share one Redis. */
  QUEUE_PREFIX: z.string().min(1).default('outreach'),
  /** Seconds that running jobs get to finish after SIGTERM/SIGINT. */
  SHUTDOWN_GRACE_SECONDS: z.coerce.number().int().min(0).max(600).default(25),
  /** A claimed step run older than this without an outcome becomes `ambiguous` (never resent). */
  STEP_LEASE_SECONDS: z.coerce.number().int().min(1).max(86_400).default(600),
  /** Only runs due within this horizon sit in Redis; the feeder moves later ones in from Postgres. */
  QUEUE_HORIZON_SECONDS: z.coerce.number().int().min(1).max(86_400).default(900),
  /** How often the feeder, reconciler and resume loops run. */
  MAINTENANCE_INTERVAL_SECONDS: z.coerce.number().min(0.1).max(3600).default(10),
  /**
   * Step jobs one worker process runs at once. More in flight makes bigger claim and advance
   * batches, but a crash leaves more sends ambiguous: see docs/decisions.md.
   */
  STEP_CONCURRENCY: z.coerce.number().int().min(1).max(1000).default(25),
  /** Seconds an SMTP server may stay silent (connect, greeting, any reply) before a send is given up. */
  SMTP_TIMEOUT_SECONDS: z.coerce.number().int().min(1).max(600).default(60),
  /** Requests per minute per API key. */
  RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).default(1200),
  /**
   * Private addresses webhook endpoints and mail servers may reach: hosts, addresses or CIDRs, each
   * with an optional `:port`, comma-separated. Unset: none (docs/decisions.md, "Outbound targets").
   */
  ALLOWED_PRIVATE_TARGETS: AllowedPrivateTargets,
});
export type Config = z.infer<typeof Config>;

export class ConfigError extends Error {}

/** Parses the environment; the error names the first failing variable in one line. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // Empty strings mean "unset", as in most .env tooling.
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = Config.safeParse(cleaned);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const name = issue?.path.join('.') ?? 'environment';
  throw new ConfigError(`Invalid configuration: ${name}: ${issue?.message ?? 'invalid'}`);
}

export function decodeKey(value: string): Buffer | null {
  if (/^[0-9a-fA-F]{64}$/.test(value)) return Buffer.from(value, 'hex');
  const b = Buffer.from(value, 'base64');
  return b.length === 32 ? b : null;
}
