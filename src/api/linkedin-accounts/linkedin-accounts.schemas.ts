import { z } from 'zod';
import { ExportedCookie, hasSessionCookie, SESSION_COOKIE } from '../../channels/linkedin/session';
import { Schedule } from '../../core/sequences';

export const accountStatuses = ['active', 'paused', 'challenged', 'expired'] as const;

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
    /** Only a person sets these two; `challenged` and `expired` come from what LinkedIn shows. */
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
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type LinkedInAccount = z.infer<typeof LinkedInAccount>;
