import { z } from 'zod';
import { stageKinds } from '../../db/schema/index';
import { attributeFields, unscoredEventTypes } from '../../core/scoring';
import { Text } from '../../core/text-input';

export const StageKey = z
  .string()
  .regex(/^[a-z][a-z0-9_]{0,49}$/, 'must be lower-case letters, digits or _, starting with a letter');

export const Stage = z.object({
  key: z.string(),
  name: z.string(),
  kind: z.enum(stageKinds),
  position: z.number().int(),
  /** Days in the stage after which the board marks a card stale (amber; red at twice); null: never. */
  staleDays: z.number().int().nullable(),
});
export type Stage = z.infer<typeof Stage>;
export const StageList = z.object({ data: z.array(Stage) });

export const StageInput = z.object({
  key: StageKey,
  name: Text(100, 1),
  kind: z.enum(stageKinds),
  staleDays: z.number().int().min(1).max(3650).nullable().optional(),
});

export const ReplaceStagesBody = z
  .object({
    stages: z.array(StageInput).min(1).max(50),
    /** Where the leads of each removed stage go: `{ "<removed key>": "<kept key>" }`. */
    moveLeadsTo: z.record(StageKey, StageKey).optional(),
  })
  .superRefine((body, ctx) => {
    const seen = new Set<string>();
    body.stages.forEach((s, i) => {
      if (seen.has(s.key))
        ctx.addIssue({ code: 'custom', path: ['stages', i, 'key'], message: 'duplicate key' });
      seen.add(s.key);
    });
    for (const [from, to] of Object.entries(body.moveLeadsTo ?? {})) {
      if (seen.has(from))
        ctx.addIssue({ code: 'custom', path: ['moveLeadsTo', from], message: 'stage is not being removed' });
      if (!seen.has(to))
        ctx.addIssue({
          code: 'custom',
          path: ['moveLeadsTo', from],
          message: `"${to}" is not in the new stages`,
        });
    }
  });
export type ReplaceStagesBody = z.infer<typeof ReplaceStagesBody>;

export const BoardQuery = z.object({
  /** How many leads (most recently updated first) to include per stage. */
  limit: z.coerce.number().int().min(0).max(100).default(10),
});

export const CleanupBody = z.object({
  staleDays: z.number().int().min(1).max(3650),
  toStage: StageKey,
});
export const CleanupResult = z.object({ moved: z.number().int() });

export const CleanupSchedule = CleanupBody.extend({
  everyHours: z
    .number()
    .int()
    .min(1)
    .max(24 * 90),
});
export type CleanupSchedule = z.infer<typeof CleanupSchedule>;
export const CleanupScheduleView = z.object({
  schedule: CleanupSchedule.nullable(),
  lastRunAt: z.string().nullable(),
});

const EventType = z
  .string()
  .max(100)
  .regex(/^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$/, 'must be an event type such as email.opened')
  .refine((t) => !unscoredEventTypes.has(t), 'stage changes are not scored');

const Points = z.number().int().min(-1000).max(1000);

export const AttributeField = z.union([
  z.enum(attributeFields),
  z.string().regex(/^custom\.[A-Za-z0-9_-]{1,100}$/, 'must be a lead field or custom.<key>'),
]);

export const ScoringRulesBody = z.object({
  events: z.record(EventType, Points).default({}),
  attributes: z
    .array(z.object({ field: AttributeField, contains: Text(200, 1), points: Points }))
    .max(100)
    .default([]),
  qualifyThreshold: z.number().int().min(1).max(1_000_000).nullable().default(null),
  qualifyFrom: z
    .string()
    .min(1)
    .max(64)
    .nullable()
    .default(null)
    .describe('Stage a lead is promoted from; null: the first open stage of the pipeline.'),
  qualifyTo: z
    .string()
    .min(1)
    .max(64)
    .nullable()
    .default(null)
    .describe('Stage a lead is promoted to; null: the open stage after `qualifyFrom`.'),
});
export const ScoringRulesView = z.object({
  events: z.record(z.string(), z.number()),
  attributes: z.array(z.object({ field: z.string(), contains: z.string(), points: z.number() })),
  qualifyThreshold: z.number().nullable(),
  qualifyFrom: z.string().nullable(),
  qualifyTo: z.string().nullable(),
});
