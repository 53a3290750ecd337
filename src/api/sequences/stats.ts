import { sql } from 'drizzle-orm';
import { z } from 'zod';
import type { Db } from '../../db/client';
import type { SequenceDefinition } from '../../core/sequences';
import { repliedToStepTypes } from '../../core/step-types';
import { emailVersions, variantLabel } from '../../core/steps';
import { type AbDecision, decideWinner, type VariantTally, wilsonInterval } from '../../core/ab-test';
import {
  abSteps,
  creditedReplies,
  type PromotedWinner,
  promotedWinners,
  sameCopyVersions,
} from '../../engine/ab-winners';

type Counts = Record<string, number>;
const round4 = (x: number) => Math.round(x * 10_000) / 10_000;
const rate = (part: number, whole: number) => (whole > 0 ? round4(part / whole) : 0);

const count = z.number().int().min(0);
/** What a step and a variant report about what their messages met. */
const outcomeFields = {
  sent: count.describe('Runs that sent their message (status `sent`)'),
  delivered: count.describe('`sent` less the bounces reported after the message was accepted (a DSN)'),
  replies: count.describe(
    'Human replies credited to the step (one per enrollment, its first): to the message the reply answers, else the last one the lead received before replying',
  ),
  autoReplies: count.describe('Sends answered by an automatic reply (out-of-office, auto-responder)'),
  bounces: count.describe(
    'Sends that bounced for good: refused by the SMTP server (the run is then `failed`) or reported by a DSN',
  ),
  unsubscribes: count.describe(
    'Leads who unsubscribed (link, reply or spam complaint) after this send, credited like replies',
  ),
  replyRate: z.number().min(0).describe('replies ÷ sent, to four decimals; 0 when nothing was sent'),
};

const StepStats = z.object({
  stepId: z.string(),
  type: z.string(),
  scheduled: count,
  claimed: count,
  ...outcomeFields,
  failed: count,
  skipped: count,
  canceled: count,
  ambiguous: count,
  variants: z
    .array(
      z.object({
        variant: z.number().int(),
        label: z.string().describe('`A` for the step itself, `B`, `C`… for its variants'),
        ...outcomeFields,
        interval: z
          .object({ low: z.number(), high: z.number() })
          .describe("Wilson interval of the reply rate at the test's confidence"),
      }),
    )
    .describe(
      'An email step with variants: per variant, over the versions whose copy of the step is the current one (an edit of the copy starts a new test)',
    ),
  decision: z
    .object({
      status: z.string(),
      winner: z.string().optional(),
      confidence: z.number(),
      pValue: z.number().optional(),
      minSample: z.number().int(),
      promoted: z.object({ winner: z.string(), at: z.string() }).nullable(),
    })
    .nullable()
    .describe('The A/B test of an email step with variants, else null'),
});

export const SequenceStatsOut = z.object({
  sequenceId: z.uuid(),
  enrolled: count,
  active: count,
  paused: count,
  completed: count,
  replied: count,
  stopped: count,
  bounced: count,
  unsubscribed: count,
  failed: count,
  replyRate: z.number().min(0).describe('Enrollments `replied` ÷ enrolled'),
  steps: z.array(StepStats).describe('Every step that runs (waits, ends and gotos excepted), in order'),
});
export type SequenceStats = z.infer<typeof SequenceStatsOut>;
type Outcomes = z.infer<z.ZodObject<typeof outcomeFields>>;

/** One group of the figures query: runs by status, or outcomes credited to runs of one kind. */
type FigureRow = {
  kind: 'run' | 'reply' | 'auto_reply' | 'bounce' | 'unsubscribe';
  step_id: string;
  version: number;
  variant: number | null;
  status: string;
  n: number;
};

/**
 * Per-sequence figures from the ledger. A human reply is credited to the message it answers (the
 * step and variant that earned it; see `creditedReplies`), which is how reply rate per step is read.
 * Auto-replies, bounces and unsubscribes are credited the same way: to the step run their message
 * or event names, else to the last message the lead was sent before. An email step with variants
 * adds its A/B test: per variant the figures of the versions whose copy of the step is the current
 * one, a Wilson interval, and the step's decision (docs/decisions.md, "A/B winners").
 */
