import { z } from 'zod';
import { PageQuery } from '../http/schemas';
import { Email } from '../../lib/identity';
import { Text } from '../../core/text-input';
import { inboxStatuses, oauth2Providers } from '../../db/schema/index';

const OneLine = (max: number) =>
  z
    .string()
    .max(max)
    .refine((v) => !/[\r\n]/.test(v), 'must not contain line breaks');

const Host = z
  .string()
  .trim()
  .min(1)
  .max(255)
  .regex(/^[A-Za-z0-9.\-:[\]]+$/, 'must be a host name or an IP address');

const SmtpTls = z
  .enum(['required', 'none'])
  .describe(
    '`required` (the default): no session, so no credentials and no message, without TLS (implicit with ' +
      '`secure`, else STARTTLS). `none`: plain SMTP is allowed, for a local sink; STARTTLS is still used when offered.',
  );

const Smtp = z.object({
  host: Host,
  port: z.number().int().min(1).max(65535),
  /** Implicit TLS (port 465); otherwise STARTTLS, required unless `tls` is `none`. */
  secure: z.boolean().optional(),
  tls: SmtpTls.default('required'),
  user: OneLine(320).optional(),
  pass: z.string().max(1000).optional(),
});

const SmtpPatch = z.object({
  host: Host.optional(),
  port: z.number().int().min(1).max(65535).optional(),
  secure: z.boolean().optional(),
  tls: SmtpTls.optional(),
  user: OneLine(320).nullable().optional(),
  pass: z.string().max(1000).nullable().optional(),
});

const Port = z.number().int().min(1).max(65535);
const Folder = z
  .string()
  .trim()
  .min(1)
  .max(200)
  .refine(
    (v) => ![...v].some((c) => c.charCodeAt(0) < 0x20 || c === '\x7f'),
    'must not contain control characters',
  );

const Imap = z.object({
  host: Host,
  port: Port.default(993),
  /** Implicit TLS (port 993); otherwise STARTTLS, required unless `tls` is `none`. */
  secure: z.boolean().optional(),
  tls: SmtpTls.default('required'),
  user: OneLine(320).optional().describe('Defaults to the SMTP user'),
  pass: z.string().max(1000).optional().describe('Defaults to the SMTP password'),
  folders: z
    .array(Folder)
    .min(1)
    .max(20)
    .optional()
    .describe('Folders read for inbound mail; default INBOX and the junk folder when the server has one'),
});

const OAuth2 = z
  .object({
    provider: z.enum(oauth2Providers),
    clientId: OneLine(500).pipe(z.string().min(1)),
    clientSecret: z.string().max(2000),
    refreshToken: z.string().min(1).max(8000),
    tokenUrl: z
      .url({ protocol: /^https?$/, error: 'must be an http(s) URL' })
      .max(2000)
      .optional()
      .describe('Required for `custom`; for `microsoft`, a tenant-specific endpoint'),
    user: OneLine(320)
      .pipe(z.string().min(1))
      .describe('The account signed in (usually the mailbox address)'),
  })
  .refine((o) => o.provider !== 'custom' || o.tokenUrl !== undefined, {
    message: 'is required when provider is custom',
    path: ['tokenUrl'],
  });
export type OAuth2Input = z.infer<typeof OAuth2>;
export type ImapInput = z.infer<typeof Imap>;

export const Warmup = z.object({
  startLimit: z.number().int().min(1).max(100_000),
  increasePerDay: z.number().min(0).max(100_000),
  /** The ramp's first day (YYYY-MM-DD); defaults to the day it is set. */
  startedAt: z.iso.date().optional(),
});
export type Warmup = z.infer<typeof Warmup>;

const DailyLimit = z.number().int().min(1).max(100_000);
/** Plain text, several lines allowed; printed by `{{ sender.signature }}` (HTML bodies escape it). */
export const MAX_SIGNATURE_CHARS = 2000;
const Signature = Text(MAX_SIGNATURE_CHARS);
const MinInterval = z.number().int().min(0).max(86_400);

