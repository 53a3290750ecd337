import { isIP } from 'node:net';
import { z } from 'zod';
import { AllowedPrivateTargets } from './lib/allowed-targets';

const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** A URL whose scheme is checked too, so `DATABASE_URL=mysql://…` fails at start-up, not at first query. */
const urlOf = (protocol: RegExp, what: string) => z.url({ protocol, error: `must be a ${what} URL` });
const httpUrl = urlOf(/^https?$/, 'http(s)://');

/** Every environment variable the engine reads (docs/design.md §6). */
export const Config = z.object({
  DATABASE_URL: urlOf(/^postgres(ql)?$/, 'postgres://').default(
    'postgres://postgres@127.0.0.1:5432/outreach',
  ),
  REDIS_URL: urlOf(/^rediss?$/, 'redis://').default('redis://127.0.0.1:6379'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().min(1).default('0.0.0.0'),
  ADMIN_TOKEN: z
    .string()
    .refine((v) => adminTokenProblem(v) === null, {
      error: (issue) => adminTokenProblem(String(issue.input)),
    })
    .optional(),
  /**
   * 32 bytes as 64 hex chars or base64. Unset: the key in ENCRYPTION_KEY_FILE, generated there on
   * first start (see src/lib/encryption-key.ts).
   */
  ENCRYPTION_KEY: z
    .string()
    .refine((v) => decodeKey(v) !== null, 'must be 32 bytes, as 64 hex characters or base64')
    .optional(),
  /** Where the generated key lives when ENCRYPTION_KEY is unset; relative to the working directory. */
  ENCRYPTION_KEY_FILE: z.string().min(1).default('data/encryption.key'),
  /** Failed authentications per client address per minute before that address is refused (429). */
  AUTH_FAILURES_PER_MINUTE: z.coerce.number().int().min(1).default(30),
  /** Base of unsubscribe and tracking links. Unset: the listening address (see `defaultPublicUrl`). */
  PUBLIC_URL: httpUrl.optional(),
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
  /**
   * Postgres connections one process may open. Steps hold none while a remote server (SMTP,
   * LinkedIn) takes its time, so this does not grow with STEP_CONCURRENCY: see docs/decisions.md.
   */
  DATABASE_POOL_SIZE: z.coerce.number().int().min(12).max(1000).default(20),
  /**
   * SMTP sessions a worker keeps open per mailbox. With slow servers, a worker's email rate is about
   * min(STEP_CONCURRENCY, mailboxes × this) / the server's time per message.
   */
  SMTP_SESSIONS_PER_MAILBOX: z.coerce.number().int().min(1).max(20).default(3),
  /** Seconds an SMTP server may stay silent (connect, greeting, any reply) before a send is given up. */
  SMTP_TIMEOUT_SECONDS: z.coerce.number().int().min(1).max(600).default(60),
  /** Seconds between inbox checks for a server without IDLE (with IDLE, a safety re-check). */
  INBOX_POLL_SECONDS: z.coerce.number().min(1).max(3600).default(60),
  /**
   * How long an ambiguous send is looked for in its mailbox's Sent folder (and inbox) before it is
   * left to an operator: providers file a submitted message within seconds, a slow one in minutes.
   */
  SENT_LOOKUP_GRACE_SECONDS: z.coerce
    .number()
    .int()
    .min(0)
    .max(7 * 86_400)
    .default(900),
  /** Requests per minute per API key. */
  RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).default(1200),
  /**
   * Private addresses webhook endpoints and mail servers may reach: hosts, addresses or CIDRs, each
   * with an optional `:port`, comma-separated. Unset: none (docs/decisions.md, "Outbound targets").
   */
  ALLOWED_PRIVATE_TARGETS: AllowedPrivateTargets,
  /**
   * Name servers the list check (`POST /v1/leads/check`) asks for MX records: addresses with an
   * optional port (`1.1.1.1`, `127.0.0.1:5353`, `[::1]:53`), comma-separated. Unset: the system's.
   */
  DNS_SERVERS: z
    .string()
    .transform((v) =>
      v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    )
    .refine(
      (list) => list.length > 0 && list.every(isDnsServer),
      'must be IP addresses with optional :port, comma-separated',
    )
    .optional(),
  /** Milliseconds one DNS query of the list check may take before its answer counts as unknown. */
  DNS_TIMEOUT_MS: z.coerce.number().int().min(50).max(30_000).default(3000),
});
/** The parsed environment; `PUBLIC_URL` is always set once `loadConfig` has filled its default. */
export type Config = z.infer<typeof Config> & { PUBLIC_URL: string };

export class ConfigError extends Error {}

/** `1.2.3.4`, `1.2.3.4:53`, `::1` or `[::1]:53`: what `dns.Resolver#setServers` takes. */
function isDnsServer(value: string): boolean {
  const bracketed = /^\[([0-9a-fA-F:.]+)\](?::(\d{1,5}))?$/.exec(value);
  const v4 = /^(\d{1,3}(?:\.\d{1,3}){3})(?::(\d{1,5}))?$/.exec(value);
  const port = bracketed?.[2] ?? v4?.[2];
  if (port !== undefined && (Number(port) < 1 || Number(port) > 65535)) return false;
  if (bracketed) return isIP(bracketed[1] ?? '') === 6;
  if (v4) return isIP(v4[1] ?? '') === 4;
  return isIP(value) === 6;
}

/** Parses the environment; the error names the first failing variable in one line. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // Empty strings mean "unset", as in most .env tooling.
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = Config.safeParse(cleaned);
  if (parsed.success)
    return { ...parsed.data, PUBLIC_URL: parsed.data.PUBLIC_URL ?? defaultPublicUrl(parsed.data) };
  const issue = parsed.error.issues[0];
  const name = issue?.path.join('.') ?? 'environment';
  throw new ConfigError(`Invalid configuration: ${name}: ${issue?.message ?? 'invalid'}`);
}

/**
 * Where a browser on this machine reaches the engine: `http://localhost:<PORT>` when it listens on
 * every interface (`0.0.0.0`, `::`) or on loopback, else `http://<HOST>:<PORT>`. A link built on a
 * fixed :3000 would be dead whenever PORT is another port.
 */
export function defaultPublicUrl({ HOST, PORT }: { HOST: string; PORT: number }): string {
  const everywhere = ['0.0.0.0', '::', '[::]', '127.0.0.1', '::1', '[::1]', 'localhost'];
  if (everywhere.includes(HOST)) return `http://localhost:${PORT}`;
  const host = HOST.includes(':') && !HOST.startsWith('[') ? `[${HOST}]` : HOST;
  return `http://${host}:${PORT}`;
}

/**
 * Why a value cannot be the admin token, or null. It guards every workspace, so it must be hard to
 * guess: long, no whitespace, and not a short pattern repeated (`aaaa…`, `abababab…`).
 */
export function adminTokenProblem(value: string): string | null {
  const advice = 'generate one with `openssl rand -hex 32`';
  if (value.length < 16) return `must be at least 16 characters; ${advice}`;
  if (/\s/.test(value)) return `must not contain whitespace; ${advice}`;
  if (new Set(value).size < 8) return `must use at least 8 different characters; ${advice}`;
  return null;
}

export function decodeKey(value: string): Buffer | null {
  if (/^[0-9a-fA-F]{64}$/.test(value)) return Buffer.from(value, 'hex');
  const b = Buffer.from(value, 'base64');
  return b.length === 32 ? b : null;
}
