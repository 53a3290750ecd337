import { randomUUID } from 'node:crypto';
import { and, eq, isNull, or, sql } from 'drizzle-orm';
import type { DbOrTx } from '../../db/client';
import { leads } from '../../db/schema/index';
import { attributePoints, eventPoints, type ScoringRules, type ScoredLead } from '../../core/scoring';
import { outboxInsert } from '../../timeline/outbox/fan-out';
import { automationTriggerInsert } from '../../timeline/automation-triggers';
import { emailKey } from '../../lib/identity';
import { bulkChangeStage } from '../../timeline/stages';
import { listStages, type StageChangeSource } from '../../timeline/stage-moves';
import { loadScoringRules, promoteQualified } from '../../timeline/scoring';
import { type BatchRow, type Group, planBatch, type RowFailure } from './batch-merge';
import { type LeadRow, lockLeadWrites } from './leads.repo';
import { type BulkResult, LeadInput } from './leads.schemas';

/** A row its source already found bad (a CSV record with too many cells): reported, never written. */
export class RowError {
  constructor(readonly message: string) {}
}

/** Later rows overwrite the fields they give; custom fields merge key by key. */
export function combineInputs(earlier: LeadInput, later: LeadInput): LeadInput {
  const given = Object.fromEntries(Object.entries(later).filter(([, v]) => v !== undefined));
  return { ...earlier, ...given, customFields: { ...earlier.customFields, ...later.customFields } };
}

/**
 * Creates or updates many leads with a handful of set-based statements, whatever the batch size:
 * validate each row, merge the batch (see batch-merge.ts), then one INSERT for the new leads (with
 * their first stage events), one UPDATE for the existing ones, and bulk stage moves. Runs in the
 * caller's transaction; `indexOffset` numbers rows when a CSV import calls it batch by batch.
 */
export async function upsertLeads(
  db: DbOrTx,
  input: { workspaceId: string; rows: unknown[]; source: StageChangeSource; indexOffset?: number },
): Promise<BulkResult> {
  const offset = input.indexOffset ?? 0;
  const stageList = await listStages(db, input.workspaceId);
  const { valid, failed } = validateRows(input.rows, offset, new Set(stageList.map((s) => s.key)));
  await lockLeadWrites(db, input.workspaceId);
  const existing = await findByIdentity(db, input.workspaceId, valid);
  const plan = planBatch(valid, existing, combineInputs);
  failed.push(...plan.failed);
  const rules = await loadScoringRules(db, input.workspaceId);
  const ids: (string | null)[] = input.rows.map(() => null);
  const setIds = (group: Group<LeadInput>, id: string) => {
    for (const index of group.indexes) ids[index - offset] = id;
  };

  const firstStage = stageList[0]?.key ?? 'lead';
  const inserts = plan.groups.filter((g) => g.leadId === null);
  const updates = plan.groups.flatMap((group) => (group.leadId ? [{ leadId: group.leadId, group }] : []));
  const created = await insertLeads(db, input, inserts, rules, firstStage);
  for (const { group, id } of created) setIds(group, id);
  const byId = new Map(existing.map((lead) => [lead.id, lead]));
  await updateLeads(db, input.workspaceId, updates, byId, rules);
  for (const { group, leadId } of updates) setIds(group, leadId);
  await moveToRequestedStages(db, input, updates, byId);

  const threshold = rules.qualifyThreshold;
  if (threshold !== null) {
    const written = [...created.map((c) => c.id), ...updates.map((u) => u.leadId)];
    await promoteQualified(db, input.workspaceId, await atOrAbove(db, written, threshold));
  }
  return {
    created: created.length,
    updated: updates.length,
    merged: plan.groups.reduce((n, g) => n + g.indexes.length - 1, 0),
    failed: failed.sort((a, b) => a.index - b.index),
    ids,
  };
}

