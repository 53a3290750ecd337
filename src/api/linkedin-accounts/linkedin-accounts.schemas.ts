import { z } from 'zod';
import { ExportedCookie, hasSessionCookie, SESSION_COOKIE } from '../../channels/linkedin/session';
import { Schedule } from '../../core/sequences';

export const accountStatuses = ['active', 'paused', 'challenged', 'expired', 'layout_unrecognized'] as const;

/** A BCP 47 language tag (`de-DE`, `fr`), as Chromium takes it: the language the account's browser asks for. */
const Locale = z
  .string()
  .trim()
  .max(35)
  .regex(/^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$/, 'must be a language tag such as de-DE')
  .refine((tag) => {
    try {
      return Intl.getCanonicalLocales(tag).length === 1;
    } catch {
      return false;
    }
  }, 'must be a language tag such as de-DE')
  .describe("Language the account's browser presents, e.g. `de-DE`. Unset: the browser's default.");

const NoteQuota = z
  .enum(['fail', 'send_without_note'])
  .describe(
    "When LinkedIn's free invitation notes are used up: `fail` the invite step (default), or `send_without_note`.",
  );

export const LinkedInLimitsInput = z
  .object({
    invitesPerWeek: z.number().int().min(0).max(1000).optional(),
    messagesPerDay: z.number().int().min(0).max(1000).optional(),
    visitsPerDay: z.number().int().min(0).max(2000).optional(),
  })
  .strict();

/** Working hours use the sequence schedule shape: ISO weekdays, `HH:MM` start and end, a zone. */
export const WorkingHours = Schedule;

const Cookies = z
  .array(ExportedCookie)
  .min(1)
  .max(300)
  .refine(hasSessionCookie, `must include the ${SESSION_COOKIE} cookie`);
const LiAt = z.string().trim().min(10).max(4096);

/** The session comes as the whole exported cookie list or as the `li_at` value alone, not both. */
function oneSession(body: { cookies?: unknown; liAt?: unknown }, ctx: z.RefinementCtx, required: boolean) {
  if (body.cookies !== undefined && body.liAt !== undefined) {
    ctx.addIssue({ code: 'custom', path: ['liAt'], message: 'give either cookies or liAt, not both' });
  } else if (required && body.cookies === undefined && body.liAt === undefined) {
    ctx.addIssue({ code: 'custom', path: ['cookies'], message: 'give the exported cookies or liAt' });
  }
}

export const CreateLinkedInAccountBody = z
  .object({
    name: z.string().trim().min(1).max(200),
    cookies: Cookies.optional(),
    liAt: LiAt.optional(),
    limits: LinkedInLimitsInput.optional(),
    workingHours: WorkingHours.optional(),
    locale: Locale.optional(),
    whenNoteQuotaExhausted: NoteQuota.optional(),
  })
  .superRefine((body, ctx) => oneSession(body, ctx, true));
export type CreateLinkedInAccountBody = z.infer<typeof CreateLinkedInAccountBody>;

export const UpdateLinkedInAccountBody = z
  .object({
    name: z.string().trim().min(1).max(200).optional(),
    cookies: Cookies.optional(),
    liAt: LiAt.optional(),
    limits: LinkedInLimitsInput.optional(),
    workingHours: WorkingHours.nullable().optional(),
    locale: Locale.nullable().optional(),
    whenNoteQuotaExhausted: NoteQuota.optional(),
    /**
     * Only a person sets these two; `challenged`, `expired` and `layout_unrecognized` come from
     * what LinkedIn shows. Setting `active` resumes the account after any of them.
     */
    status: z.enum(['active', 'paused']).optional(),
  })
  .superRefine((body, ctx) => oneSession(body, ctx, false));
export type UpdateLinkedInAccountBody = z.infer<typeof UpdateLinkedInAccountBody>;

export const LinkedInAccount = z.object({
  id: z.uuid(),
  name: z.string(),
  status: z.enum(accountStatuses),
  statusReason: z.string().nullable(),
  limits: z.object({ invitesPerWeek: z.number(), messagesPerDay: z.number(), visitsPerDay: z.number() }),
  workingHours: WorkingHours.nullable(),
  usage: z
    .object({ invites: z.number(), messages: z.number(), visits: z.number() })
    .describe('Actions in the current rolling windows: invitations over 7 days, the rest over 24 hours.'),
  locale: z.string().nullable(),
  whenNoteQuotaExhausted: NoteQuota,
  layoutCheck: z
    .object({ at: z.string(), recognised: z.boolean(), unrecognised: z.array(z.string()) })
    .nullable()
    .describe(
      "The canary's last look at the account's own profile and inbox: the page objects it did not recognise.",
    ),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type LinkedInAccount = z.infer<typeof LinkedInAccount>;