export async function sequenceStats(
  db: Db,
  sequenceId: string,
  definition: SequenceDefinition,
): Promise<SequenceStats> {
  const byStatus = await db.execute<{ status: string; n: number }>(sql`
    select status, count(*)::int as n from enrollments where sequence_id = ${sequenceId} group by status`);
  const figures = await figureRows(db, sequenceId);
  const sameCopy = await sameCopyVersions(db, sequenceId, definition);
  const winners = await promotedWinners(db, sequenceId, definition);

  const enrollments: Counts = {};
  for (const row of byStatus.rows) enrollments[row.status] = row.n;
  const enrolled = Object.values(enrollments).reduce((a, b) => a + b, 0);
  const { abConfidence: confidence, abMinSample: minSample } = definition.settings;
  const abStepIds = new Set(abSteps(definition).map((s) => s.id));

  const steps = definition.steps
    .filter((s) => s.type !== 'wait' && s.type !== 'end' && s.type !== 'goto')
    .map((step) => {
      const mine = figures.filter((r) => r.step_id === step.id);
      const runs = (status: string) =>
        mine.filter((r) => r.kind === 'run' && r.status === status).reduce((a, r) => a + r.n, 0);
      let ab: Pick<z.infer<typeof StepStats>, 'variants' | 'decision'> = { variants: [], decision: null };
      if (step.type === 'email' && abStepIds.has(step.id)) {
        const versions = sameCopy.get(step.id) ?? new Set<number>();
        const variants = emailVersions(step).map((_, variant) =>
          variantFigures(
            variant,
            outcomes(mine.filter((r) => r.variant === variant && versions.has(r.version))),
            confidence,
          ),
        );
        const tally: VariantTally[] = variants.map((v) => ({
          variant: v.variant,
          sent: v.sent,
          replies: v.replies,
        }));
        ab = {
          variants,
          decision: decisionView(decideWinner(tally, { confidence, minSample }), {
            confidence,
            minSample,
            promoted: winners.get(step.id),
          }),
        };
      }
      return {
        stepId: step.id,
        type: step.type,
        scheduled: runs('scheduled'),
        claimed: runs('claimed'),
        ...outcomes(mine),
        failed: runs('failed'),
        skipped: runs('skipped'),
        canceled: runs('canceled'),
        ambiguous: runs('ambiguous'),
        ...ab,
      };
    });
  const replied = enrollments.replied ?? 0;
  return {
    sequenceId,
    enrolled,
    active: enrollments.active ?? 0,
    paused: enrollments.paused ?? 0,
    completed: enrollments.completed ?? 0,
    replied,
    stopped: enrollments.stopped ?? 0,
    bounced: enrollments.bounced ?? 0,
    unsubscribed: enrollments.unsubscribed ?? 0,
    failed: enrollments.failed ?? 0,
    replyRate: rate(replied, enrolled),
    steps,
  };
}

/** The outcome figures of some groups of the figures query (a step's, or a variant's). */
function outcomes(rows: FigureRow[]): Outcomes {
  const sum = (pick: (r: FigureRow) => boolean) => rows.filter(pick).reduce((a, r) => a + r.n, 0);
  const sent = sum((r) => r.kind === 'run' && r.status === 'sent');
  const replies = sum((r) => r.kind === 'reply');
  const bounces = sum((r) => r.kind === 'bounce');
  // A bounce on a run that failed was refused by the server: that message was never `sent`.
  const bouncedAfterSending = sum((r) => r.kind === 'bounce' && r.status === 'sent');
  return {
    sent,
    delivered: sent - bouncedAfterSending,
    replies,
    autoReplies: sum((r) => r.kind === 'auto_reply'),
    bounces,
    unsubscribes: sum((r) => r.kind === 'unsubscribe'),
    replyRate: rate(replies, sent),
  };
}

