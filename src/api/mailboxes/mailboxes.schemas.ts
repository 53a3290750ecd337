import { z } from 'zod';
import { PageQuery } from '../http/schemas';
import { Email } from '../../lib/identity';

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

export const Warmup = z.object({
  startLimit: z.number().int().min(1).max(100_000),
  increasePerDay: z.number().min(0).max(100_000),
  /** The ramp's first day (YYYY-MM-DD); defaults to the day it is set. */
  startedAt: z.iso.date().optional(),
});
export type Warmup = z.infer<typeof Warmup>;

const DailyLimit = z.number().int().min(1).max(100_000);
const MinInterval = z.number().int().min(0).max(86_400);

export const CreateMailboxBody = z.object({
  name: z.string().trim().min(1).max(200),
  fromEmail: Email,
  fromName: OneLine(200).optional(),
  smtp: Smtp,
  dailyLimit: DailyLimit.default(50),
  minIntervalSeconds: MinInterval.default(60),
  warmup: Warmup.optional(),
});
export type CreateMailboxBody = z.infer<typeof CreateMailboxBody>;

export const UpdateMailboxBody = z.object({
  name: z.string().trim().min(1).max(200).optional(),
  fromEmail: Email.optional(),
  fromName: OneLine(200).nullable().optional(),
  smtp: SmtpPatch.optional(),
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
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type Mailbox = z.infer<typeof Mailbox>;