export const CreateMailboxBody = z.object({
  name: z.string().trim().min(1).max(200),
  fromEmail: Email,
  fromName: OneLine(200).optional(),
  signature: Signature.optional(),
  smtp: Smtp.optional().describe(
    'Required unless `oauth2.provider` is google or microsoft (their servers are the default)',
  ),
  imap: Imap.optional().describe('The inbox read for replies; default for google and microsoft OAuth2'),
  oauth2: OAuth2.optional(),
  dailyLimit: DailyLimit.default(50),
  minIntervalSeconds: MinInterval.default(60),
  warmup: Warmup.optional(),
});
export type CreateMailboxBody = z.infer<typeof CreateMailboxBody>;

export const UpdateMailboxBody = z.object({
  name: z.string().trim().min(1).max(200).optional(),
  fromEmail: Email.optional(),
  fromName: OneLine(200).nullable().optional(),
  signature: Signature.nullable().optional(),
  smtp: SmtpPatch.optional(),
  imap: Imap.nullable().optional().describe('Replaces the inbox settings; null stops reading the inbox'),
  oauth2: OAuth2.nullable().optional().describe('Replaces the OAuth2 settings; null goes back to passwords'),
  dailyLimit: DailyLimit.optional(),
  minIntervalSeconds: MinInterval.optional(),
  warmup: Warmup.nullable().optional(),
  status: z.enum(['active', 'paused']).optional(),
});
export type UpdateMailboxBody = z.infer<typeof UpdateMailboxBody>;

export const ListMailboxesQuery = PageQuery.extend({ status: z.enum(['active', 'paused']).optional() });

/** The API view: SMTP user and password are never returned, only whether credentials are set. */
export const Mailbox = z.object({
  id: z.uuid(),
  name: z.string(),
  fromEmail: z.string(),
  fromName: z.string().nullable(),
  signature: z.string().nullable(),
  dailyLimit: z.number().int(),
  minIntervalSeconds: z.number().int(),
  warmup: Warmup.nullable(),
  status: z.enum(['active', 'paused', 'deleted']),
  smtp: z.object({
    host: z.string(),
    port: z.number().int(),
    secure: z.boolean(),
    tls: SmtpTls,
    hasCredentials: z.boolean(),
  }),
  imap: z
    .object({
      host: z.string(),
      port: z.number().int(),
      secure: z.boolean(),
      tls: SmtpTls,
      hasOwnCredentials: z.boolean().describe('false: it signs in with the SMTP credentials (or OAuth2)'),
      folders: z.array(z.string()).nullable(),
    })
    .nullable(),
  oauth2: z
    .object({
      provider: z.enum(oauth2Providers),
      clientId: z.string(),
      tokenUrl: z.string().nullable(),
      user: z.string(),
    })
    .nullable()
    .describe('The client secret and refresh token are never returned'),
  inbox: z.object({
    status: z
      .enum(inboxStatuses)
      .describe(
        '`connected`: a live session that hears of new mail at once (IDLE); `idle`: read every INBOX_POLL_SECONDS ' +
          '(no IDLE) or waiting for its first session; `auth_failed`: the server or OAuth2 provider refused the ' +
          'credentials; `error`: the last session failed (see lastError), retried with backoff; `disabled`: no inbox',
      ),
    lastSyncAt: z.string().nullable(),
    lastError: z.string().nullable().describe("The server's own words for the last failure"),
    lag: z.number().nullable().describe('Seconds since the inbox was last read in full'),
  }),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type Mailbox = z.infer<typeof Mailbox>;

const Check = z.object({
  ok: z.boolean(),
  error: z.string().nullable().describe("The server's own words when it refused"),
});
export const MailboxVerification = z.object({
  smtp: Check,
  imap: Check.extend({ folders: z.array(z.string()).describe('Folders the account has') }).nullable(),
});
export type MailboxVerification = z.infer<typeof MailboxVerification>;
