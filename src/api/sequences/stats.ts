import { sql } from 'drizzle-orm';
import type { Db } from '../../db/client';
import type { SequenceDefinition } from '../../core/sequences';
import { variantLabel } from '../../core/steps';
import { type AbDecision, decideWinner, type VariantTally, wilsonInterval } from '../../core/ab-test';
import { abTallies, creditedReplies, type PromotedWinner, promotedWinners } from '../../engine/ab-winners';

type Counts = Record<string, number>;
const round4 = (x: number) => Math.round(x * 10_000) / 10_000;
const rate = (part: number, whole: number) => (whole > 0 ? round4(part / whole) : 0);

/**
 * Per-sequence figures from the ledger. A human reply is credited to the message it answers (the
 * step and variant that earned it; see `creditedReplies`), which is how reply rate per step is read.
 * An email step with variants adds its A/B test: per variant the sends and human replies of the
 * versions whose copy of the step is the current one, a Wilson interval, and the step's decision
 * (docs/decisions.md, "A/B winners").
 */
export async function sequenceStats(db: Db, sequenceId: string, definition: SequenceDefinition) {
  const byStatus = await db.execute<{ status: string; n: number }>(sql`
    select status, count(*)::int as n from enrollments where sequence_id = ${sequenceId} group by status`);
  const runs = await db.execute<{ step_id: string; status: string; n: number }>(sql`
    select sr.step_id, sr.status, count(*)::int as n
    from step_runs sr join enrollments e on e.id = sr.enrollment_id
    where e.sequence_id = ${sequenceId}
    group by 1, 2`);
  const credited = await db.execute<{ step_id: string }>(
    sql`select step_id from (${creditedReplies(sequenceId)}) c`,
  );

  const enrollments: Counts = {};
  for (const row of byStatus.rows) enrollments[row.status] = row.n;
  const enrolled = Object.values(enrollments).reduce((a, b) => a + b, 0);
  const tallies = await abTallies(db, sequenceId, definition);
  const winners = await promotedWinners(db, sequenceId, definition);
  const { abConfidence: confidence, abMinSample: minSample } = definition.settings;

  const steps = definition.steps
    .filter((s) => s.type !== 'wait' && s.type !== 'end' && s.type !== 'goto')
    .map((step) => {
      const mine = runs.rows.filter((r) => r.step_id === step.id);
      const count = (status: string) => mine.filter((r) => r.status === status).reduce((a, r) => a + r.n, 0);
      const replies = credited.rows.filter((r) => r.step_id === step.id);
      const sent = count('sent');
      const tally = tallies.get(step.id);
      const ab = tally
        ? {
            variants: tally.map((t) => variantFigures(t, confidence)),
            decision: decisionView(decideWinner(tally, { confidence, minSample }), {
              confidence,
              minSample,
              promoted: winners.get(step.id),
            }),
          }
        : { variants: [], decision: null };
      return {
        stepId: step.id,
        type: step.type,
        scheduled: count('scheduled'),
        claimed: count('claimed'),
        sent,
        failed: count('failed'),
        skipped: count('skipped'),
        canceled: count('canceled'),
        ambiguous: count('ambiguous'),
        replies: replies.length,
        replyRate: rate(replies.length, sent),
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

/** A variant's figures; the interval is its reply rate's Wilson interval at the test's confidence. */
function variantFigures(t: VariantTally, confidence: number) {
  const interval = wilsonInterval(t.replies, t.sent, confidence);
  return {
    variant: t.variant,
    label: variantLabel(t.variant),
    sent: t.sent,
    replies: t.replies,
    replyRate: rate(t.replies, t.sent),
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
