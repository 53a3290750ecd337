import { z } from 'zod';
import { stageKinds } from '../../db/schema/index';

const Instant = z.iso.datetime({ offset: true }).transform((v) => new Date(v));

export const FunnelQuery = z
  .object({
    /** Start of the period (inclusive); default: 30 days before `to`. */
    from: Instant.optional(),
    /** End of the period (inclusive); default: now. */
    to: Instant.optional(),
  })
  .refine((q) => !q.from || !q.to || q.from <= q.to, { path: ['from'], message: 'must not be after to' });

export const FunnelStage = z.object({
  key: z.string(),
  name: z.string(),
  kind: z.enum(stageKinds),
  /** Leads that entered this stage during the period (each lead once). */
  entered: z.number().int(),
  nextStage: z.string().nullable(),
  /** Of those, leads that later reached the next stage (or skipped past it to a later, non-lost stage). */
  reachedNext: z.number().int(),
  /** reachedNext / entered; null when nobody entered or there is no next stage. */
  conversionRate: z.number().nullable(),
  /** Median time between entering the stage and the lead's next stage change; leads still in it are left out. */
  medianSecondsInStage: z.number().nullable(),
});

export const Funnel = z.object({ from: z.string(), to: z.string(), data: z.array(FunnelStage) });
export type Funnel = z.infer<typeof Funnel>;