/** Each row through the LeadInput schema and the workspace's stage keys; bad rows become failures. */
function validateRows(rows: unknown[], offset: number, stageKeys: Set<string>) {
  const failed: RowFailure[] = [];
  const valid: BatchRow<LeadInput>[] = [];
  rows.forEach((raw, i) => {
    const index = i + offset;
    if (raw instanceof RowError) {
      failed.push({ index, error: raw.message });
      return;
    }
    const parsed = LeadInput.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      failed.push({ index, error: `${issue?.path.join('.') || 'lead'}: ${issue?.message ?? 'invalid'}` });
    } else if (parsed.data.stage && !stageKeys.has(parsed.data.stage)) {
      failed.push({ index, error: `stage: unknown stage "${parsed.data.stage}"` });
    } else {
      const value = parsed.data;
      const key = value.email ? emailKey(value.email) : null;
      valid.push({ index, value, emailKey: key, linkedinUrl: value.linkedinUrl ?? null });
    }
  });
  return { valid, failed };
}

async function findByIdentity(db: DbOrTx, workspaceId: string, rows: BatchRow<LeadInput>[]) {
  const emails = rows.flatMap((r) => (r.emailKey ? [r.emailKey] : []));
  const urls = rows.flatMap((r) => (r.linkedinUrl ? [r.linkedinUrl] : []));
  if (emails.length === 0 && urls.length === 0) return [];
  return db
    .select()
    .from(leads)
    .where(
      and(
        eq(leads.workspaceId, workspaceId),
        isNull(leads.erasedAt),
        or(
          sql`${leads.emailKey} = any(${sql.param(emails)}::text[])`,
          sql`${leads.linkedinUrl} = any(${sql.param(urls)}::text[])`,
        ),
      ),
    );
}

const scoredLead = (v: LeadInput, base?: LeadRow): ScoredLead => ({
  title: v.title ?? base?.title ?? null,
  company: v.company ?? base?.company ?? null,
  email: v.email ?? base?.email ?? null,
  firstName: v.firstName ?? base?.firstName ?? null,
  lastName: v.lastName ?? base?.lastName ?? null,
  timezone: v.timezone ?? base?.timezone ?? null,
  customFields: { ...base?.customFields, ...v.customFields },
});

/** The columns both statements take from an input, as the JSON `json_to_recordset` reads. */
const identityColumns = (v: LeadInput) => {
  const key = v.email ? emailKey(v.email) : null;
  return {
    email: v.email ?? null,
    email_key: key,
    company_domain: key === null ? null : (key.split('@')[1] ?? ''),
    linkedin_url: v.linkedinUrl ?? null,
    first_name: v.firstName ?? null,
    last_name: v.lastName ?? null,
    company: v.company ?? null,
    title: v.title ?? null,
    timezone: v.timezone ?? null,
    country: v.country ?? null,
    custom_fields: v.customFields ?? null,
    deal_value: v.dealValue ?? null,
    deal_currency: v.dealCurrency ?? null,
    owner: v.owner ?? null,
  };
};

const recordColumns = sql`email text, email_key text, company_domain text, linkedin_url text,
  first_name text, last_name text, company text, title text, timezone text, country text, custom_fields jsonb,
  deal_value numeric, deal_currency text, owner text`;

/**
 * One statement inserts every new lead, its first stage event (so the funnel counts it as
 * entering) and its `lead.created` event (the timeline, and outbound webhooks for CRM sync, with
 * their outbox rows). Ids are made here (random UUIDs, as the column default would make them), so
 * each group knows its lead without reading 10,000 rows back and matching them by key.
 *
 * `recordEvents` would cost a second statement and a second copy of the batch as JSON; written here,
 * the event's points go into the lead's first score instead of a later update (the score invariant
 * in engine/scoring.ts holds either way), and `lead.created` is not an activity type.
 */
