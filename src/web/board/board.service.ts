import { type SQL, sql } from 'drizzle-orm';
import type { DbOrTx } from '../../db/client';
import { listStages, type StageView } from '../../timeline/stage-moves';
import { escapeLike } from '../../api/leads/leads.repo';

/** What the board can be narrowed to; every field optional. */
export type BoardFilter = { sequenceId?: string; owner?: string; q?: string };

export type BoardCard = {
  id: string;
  name: string;
  company: string | null;
  score: number;
  stage: string;
  daysInStage: number;
  /** `amber` at the stage's stale limit, `red` at twice it; null when fresh or the stage has no limit. */
  stale: 'amber' | 'red' | null;
  dealValue: number | null;
  dealCurrency: string | null;
  owner: string | null;
  sequence: string | null;
  step: string | null;
  lastActivityAt: Date;
};

export type BoardColumn = StageView & {
  count: number;
  /** Sum of deal values per currency (a board never adds euros to dollars). */
  totals: { currency: string; total: number; weighted: number | null }[];
  /** Share of the leads that ever entered this stage and are now closed that ended in a won stage. */
  winRate: number | null;
  medianDaysInStage: number | null;
  cards: BoardCard[];
};

/** The filter as SQL over `leads l`. */
function filterSql(workspaceId: string, filter: BoardFilter): SQL {
  const parts: SQL[] = [sql`l.workspace_id = ${workspaceId}`, sql`l.erased_at is null`];
  if (filter.owner) parts.push(sql`l.owner = ${filter.owner}`);
  if (filter.sequenceId) {
    parts.push(sql`exists (select 1 from enrollments e
      where e.lead_id = l.id and e.sequence_id = ${filter.sequenceId} and e.status in ('active', 'paused'))`);
  }
  if (filter.q) {
    const pattern = `%${escapeLike(filter.q)}%`;
    parts.push(sql`(l.email ilike ${pattern} or l.company ilike ${pattern}
      or (coalesce(l.first_name, '') || ' ' || coalesce(l.last_name, '')) ilike ${pattern})`);
  }
  return sql.join(parts, sql` and `);
}

const daysSince = (at: SQL) => sql`extract(epoch from now() - ${at}) / 86400`;

type CardRow = {
  id: string;
  first_name: string | null;
  last_name: string | null;
  email: string | null;
  company: string | null;
  score: number;
  stage: string;
  days: number;
  deal_value: string | null;
  deal_currency: string | null;
  owner: string | null;
  sequence: string | null;
  step: string | null;
  last_activity_at: Date | string;
};

export function staleLevel(days: number, staleDays: number | null): BoardCard['stale'] {
  if (staleDays === null) return null;
  if (days >= 2 * staleDays) return 'red';
  return days >= staleDays ? 'amber' : null;
}

function toCard(row: CardRow, staleDays: number | null): BoardCard {
  const name = [row.first_name, row.last_name].filter(Boolean).join(' ') || row.email || 'Unnamed lead';
  const days = Math.floor(Number(row.days));
  return {
    id: row.id,
    name,
    company: row.company,
    score: row.score,
    stage: row.stage,
    daysInStage: days,
    stale: staleLevel(days, staleDays),
    dealValue: row.deal_value === null ? null : Number(row.deal_value),
    dealCurrency: row.deal_currency,
    owner: row.owner,
    sequence: row.sequence,
    step: row.step,
    lastActivityAt: new Date(row.last_activity_at),
  };
}

/**
 * Cards of the given stages (all when omitted), most recently active first, `offset` and `limit`
 * per stage. Offsets, not keysets: a column holds at most the workspace's leads of one stage, and
 * "load more" asks for the next page of a list a person is scrolling.
 */
