import { z } from 'zod';
import { templateError } from './templates';

const StageKey = z.string().min(1).max(64);

/**
 * What starts a rule, for one lead: it enters a stage (by any path: API, reply, step, score,
 * clean-up, import), its score reaches a threshold through its activity, or it is created (from a
 * given source: `api`, `import`…, or any). A rule acts at most once per lead.
 */
export const AutomationTrigger = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('stage_entered'), stage: StageKey }),
  z.strictObject({ type: z.literal('score_reached'), threshold: z.number().int().min(1).max(1_000_000) }),
  z.strictObject({
    type: z.literal('lead_created'),
    source: z
      .string()
      .regex(/^[a-z_]{1,32}$/, 'a source such as api or import')
      .optional(),
  }),
]);
export type AutomationTrigger = z.infer<typeof AutomationTrigger>;

/** What a rule does: enroll the lead in a sequence, move it to a stage, or give someone a task. */
export const AutomationAction = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('enroll'), sequenceId: z.uuid() }),
  z.strictObject({ type: z.literal('move'), stage: StageKey }),
  z.strictObject({
    type: z.literal('task'),
    title: z
      .string()
      .trim()
      .min(1)
      .max(500)
      .superRefine((title, ctx) => {
        const error = templateError(title);
        if (error) ctx.addIssue({ code: 'custom', message: `template does not parse: ${error}` });
      }),
    kind: z.enum(['call', 'manual']).default('manual'),
    assignee: z.string().trim().min(1).max(200).optional(),
    dueInDays: z.number().int().min(0).max(365).optional(),
  }),
]);
export type AutomationAction = z.infer<typeof AutomationAction>;