async function insertLeads(
  db: DbOrTx,
  input: { workspaceId: string; source: StageChangeSource },
  groups: Group<LeadInput>[],
  rules: ScoringRules,
  firstStage: string,
): Promise<{ group: Group<LeadInput>; id: string }[]> {
  if (groups.length === 0) return [];
  const created = groups.map((group) => ({ group, id: randomUUID() }));
  const createdPoints = eventPoints(rules, 'lead.created');
  const records = created.map(({ group: { value }, id }) => ({
    id,
    ...identityColumns(value),
    stage: value.stage ?? firstStage,
    status: value.status ?? 'active',
    // Most workspaces have no attribute rules: no lead copy to score against them.
    score: createdPoints + (rules.attributes.length > 0 ? attributePoints(rules, scoredLead(value)) : 0),
  }));
  await db.execute(sql`
    with x as (
      select * from json_to_recordset(${JSON.stringify(records)}::json)
        as x(id uuid, ${recordColumns}, stage text, status text, score int)
    ), created as (
      insert into leads (id, workspace_id, email, email_key, company_domain, linkedin_url, first_name,
        last_name, company, title, timezone, country, custom_fields, stage, status, score,
        deal_value, deal_currency, owner, stage_entered_at)
      select id, ${input.workspaceId}, email, email_key, company_domain, linkedin_url, first_name, last_name,
        company, title, timezone, country, coalesce(custom_fields, '{}'::jsonb), stage, status, score,
        deal_value, deal_currency, owner, now()
      from x
      returning *
    ), staged as (
      -- The lead's created_at and stage_entered_at are now() too: all are the transaction's start.
      insert into stage_events (workspace_id, lead_id, from_stage, to_stage, reason, source, at)
      select ${input.workspaceId}, id, null, stage, 'created', ${input.source}, now() from x
    ), event as (
      insert into events (workspace_id, type, lead_id, data, at)
      select ${input.workspaceId}, 'lead.created', id, ${JSON.stringify({ source: input.source })}::jsonb, now()
      from x
      returning id, workspace_id, type, lead_id, enrollment_id, data, at
    ), automation as (${automationTriggerInsert(sql`event`, { created: sql`created` })})
    ${outboxInsert(sql`event`, { rows: sql`created` })}`);
  return created;
}

async function updateLeads(
  db: DbOrTx,
  workspaceId: string,
  updates: { leadId: string; group: Group<LeadInput> }[],
  existing: Map<string, LeadRow>,
  rules: ScoringRules,
): Promise<void> {
  if (updates.length === 0) return;
  const records = updates.map(({ leadId, group }) => {
    const old = existing.get(leadId);
    // Keep the score invariant (see engine/scoring.ts): add the attribute points the edit changes.
    const delta =
      old && rules.attributes.length > 0
        ? attributePoints(rules, scoredLead(group.value, old)) - attributePoints(rules, scoredLead({}, old))
        : 0;
    return { id: leadId, ...identityColumns(group.value), score_delta: delta };
  });
  await db.execute(sql`
    with x as (
      select * from json_to_recordset(${JSON.stringify(records)}::json)
        as x(id uuid, ${recordColumns}, score_delta int)
    )
    update leads l set
      email = coalesce(x.email, l.email), email_key = coalesce(x.email_key, l.email_key),
      company_domain = coalesce(x.company_domain, l.company_domain),
      linkedin_url = coalesce(x.linkedin_url, l.linkedin_url),
      first_name = coalesce(x.first_name, l.first_name), last_name = coalesce(x.last_name, l.last_name),
      company = coalesce(x.company, l.company), title = coalesce(x.title, l.title),
      timezone = coalesce(x.timezone, l.timezone), country = coalesce(x.country, l.country),
      custom_fields = l.custom_fields || coalesce(x.custom_fields, '{}'::jsonb),
      deal_value = coalesce(x.deal_value, l.deal_value),
      deal_currency = coalesce(x.deal_currency, l.deal_currency), owner = coalesce(x.owner, l.owner),
      score = l.score + x.score_delta, updated_at = now()
    from x where l.id = x.id and l.workspace_id = ${workspaceId}`);
}

/** Existing leads whose row named another stage move there: one bulk move per target stage. */
async function moveToRequestedStages(
  db: DbOrTx,
  input: { workspaceId: string; source: StageChangeSource },
  updates: { leadId: string; group: Group<LeadInput> }[],
  existing: Map<string, LeadRow>,
): Promise<void> {
  const byTarget = new Map<string, string[]>();
  for (const { leadId, group } of updates) {
    const target = group.value.stage;
    if (!target || existing.get(leadId)?.stage === target) continue;
    const list = byTarget.get(target) ?? [];
    list.push(leadId);
    byTarget.set(target, list);
  }
  for (const [toStage, leadIds] of byTarget) {
    await bulkChangeStage(db, { workspaceId: input.workspaceId, leadIds, toStage, source: input.source });
  }
}

async function atOrAbove(db: DbOrTx, leadIds: string[], threshold: number): Promise<string[]> {
  if (leadIds.length === 0) return [];
  const result = await db.execute<{ id: string }>(sql`
    select id from leads where id = any(${sql.param(leadIds)}::uuid[]) and score >= ${threshold}`);
  return result.rows.map((r) => r.id);
}