export async function boardCards(
  db: DbOrTx,
  workspaceId: string,
  filter: BoardFilter,
  page: { offset: number; limit: number; stage?: string },
  stages: StageView[],
): Promise<BoardCard[]> {
  const stageWhere = page.stage ? sql` and st.key = ${page.stage}` : sql``;
  // Per stage, its page of leads straight off `leads_stage_activity_idx` (workspace, stage, last
  // activity, id): a column's 20 cards read 20 index entries, not every lead of the workspace sorted.
  const rows = await db.execute<CardRow>(sql`
    select c.id, c.first_name, c.last_name, c.email, c.company, c.score, c.stage, c.deal_value,
      c.deal_currency, c.owner, c.last_activity_at, ${daysSince(sql`c.stage_entered_at`)} as days,
      act.sequence, act.step
    from stages st
    cross join lateral (
      select l.id, l.first_name, l.last_name, l.email, l.company, l.score, l.stage, l.deal_value,
        l.deal_currency, l.owner, l.last_activity_at, l.stage_entered_at
      from leads l
      where ${filterSql(workspaceId, filter)} and l.stage = st.key
      order by l.last_activity_at desc, l.id desc
      offset ${page.offset} limit ${page.limit}
    ) c
    left join lateral (
      select s.name as sequence, e.current_step_id as step from enrollments e
      join sequences s on s.id = e.sequence_id
      where e.lead_id = c.id and e.status = 'active' order by e.created_at desc limit 1
    ) act on true
    where st.workspace_id = ${workspaceId}${stageWhere}
    order by c.last_activity_at desc, c.id desc`);
  const limits = new Map(stages.map((s) => [s.key, s.staleDays]));
  return rows.rows.map((r) => toCard(r, limits.get(r.stage) ?? null));
}

/** The whole board: each stage in pipeline order with its figures and first `limit` cards. */
export async function boardColumns(
  db: DbOrTx,
  workspaceId: string,
  filter: BoardFilter,
  limit: number,
): Promise<BoardColumn[]> {
  const stages = await listStages(db, workspaceId);
  const [figures, wins, cards] = await Promise.all([
    columnFigures(db, filterSql(workspaceId, filter)),
    winRates(db, workspaceId),
    boardCards(db, workspaceId, filter, { offset: 0, limit }, stages),
  ]);
  return stages.map((stage) => {
    const rows = figures.filter((r) => r.stage === stage.key);
    const row = rows.find((r) => r.per_stage);
    const winRate = stage.kind === 'won' ? 1 : stage.kind === 'lost' ? 0 : (wins.get(stage.key) ?? null);
    return {
      ...stage,
      count: row?.count ?? 0,
      medianDaysInStage: row?.median === null || row?.median === undefined ? null : Number(row.median),
      winRate,
      totals: rows
        .filter(
          (t): t is FigureRow & { currency: string; total: string } =>
            !t.per_stage && t.currency !== null && t.total !== null,
        )
        .map((t) => {
          const total = Number(t.total);
          return { currency: t.currency, total, weighted: winRate === null ? null : total * winRate };
        }),
      cards: cards.filter((c) => c.stage === stage.key),
    };
  });
}

type FigureRow = {
  stage: string;
  currency: string | null;
  /** The stage's own row (count and median) rather than one currency's total. */
  per_stage: boolean;
  count: number;
  total: string | null;
  median: number | null;
};

/**
 * Every column's figures in one pass over the leads: per stage the count and the median days since
 * the lead entered it (`stage_entered_at`), and per stage and currency the deal total (a currency's
 * row carries a median too, unused: Postgres allows no grouping test in an aggregate's filter).
 */
async function columnFigures(db: DbOrTx, where: SQL): Promise<FigureRow[]> {
  const { rows } = await db.execute<FigureRow>(sql`
    select l.stage, l.deal_currency as currency, grouping(l.deal_currency) = 1 as per_stage,
      count(*)::int as count, sum(l.deal_value)::text as total,
      percentile_cont(0.5) within group (order by ${daysSince(sql`l.stage_entered_at`)}) as median
    from leads l where ${where}
    group by grouping sets ((l.stage), (l.stage, l.deal_currency))
    order by l.deal_currency`);
  return rows;
}

/**
 * Per open stage: of the leads that ever entered it and now sit in a closed stage, the share in a
 * won one. A stage none of whose leads has closed yet has no rate (its weighted value is unknown).
 * Only the closed leads' events are read: the others count in neither figure.
 */
async function winRates(db: DbOrTx, workspaceId: string): Promise<Map<string, number>> {
  // From the closed leads (by the stage index) to their own stage events (by the lead index): the
  // open leads' events are never read. Each (stage, lead) once, however often it entered the stage.
  const rows = await db.execute<{ stage: string; won: number; closed: number }>(sql`
    select stage, count(*) filter (where won)::int as won, count(*)::int as closed
    from (
      select distinct se.to_stage as stage, l.id, st.kind = 'won' as won
      from stages st
      join leads l on l.workspace_id = st.workspace_id and l.stage = st.key and l.erased_at is null
      join stage_events se on se.lead_id = l.id
      where st.workspace_id = ${workspaceId} and st.kind in ('won', 'lost')
    ) closed
    group by stage`);
  return new Map(rows.rows.filter((r) => r.closed > 0).map((r) => [r.stage, r.won / r.closed]));
}
