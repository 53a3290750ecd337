/**
 * Stage moves as one statement each, without their timeline events: the primitives that
 * `stages.ts` (a move and its events) and score promotion (`promotion.ts`) build on.
 */
import { asc, eq, type SQL, sql } from 'drizzle-orm';
import type { DbOrTx } from '../db/client';
import { type StageKind, stages } from '../db/schema/index';
import type { EventInput } from './events';

export type StageChangeSource = 'api' | 'engine' | 'reply' | 'score' | 'cleanup' | 'import' | 'automation';

export type StageView = {
  key: string;
  name: string;
  kind: StageKind;
  position: number;
  staleDays: number | null;
};

/** The workspace's stages in pipeline order. */
export async function listStages(db: DbOrTx, workspaceId: string): Promise<StageView[]> {
  return db
    .select({
      key: stages.key,
      name: stages.name,
      kind: stages.kind,
      position: stages.position,
      staleDays: stages.staleDays,
    })
    .from(stages)
    .where(eq(stages.workspaceId, workspaceId))
    .orderBy(asc(stages.position));
}

export type StageMoveInput = {
  workspaceId: string;
  leadIds: string[];
  toStage: string;
  reason?: string | null;
  source: StageChangeSource;
  /** Move only leads currently in one of these stages. */
  onlyFrom?: string[];
  /**
   * An automatic move (a reply, a cadence's end or first touch, an automation): never out of a won
   * or lost stage, never backwards in the pipeline. Explicit moves (API, stage steps) go anywhere.
   */
  forwardOnly?: boolean;
  /**
   * A cadence's verdict (`onComplete`): the lead moves only if no one else (API, reply, score,
   * clean-up, import) moved it since this enrollment started.
   */
  untouchedDuring?: string;
  /** The enrollment making the move (a `stage` step): a closed stage does not stop it, it runs on. */
  byEnrollment?: string;
  at?: Date;
};

/**
 * Whether the lead row `lead` (with `stage`) moves: not already at the target, in `onlyFrom` when
 * given, and with `forwardOnly` sitting in an open stage placed before the target. Shared by the move
 * and by the stop a closed stage makes, so the two always agree on which leads move.
 */
export function movesSql(input: StageMoveInput, lead: SQL): SQL {
  const from = input.onlyFrom ? sql`and ${lead}.stage = any(${sql.param(input.onlyFrom)}::text[])` : sql``;
  const forward = input.forwardOnly
    ? sql`and exists (
        select 1 from stages cur join stages tgt on tgt.workspace_id = cur.workspace_id and tgt.key = ${input.toStage}
        where cur.workspace_id = ${input.workspaceId} and cur.key = ${lead}.stage and cur.kind = 'open'
          and tgt.position > cur.position)`
    : sql``;
  const untouched = input.untouchedDuring
    ? sql`and not exists (
        select 1 from stage_events se join enrollments en on en.id = ${input.untouchedDuring}
        where se.lead_id = ${lead}.id and se.at >= en.created_at and se.source <> 'engine')`
    : sql``;
  return sql`${lead}.stage <> ${input.toStage} ${from} ${forward} ${untouched}`;
}

/** What `moveStage` found: whether the stage exists, and each live lead with its stage before. */
export type StageMove = {
  known: boolean;
  leads: { id: string; stage: string; moved: boolean }[];
  at: Date;
};

/**
 * One statement: checks the stage exists, locks the given live leads (in id order, so two moves never
 * deadlock each other), moves those not at `toStage` (and, with `onlyFrom`, only from those stages)
 * and writes their stage events. It records no `lead.stage_changed` event: the caller does, through
 * `stageChangedEvents`, in the same `recordEvents` call as its own events.
 */
export async function moveStage(db: DbOrTx, input: StageMoveInput): Promise<StageMove> {
  const at = input.at ?? new Date();
  const { rows } = await db.execute<{
    known: boolean;
    id: string | null;
    stage: string | null;
    moved: boolean;
  }>(sql`
    with target as (
      select exists(select 1 from stages where workspace_id = ${input.workspaceId} and key = ${input.toStage}) as known
    ), locked as (
      select id, stage from leads
      where workspace_id = ${input.workspaceId} and id = any(${sql.param(input.leadIds)}::uuid[])
        and erased_at is null and (select known from target)
      order by id
      for update
    ), moved as (
      update leads l set stage = ${input.toStage}, stage_entered_at = ${at}, updated_at = ${at}
      from locked where l.id = locked.id and ${movesSql(input, sql`locked`)}
      returning l.id, locked.stage as from_stage
    ), history as (
      insert into stage_events (workspace_id, lead_id, from_stage, to_stage, reason, source, at)
      select ${input.workspaceId}, id, from_stage, ${input.toStage}, ${input.reason ?? null}, ${input.source}, ${at}
      from moved
    )
    select t.known, l.id, l.stage, m.id is not null as moved
    from target t left join locked l on true left join moved m on m.id = l.id`);
  const leadRows = rows.flatMap((r) =>
    r.id !== null && r.stage !== null ? [{ id: r.id, stage: r.stage, moved: r.moved }] : [],
  );
  return { known: rows[0]?.known ?? false, leads: leadRows, at };
}

/** The `lead.stage_changed` events of a `moveStage`, one per lead it moved. */
export function stageChangedEvents(input: StageMoveInput, move: StageMove): EventInput[] {
  const reason = input.reason ?? null;
  return move.leads
    .filter((lead) => lead.moved)
    .map((lead) => ({
      workspaceId: input.workspaceId,
      type: 'lead.stage_changed',
      leadId: lead.id,
      data: { from: lead.stage, to: input.toStage, reason, source: input.source },
      at: move.at,
    }));
}
