import { sql } from 'drizzle-orm';
import type { Db } from '../../db/client';
import type { SequenceDefinition } from '../../core/sequences';
import { repliedToStepTypes } from '../../core/step-types';
import { variantLabel } from '../../core/steps';

type Counts = Record<string, number>;
const rate = (part: number, whole: number) => (whole > 0 ? Math.round((part / whole) * 10_000) / 10_000 : 0);

/**
 * Per-sequence figures from the ledger. A reply is credited to the last message the lead received
 * before it (the step and variant that earned it), which is how reply rate per step is read.
 */
export async function sequenceStats(db: Db, sequenceId: string, definition: SequenceDefinition) {
  const byStatus = await db.execute<{ status: string; n: number }>(sql`
    select status, count(*)::int as n from enrollments where sequence_id = ${sequenceId} group by status`);
  const runs = await db.execute<{ step_id: string; status: string; variant: number | null; n: number }>(sql`
    select sr.step_id, sr.status, sr.variant, count(*)::int as n
    from step_runs sr join enrollments e on e.id = sr.enrollment_id
    where e.sequence_id = ${sequenceId}
    group by 1, 2, 3`);
  const credited = await db.execute<{ step_id: string; variant: number | null }>(sql`
    select distinct on (sr.enrollment_id) sr.step_id, sr.variant
    from step_runs sr join enrollments e on e.id = sr.enrollment_id
    where e.sequence_id = ${sequenceId} and e.status = 'replied' and sr.status = 'sent'
      and sr.step_type = any(${sql.param([...repliedToStepTypes])}::text[])
    order by sr.enrollment_id, sr.executed_at desc`);

  const enrollments: Counts = {};
  for (const row of byStatus.rows) enrollments[row.status] = row.n;
  const enrolled = Object.values(enrollments).reduce((a, b) => a + b, 0);

  const steps = definition.steps
    .filter((s) => s.type !== 'wait' && s.type !== 'end' && s.type !== 'goto')
    .map((step) => {
      const mine = runs.rows.filter((r) => r.step_id === step.id);
      const count = (status: string) => mine.filter((r) => r.status === status).reduce((a, r) => a + r.n, 0);
      const replies = credited.rows.filter((r) => r.step_id === step.id);
      const sent = count('sent');
      // Every version the step declares (A is its own subject and body), and any a run recorded.
      const declared = step.type === 'email' && step.variants ? step.variants.length + 1 : 0;
      const recorded = mine.flatMap((r) => (r.variant === null ? [] : [r.variant]));
      const variantIds = [...new Set([...Array.from({ length: declared }, (_, i) => i), ...recorded])].sort(
        (a, b) => a - b,
      );
      const variants = variantIds.map((variant) => {
        const vSent = mine
          .filter((r) => r.variant === variant && r.status === 'sent')
          .reduce((a, r) => a + r.n, 0);
        const vReplies = replies.filter((r) => r.variant === variant).length;
        return {
          variant,
          label: variantLabel(variant),
          sent: vSent,
          replies: vReplies,
          replyRate: rate(vReplies, vSent),
        };
      });
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
        variants,
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
