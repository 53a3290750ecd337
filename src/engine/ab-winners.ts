import { createHash } from 'node:crypto';
import { eq, sql } from 'drizzle-orm';
import type { Deps } from '../context';
import type { Db, DbOrTx } from '../db/client';
import { abWinners, sequenceVersions } from '../db/schema/index';
import { decideWinner, type VariantTally } from '../core/ab-test';
import type { SequenceDefinition } from '../core/sequences';
import { repliedToStepTypes } from '../core/step-types';
import { type EmailStep, emailVersions, type ResolvedStep, variantLabel } from '../core/steps';
import { recordEvent } from '../timeline/events';
import { loadVersion } from './versions';

/** An email step with variants: the steps an A/B test runs on. */
export const abSteps = (definition: SequenceDefinition) =>
  definition.steps.filter((s): s is AbStep => s.type === 'email' && (s.variants?.length ?? 0) > 0);
type AbStep = EmailStep & { id: string };

/** What the step sends: its versions' subjects and bodies (weights change no version's copy). */
export const stepCopyKey = (step: EmailStep) =>
  createHash('sha256')
    .update(JSON.stringify(emailVersions(step).map((v) => [v.subject ?? null, v.body])))
    .digest('hex');

/**
 * The human replies to a sequence, one per enrollment (its first), each credited to the message it
 * answers: the step run its thread matched, else the last message the lead had received before it.
 * A human reply is a `lead.replied` event: auto-replies, bounces and unsubscribes are other events,
 * and a reply after the enrollment completed (the last step's) counts as much as one before.
 */
export const creditedReplies = (sequenceId: string) => sql`
  select distinct on (ev.enrollment_id) ev.enrollment_id, sr.step_id, e.version, sr.variant
  from enrollments e
  join events ev on ev.enrollment_id = e.id and ev.type = 'lead.replied'
  join step_runs sr on sr.enrollment_id = e.id and sr.status = 'sent'
    and sr.step_type = any(${sql.param([...repliedToStepTypes])}::text[])
    and (sr.id = ev.step_run_id or (ev.step_run_id is null and sr.executed_at <= ev.at))
  where e.sequence_id = ${sequenceId}
  order by ev.enrollment_id, ev.at, sr.executed_at desc`;

/**
 * Sends and human replies (see `creditedReplies`) per variant of each A/B step of `definition`,
 * counted over every version of the sequence whose copy of that step is the same: an edit of the
 * copy starts a new test, an edit elsewhere does not.
 */
export async function abTallies(
  db: DbOrTx,
  sequenceId: string,
  definition: SequenceDefinition,
): Promise<Map<string, VariantTally[]>> {
  const steps = abSteps(definition);
  if (steps.length === 0) return new Map();
  const stepIds = sql`${sql.param(steps.map((s) => s.id))}::text[]`;
  const sameCopy = await sameCopyVersions(db, sequenceId, definition);
  const { rows } = await db.execute<{
    step_id: string;
    version: number;
    variant: number;
    sent: number;
    replies: number;
  }>(sql`
    select step_id, version, variant, sum(sent)::int as sent, sum(replies)::int as replies from (
      select sr.step_id, e.version, sr.variant, 1 as sent, 0 as replies
      from step_runs sr join enrollments e on e.id = sr.enrollment_id
      where e.sequence_id = ${sequenceId} and sr.status = 'sent' and sr.step_id = any(${stepIds})
      union all
      select step_id, version, variant, 0, 1 from (${creditedReplies(sequenceId)}) c
      where step_id = any(${stepIds})
    ) x
    where variant is not null
    group by 1, 2, 3`);
  const tallies = new Map<string, VariantTally[]>();
  for (const step of steps) {
    const versions = sameCopy.get(step.id) ?? new Set<number>();
    const variants = emailVersions(step).map((_, variant) => ({ variant, sent: 0, replies: 0 }));
    for (const row of rows) {
      const tally = variants[row.variant];
      if (row.step_id !== step.id || !versions.has(row.version) || !tally) continue;
      tally.sent += row.sent;
      tally.replies += row.replies;
    }
    tallies.set(step.id, variants);
  }
  return tallies;
}

/**
 * Per A/B step of `definition` (by id), the versions of the sequence whose copy of that step is the
 * same as `definition`'s: the versions its A/B test counts.
 */
export async function sameCopyVersions(
  db: DbOrTx,
  sequenceId: string,
  definition: SequenceDefinition,
): Promise<Map<string, Set<number>>> {
  const steps = abSteps(definition);
  if (steps.length === 0) return new Map();
  const versions = await db
    .select({ version: sequenceVersions.version })
    .from(sequenceVersions)
    .where(eq(sequenceVersions.sequenceId, sequenceId));
  const definitions = await Promise.all(versions.map((v) => loadVersion(db, sequenceId, v.version)));
  const out = new Map<string, Set<number>>();
  for (const step of steps) {
    const key = stepCopyKey(step);
    out.set(
      step.id,
      new Set(
        versions
          .filter((_, i) => {
            const other = definitions[i]?.steps.find((s) => s.id === step.id);
            return other?.type === 'email' && (other.variants?.length ?? 0) > 0 && stepCopyKey(other) === key;
          })
          .map((v) => v.version),
      ),
    );
  }
  return out;
}

export type PromotedWinner = { stepId: string; variant: number; promotedAt: Date; pValue: number };

