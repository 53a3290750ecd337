import { and, eq, gte, isNull, type SQL, sql } from 'drizzle-orm';
import type { DbOrTx } from '../db/client';
import { leads, workspaces } from '../db/schema/index';
import { emptyScoringRules, type ScoringRules, unscoredEventTypes } from '../core/scoring';
import { recordEvents } from './events';
import { promotionMoves, promotionStagesOf } from './promotion';

/** The workspace's scoring rules, with defaults filled in (no rules, no threshold). */
export async function loadScoringRules(db: DbOrTx, workspaceId: string): Promise<ScoringRules> {
  const [ws] = await db
    .select({ settings: workspaces.settings })
    .from(workspaces)
    .where(eq(workspaces.id, workspaceId));
  const stored = ws?.settings.scoring;
  return {
    events: stored?.events ?? {},
    attributes: stored?.attributes ?? [],
    qualifyThreshold: stored?.qualifyThreshold ?? emptyScoringRules().qualifyThreshold,
    qualifyFrom: stored?.qualifyFrom ?? null,
    qualifyTo: stored?.qualifyTo ?? null,
  };
}

/**
 * Replaces the rules and recomputes every lead's score under them, in the caller's transaction, then
 * promotes the leads the new threshold qualifies. Returns how many leads were promoted.
 */
export async function saveScoringRules(
  db: DbOrTx,
  workspaceId: string,
  rules: ScoringRules,
): Promise<{ promoted: number }> {
  await db.execute(sql`
    update workspaces set settings = settings || jsonb_build_object('scoring', ${JSON.stringify(rules)}::jsonb),
      updated_at = now()
    where id = ${workspaceId}`);
  const scored = Object.fromEntries(Object.entries(rules.events).filter(([t]) => !unscoredEventTypes.has(t)));
  await db.execute(sql`
    with points as (
      select key as type, value::int as points from jsonb_each_text(${JSON.stringify(scored)}::jsonb)
    )
    update leads l set score = coalesce((
        select sum(p.points) from events e join points p on p.type = e.type where e.lead_id = l.id
      ), 0)::int + ${attributePointsSql(rules)}
    where l.workspace_id = ${workspaceId} and l.erased_at is null`);
  if (rules.qualifyThreshold === null) return { promoted: 0 };
  const promotion = await promotionStagesOf(db, workspaceId);
  if (!promotion) return { promoted: 0 };
  const candidates = await db
    .select({ id: leads.id })
    .from(leads)
    .where(
      and(
        eq(leads.workspaceId, workspaceId),
        eq(leads.stage, promotion.from),
        gte(leads.score, rules.qualifyThreshold),
        isNull(leads.erasedAt),
      ),
    );
  return promoteQualified(
    db,
    workspaceId,
    candidates.map((c) => c.id),
  );
}

/** `attributePoints` in SQL over the alias `l`, so a rule change rescores every lead in one statement. */
function attributePointsSql(rules: ScoringRules): SQL {
  if (rules.attributes.length === 0) return sql`0`;
  const terms = rules.attributes.map(
    (rule) =>
      sql`(case when strpos(lower(coalesce(${fieldSql(rule.field)}, '')), lower(${rule.contains})) > 0 then ${rule.points}::int else 0 end)`,
  );
  return sql`(${sql.join(terms, sql` + `)})`;
}

const columns: Record<string, SQL> = {
  title: sql`l.title`,
  company: sql`l.company`,
  email: sql`l.email`,
  firstName: sql`l.first_name`,
  lastName: sql`l.last_name`,
  timezone: sql`l.timezone`,
};

function fieldSql(field: string): SQL {
  if (field.startsWith('custom.')) {
    const key = field.slice('custom.'.length);
    // Same text as `attributeValue`: strings as they are, other JSON values as JSON, null as no value.
    return sql`(case jsonb_typeof(l.custom_fields -> ${key}) when 'string' then l.custom_fields ->> ${key}
      when 'null' then null else (l.custom_fields -> ${key})::text end)`;
  }
  return columns[field] ?? sql`null`;
}

/**
 * Promotes these leads (from the promotion's first stage to its second, see `promotionStages`) with
 * reason `score`, and records their `lead.stage_changed` events.
 */
export async function promoteQualified(
  db: DbOrTx,
  workspaceId: string,
  leadIds: string[],
): Promise<{ promoted: number }> {
  const moved = await promotionMoves(db, workspaceId, leadIds);
  await recordEvents(db, moved.events);
  return { promoted: moved.promoted };
}
