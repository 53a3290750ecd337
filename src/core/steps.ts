import { stepTypesOf } from './step-types';
import { z } from 'zod';

const StepId = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, _ and - only, at most 64')
  .optional();

const Template = z.string().min(1).max(100_000);

export const EmailVariant = z.object({
  subject: z.string().min(1).max(998).optional(),
  body: Template,
  weight: z.number().positive().max(1000).default(1),
});

/**
 * The step's own subject and body are variant A; `variants` add B, C… (docs/design.md §7). The
 * subject may be left out on a `thread: "reply"` step, which reuses its thread's subject; the
 * sequence checks that such a step always follows an email (`src/core/sequence-paths.ts`).
 */
export const EmailStep = z.object({
  id: StepId,
  type: z.literal('email'),
  subject: z.string().min(1).max(998).optional(),
  body: Template,
  thread: z.enum(['new', 'reply']).default('new'),
  mailboxId: z.uuid().optional(),
  /** Variant A's weight against the `variants`' weights (1 when left out). */
  weight: z.number().positive().max(1000).optional(),
  variants: z.array(EmailVariant).min(1).max(10).optional(),
});
export type EmailStep = z.infer<typeof EmailStep>;

const MAX_WAIT_SECONDS = 365 * 24 * 3600;

export const WaitStep = z
  .object({
    id: StepId,
    type: z.literal('wait'),
    days: z.number().finite().min(0).max(365).optional(),
    hours: z
      .number()
      .finite()
      .min(0)
      .max(365 * 24)
      .optional(),
    minutes: z
      .number()
      .finite()
      .min(0)
      .max(365 * 24 * 60)
      .optional(),
    seconds: z.number().finite().min(0).max(MAX_WAIT_SECONDS).optional(),
    businessDays: z.boolean().default(false),
  })
  .superRefine((step, ctx) => {
    const total = waitSeconds(step);
    // Under a second is zero for a scheduler (and 1e-300 days is not a wait).
    if (!(total >= 1))
      ctx.addIssue({ code: 'custom', message: 'a wait must be at least 1 second', path: ['days'] });
    if (total > MAX_WAIT_SECONDS)
      ctx.addIssue({ code: 'custom', message: 'a wait cannot exceed 365 days', path: ['days'] });
    if (step.businessDays && (step.hours || step.minutes || step.seconds)) {
      ctx.addIssue({
        code: 'custom',
        message: 'business-day waits count whole days only',
        path: ['businessDays'],
      });
    }
  });
export type WaitStep = z.infer<typeof WaitStep>;

export function waitSeconds(step: {
  days?: number;
  hours?: number;
  minutes?: number;
  seconds?: number;
}): number {
  return (step.days ?? 0) * 86400 + (step.hours ?? 0) * 3600 + (step.minutes ?? 0) * 60 + (step.seconds ?? 0);
}

export const LinkedInVisitStep = z.object({ id: StepId, type: z.literal('linkedin_visit') });
export const LinkedInInviteStep = z.object({
  id: StepId,
  type: z.literal('linkedin_invite'),
  note: z.string().max(300, 'a LinkedIn invitation note is at most 300 characters').optional(),
});
export const LinkedInMessageStep = z.object({
  id: StepId,
  type: z.literal('linkedin_message'),
  body: Template,
});
export const TaskStep = z.object({
  id: StepId,
  type: z.literal('task'),
  title: z.string().min(1).max(500),
  kind: z.enum(['call', 'manual']).default('manual'),
});
export const StageStep = z.object({ id: StepId, type: z.literal('stage'), stage: z.string().min(1).max(64) });

export const BranchCondition = z.union([
  z.object({ opened: z.literal(true) }).strict(),
  z.object({ clicked: z.literal(true) }).strict(),
  z.object({ linkedinConnected: z.literal(true) }).strict(),
  z.object({ hasEmail: z.literal(true) }).strict(),
  z.object({ hasLinkedin: z.literal(true) }).strict(),
  z.object({ stageIn: z.array(z.string().min(1)).min(1) }).strict(),
]);
export type BranchCondition = z.infer<typeof BranchCondition>;

export const BranchStep = z.object({
  id: StepId,
  type: z.literal('branch'),
  if: BranchCondition,
  then: z.string().min(1),
  else: z.string().min(1).optional(),
});

/** Ends the path: the enrollment completes here (onComplete applies). */
export const EndStep = z.object({ id: StepId, type: z.literal('end') });
/** Jumps forward to a step, so a branch's path can rejoin another explicitly. */
export const GotoStep = z.object({ id: StepId, type: z.literal('goto'), to: z.string().min(1) });

export const Step = z.discriminatedUnion('type', [
  EmailStep,
  WaitStep,
  LinkedInVisitStep,
  LinkedInInviteStep,
  LinkedInMessageStep,
  TaskStep,
  StageStep,
  BranchStep,
  EndStep,
  GotoStep,
]);
export type Step = z.infer<typeof Step>;
/**
 * A step after validation: every step has an id (`s<index+1>` when the author gave none, unless an
 * author's id already is that, see `resolveStepIds`).
 */
export type ResolvedStep = Step & { id: string };

const linkedinStepTypes: readonly string[] = stepTypesOf('linkedin');
export const isLinkedInStep = (s: Step) => linkedinStepTypes.includes(s.type);

/** One version of an email step: A is the step's own subject and body, then its `variants`. */
export type EmailVersion = { subject: string | undefined; body: string; weight: number };

export function emailVersions(step: EmailStep): EmailVersion[] {
  const a = { subject: step.subject, body: step.body, weight: step.weight ?? 1 };
  return [
    a,
    ...(step.variants ?? []).map((v) => ({
      subject: v.subject ?? step.subject,
      body: v.body,
      weight: v.weight,
    })),
  ];
}

/** A version's letter: 0 is A. */
export const variantLabel = (index: number) => String.fromCharCode(65 + index);