/** Winners recorded for `definition`'s A/B steps (those whose copy matches), by step id. */
export async function promotedWinners(
  db: DbOrTx,
  sequenceId: string,
  definition: SequenceDefinition,
): Promise<Map<string, PromotedWinner>> {
  const steps = abSteps(definition);
  if (steps.length === 0) return new Map();
  const rows = await db.select().from(abWinners).where(eq(abWinners.sequenceId, sequenceId));
  const winners = new Map<string, PromotedWinner>();
  for (const step of steps) {
    const key = stepCopyKey(step);
    const row = rows.find((r) => r.stepId === step.id && r.copyKey === key);
    if (row)
      winners.set(step.id, {
        stepId: step.id,
        variant: row.variant,
        promotedAt: row.promotedAt,
        pValue: row.pValue,
      });
  }
  return winners;
}

/** How long a worker may send a step's variants after its winner was recorded by another process. */
const WINNER_CACHE_MS = 30_000;
const MAX_CACHED = 5000;
const winnerCache = new Map<string, { until: number; winners: Promise<Map<string, PromotedWinner>> }>();

/**
 * The variant a run must send, or null for the run's own weighted pick. Only under
 * `abAutoPromote`, and only for a run created once the winner was recorded: a run that already
 * picked (and may have rendered, been deferred, retried) keeps its pick. Winners are read once per
 * sequence version and kept for 30 s, so a send costs no query.
 */
export async function promotedVariantFor(
  db: Db,
  input: {
    sequenceId: string;
    version: number;
    definition: SequenceDefinition;
    step: ResolvedStep;
    runCreatedAt: Date;
  },
): Promise<number | null> {
  const { step, definition } = input;
  if (!definition.settings.abAutoPromote || step.type !== 'email' || !step.variants?.length) return null;
  const key = `${input.sequenceId}:${input.version}`;
  let hit = winnerCache.get(key);
  if (!hit || hit.until < Date.now()) {
    if (winnerCache.size >= MAX_CACHED) winnerCache.clear();
    const winners = promotedWinners(db, input.sequenceId, definition);
    // A failed read is not kept: the next send asks again.
    winners.catch(() => winnerCache.delete(key));
    hit = { until: Date.now() + WINNER_CACHE_MS, winners };
    winnerCache.set(key, hit);
  }
  const winner = (await hit.winners).get(step.id);
  return winner && input.runCreatedAt >= winner.promotedAt ? winner.variant : null;
}

/** Interval between two promotion passes of one process: tests run over days, not seconds. */
export const AB_PASS_INTERVAL_MS = 5 * 60_000;

/**
 * Records the winner of every A/B step of the active sequences that ask for it
 * (`settings.abAutoPromote` in their current version), once, with a `sequence.variant_promoted`
 * event in the same transaction. Several processes may run it at once: the primary key decides
 * which one records (and announces) the winner. Returns how many winners it recorded.
 */
export async function promoteAbWinners(deps: Pick<Deps, 'db' | 'log'>): Promise<number> {
  const { rows } = await deps.db.execute<Candidate>(sql`
    select s.id, s.workspace_id, s.current_version as version
    from sequences s
    join sequence_versions v on v.sequence_id = s.id and v.version = s.current_version
    where s.status = 'active' and (v.definition -> 'settings' ->> 'abAutoPromote') = 'true'`);
  let promoted = 0;
  for (const seq of rows) {
    const definition = await loadVersion(deps.db, seq.id, seq.version);
    if (!definition) continue;
    const known = await promotedWinners(deps.db, seq.id, definition);
    const open = abSteps(definition).filter((s) => !known.has(s.id));
    // Decided steps cost nothing more: the counting query runs only while a test is open.
    if (open.length === 0) continue;
    const tallies = await abTallies(deps.db, seq.id, definition);
    for (const step of open) {
      const variants = tallies.get(step.id) ?? [];
      const { abConfidence: confidence, abMinSample: minSample } = definition.settings;
      const decision = decideWinner(variants, { confidence, minSample });
      if (decision.status !== 'winner') continue;
      const winner = { variant: decision.winner, pValue: decision.pValue, confidence, variants };
      if (!(await recordWinner(deps.db, seq, step, winner))) continue;
      promoted++;
      forgetWinners(seq.id);
      deps.log.info({ sequenceId: seq.id, stepId: step.id, variant: winner.variant }, 'A/B winner promoted');
    }
  }
  return promoted;
}

type Candidate = { id: string; workspace_id: string; version: number };
type Decided = { variant: number; pValue: number; confidence: number; variants: VariantTally[] };

/** Inserts the winner and its event in one transaction; false when another pass recorded it first. */
async function recordWinner(db: Db, seq: Candidate, step: AbStep, winner: Decided): Promise<boolean> {
  return db.transaction(async (tx) => {
    const inserted = await tx
      .insert(abWinners)
      .values({
        workspaceId: seq.workspace_id,
        sequenceId: seq.id,
        stepId: step.id,
        copyKey: stepCopyKey(step),
        version: seq.version,
        variant: winner.variant,
        pValue: winner.pValue,
        confidence: winner.confidence,
        tallies: winner.variants,
      })
      .onConflictDoNothing()
      .returning({ promotedAt: abWinners.promotedAt });
    if (inserted.length === 0) return false;
    await recordEvent(tx, {
      workspaceId: seq.workspace_id,
      type: 'sequence.variant_promoted',
      data: {
        sequenceId: seq.id,
        version: seq.version,
        stepId: step.id,
        variant: winner.variant,
        label: variantLabel(winner.variant),
        pValue: winner.pValue,
        confidence: winner.confidence,
        variants: winner.variants.map((v) => ({ ...v, label: variantLabel(v.variant) })),
      },
    });
    return true;
  });
}

/** Drops this process's cached winners of a sequence, so its own workers see a new one at once. */
function forgetWinners(sequenceId: string) {
  for (const key of winnerCache.keys()) if (key.startsWith(`${sequenceId}:`)) winnerCache.delete(key);
}