/**
 * Every figure of the sequence in one query, grouped by step, version and variant: its runs by
 * status, its human replies (`creditedReplies`), and the auto-replies (inbound messages so
 * classified), bounces and unsubscribes (`lead.bounced`, `lead.unsubscribed`) of its leads, each
 * credited to the run its message or event names, else to the last message (of a step that can be
 * answered) the lead was sent before it. An auto-reply, bounce or unsubscribe counts once per run.
 */
async function figureRows(db: Db, sequenceId: string): Promise<FigureRow[]> {
  const answerable = sql`${sql.param([...repliedToStepTypes])}::text[]`;
  const { rows } = await db.execute<FigureRow>(sql`
    with runs as (
      select sr.id, sr.enrollment_id, sr.step_id, sr.step_type, sr.status, sr.variant, sr.executed_at,
        e.version, e.lead_id
      from step_runs sr join enrollments e on e.id = sr.enrollment_id
      where e.sequence_id = ${sequenceId}
    ),
    its_leads as (select distinct lead_id from enrollments where sequence_id = ${sequenceId}),
    outcomes as (
      select 'auto_reply' as kind, m.id::text as ref, m.lead_id, m.enrollment_id, m.step_run_id,
        m.created_at as at
      from messages m
      where m.lead_id in (select lead_id from its_leads) and m.direction = 'inbound'
        and m.classification = 'auto_reply'
      union all
      select case ev.type when 'lead.bounced' then 'bounce' else 'unsubscribe' end, ev.id::text,
        ev.lead_id, ev.enrollment_id, ev.step_run_id, ev.at
      from events ev
      where ev.lead_id in (select lead_id from its_leads)
        and ev.type in ('lead.bounced', 'lead.unsubscribed')
    ),
    credited as (
      select distinct on (o.kind, o.ref) o.kind, r.step_id, r.version, r.variant, r.status, r.id
      from outcomes o
      join runs r on r.lead_id = o.lead_id and (
        r.id = o.step_run_id
        or (o.step_run_id is null and r.status = 'sent' and r.executed_at <= o.at
          and r.step_type = any(${answerable})
          and (o.enrollment_id is null or o.enrollment_id = r.enrollment_id)))
      order by o.kind, o.ref, r.executed_at desc
    )
    select kind, step_id, version, variant, status,
      (case when kind in ('run', 'reply') then count(*) else count(distinct id) end)::int as n
    from (
      select 'run' as kind, step_id, version, variant, status, id from runs
      union all
      select 'reply', step_id, version, variant, 'sent', enrollment_id from (${creditedReplies(sequenceId)}) c
      union all
      select kind, step_id, version, variant, status, id from credited
    ) x
    group by 1, 2, 3, 4, 5`);
  return rows;
}

/** A variant's figures; the interval is its reply rate's Wilson interval at the test's confidence. */
function variantFigures(variant: number, figures: Outcomes, confidence: number) {
  const interval = wilsonInterval(figures.replies, figures.sent, confidence);
  return {
    variant,
    label: variantLabel(variant),
    ...figures,
    interval: { low: round4(interval.low), high: round4(interval.high) },
  };
}

/** The step's decision as the API shows it: variants by label, the p-value to four digits. */
function decisionView(
  decision: AbDecision,
  context: { confidence: number; minSample: number; promoted: PromotedWinner | undefined },
) {
  const { confidence, minSample, promoted } = context;
  const pValue = 'pValue' in decision ? { pValue: Number(decision.pValue.toPrecision(4)) } : {};
  return {
    status: decision.status,
    ...(decision.status === 'winner' ? { winner: variantLabel(decision.winner) } : {}),
    confidence,
    ...pValue,
    minSample,
    /** Recorded under `abAutoPromote`: new runs of the step send only this variant. */
    promoted: promoted
      ? { winner: variantLabel(promoted.variant), at: promoted.promotedAt.toISOString() }
      : null,
  };
}
