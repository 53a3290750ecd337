import { z } from 'zod';
import { AutomationAction, AutomationTrigger } from '../../core/automations';

export const AutomationBody = z.object({
  name: z.string().trim().min(1).max(200),
  trigger: AutomationTrigger.describe(
    'When the rule acts on a lead: stage_entered, score_reached or lead_created',
  ),
  action: AutomationAction.describe('What it does: enroll in a sequence, move to a stage, or create a task'),
  enabled: z.boolean().default(true),
});
export type AutomationBody = z.infer<typeof AutomationBody>;

export const AutomationPatch = z
  .object({
    name: z.string().trim().min(1).max(200),
    trigger: AutomationTrigger,
    action: AutomationAction,
    enabled: z.boolean(),
  })
  .partial();
export type AutomationPatch = z.infer<typeof AutomationPatch>;

export const Automation = z.object({
  id: z.uuid(),
  name: z.string(),
  trigger: AutomationTrigger,
  action: AutomationAction,
  enabled: z.boolean(),
  runs: z
    .object({
      pending: z.number().int(),
      applied: z.number().int(),
      skipped: z.number().int(),
      failed: z.number().int(),
    })
    .describe('How many leads the rule has acted on, by outcome (once per lead)'),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type Automation = z.infer<typeof Automation>;

export const AutomationList = z.object({ data: z.array(Automation) });
