import { z } from 'zod';
import { TimeZone } from './time-zone';
import { templateError } from './templates';
import { type ResolvedStep, Step } from './steps';
import { pathIssues, resolveStepIds } from './sequence-paths';

const HHMM = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be HH:MM (24h)');

export const Schedule = z.object({
  timezone: TimeZone.optional(),
  /** ISO weekdays: 1 = Monday … 7 = Sunday. */
  days: z.array(z.number().int().min(1).max(7)).min(1).max(7),
  start: HHMM,
  end: HHMM,
  /**
   * Public holidays of the lead's country (else the workspace's) are not business days for waits
   * nor sending days for the window. Absent means true.
   */
  skipHolidays: z.boolean().optional(),
  /**
   * Where a step pushed to the opening of the window lands: `window` (absent) a fixed point of the
   * whole window for each lead and step, a number of minutes that point within the first N minutes,
   * `none` the opening itself. A step already inside the window is never delayed.
   */
  spread: z.union([z.enum(['window', 'none']), z.number().int().min(1).max(1440)]).optional(),
});
export type Schedule = z.infer<typeof Schedule>;

/** What a human reply says, as the reply-intent classifier reads it (`src/core/reply-intent.ts`). */
export const ReplyIntent = z.enum(['interested', 'not_interested', 'out_of_office', 'unsubscribe', 'other']);
export type ReplyIntent = z.infer<typeof ReplyIntent>;

const StageKey = z.string().min(1).max(64);

export const SequenceSettings = z.object({
  stopOnReply: z.boolean().default(true),
  stopCompanyOnReply: z.boolean().default(false),
  /**
   * Where a reply moves the lead: `byClass` by what the reply says, else `stage`, else (no rule) the
   * early open stages move to `contacted`. A move never goes backwards nor out of a closed stage.
   */
  onReply: z
    .object({
      stage: StageKey.optional(),
      byClass: z.partialRecord(ReplyIntent, StageKey).optional(),
    })
    .optional(),
  onComplete: z.object({ stage: StageKey }).optional(),
  /** Where the lead moves when the cadence first reaches it (its first email, invitation or message). */
  onFirstTouch: z.object({ stage: StageKey }).optional(),
  /** Moving the lead to a won or lost stage stops this sequence's enrollment (default); false opts out. */
  stopOnClose: z.boolean().default(true),
  trackOpens: z.boolean().default(false),
  trackClicks: z.boolean().default(false),
  /** Once a variant wins (see `abConfidence`, `abMinSample`), send only the winner. */
  abAutoPromote: z.boolean().default(false),
  /** Confidence of the two-proportion test that declares a winner. */
  abConfidence: z.number().min(0.5).max(0.9999).default(0.95),
  /** Sends each variant needs before any decision. */
  abMinSample: z.number().int().min(1).max(1_000_000).default(100),
});
export type SequenceSettings = z.infer<typeof SequenceSettings>;

/** Steps, schedule and settings: what a sequence version pins. Cross-step rules are checked here. */
export const SequenceDefinitionInput = z
  .object({
    steps: z.array(Step).min(1).max(100),
    schedule: Schedule.optional(),
    settings: SequenceSettings.prefault({}),
  })
  .superRefine((def, ctx) => {
    const ids = resolveStepIds(def.steps);
    const seen = new Map<string, number>();
    ids.forEach((id, i) => {
      if (seen.has(id))
        ctx.addIssue({ code: 'custom', path: ['steps', i, 'id'], message: `duplicate step id "${id}"` });
      seen.set(id, i);
    });
    let targetsOk = true;
    def.steps.forEach((step, i) => {
      for (const [key, target] of jumpTargets(step)) {
        const at = seen.get(target);
        if (at === undefined) {
          targetsOk = false;
          ctx.addIssue({ code: 'custom', path: ['steps', i, key], message: `unknown step id "${target}"` });
        } else if (at <= i) {
          targetsOk = false;
          // Steps run forward; a jump back to an earlier (or the same) step would loop for ever.
          ctx.addIssue({
            code: 'custom',
            path: ['steps', i, key],
            message: `${step.type} to "${target}" makes a cycle`,
          });
        }
      }
      for (const [field, source] of templateFields(step)) {
        const error = templateError(source);
        if (error)
          ctx.addIssue({
            code: 'custom',
            path: ['steps', i, ...field],
            message: `template does not parse: ${error}`,
          });
      }
    });
    if (targetsOk && seen.size === ids.length)
      for (const issue of pathIssues(def.steps, ids, def.settings))
        ctx.addIssue({ code: 'custom', ...issue });
    if (!def.steps.some((s) => s.type !== 'wait')) {
      ctx.addIssue({
        code: 'custom',
        path: ['steps'],
        message: 'a sequence needs at least one step besides waits',
      });
    }
  });
export type SequenceDefinitionInput = z.input<typeof SequenceDefinitionInput>;
/** A definition after parsing (defaults applied), before step ids are resolved. */
export type ParsedDefinition = z.output<typeof SequenceDefinitionInput>;

/** A stored, validated definition: defaults applied and every step has an id. */
export type SequenceDefinition = {
  steps: ResolvedStep[];
  schedule?: Schedule;
  settings: SequenceSettings;
};

export function resolveDefinition(parsed: ParsedDefinition): SequenceDefinition {
  const ids = resolveStepIds(parsed.steps);
  return {
    steps: parsed.steps.map((s, i) => ({ ...s, id: ids[i] ?? `s${i + 1}` })),
    schedule: parsed.schedule,
    settings: parsed.settings,
  };
}

/** Every Liquid template a step carries, with its path inside the step. */
export function templateFields(step: Step): [(string | number)[], string][] {
  switch (step.type) {
    case 'email':
      return [
        ...(step.subject ? [[['subject'], step.subject] as [(string | number)[], string]] : []),
        [['body'], step.body],
        ...(step.variants ?? []).flatMap((v, j): [(string | number)[], string][] => [
          [['variants', j, 'body'], v.body],
          ...(v.subject ? [[['variants', j, 'subject'], v.subject] as [(string | number)[], string]] : []),
        ]),
      ];
    case 'linkedin_invite':
      return step.note ? [[['note'], step.note]] : [];
    case 'linkedin_message':
      return [[['body'], step.body]];
    case 'task':
      return [[['title'], step.title]];
    default:
      return [];
  }
}

/** The step ids a branch or goto jumps to, with the field that names each. */
function jumpTargets(step: Step): ['then' | 'else' | 'to', string][] {
  if (step.type === 'goto') return [['to', step.to]];
  if (step.type !== 'branch') return [];
  return step.else === undefined
    ? [['then', step.then]]
    : [
        ['then', step.then],
        ['else', step.else],
      ];
}

export const CreateSequenceBody = z.intersection(
  z.object({ name: z.string().trim().min(1).max(200) }),
  SequenceDefinitionInput,
);
