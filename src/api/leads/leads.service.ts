import { and, eq, ne } from 'drizzle-orm';
import type { Db, DbOrTx } from '../../db/client';
import { leads } from '../../db/schema/index';
import { attributePoints, type ScoredLead } from '../../core/scoring';
import { decodeCursor, toPage } from '../../db/keyset';
import { emailDomain, emailKey } from '../../lib/identity';
import { loadScoringRules, promoteQualified } from '../../timeline/scoring';
import { upsertLeads } from './bulk-upsert';
import { findLead, type LeadRow, leadView, listLeadRows, lockLeadWrites } from './leads.repo';
import type { LeadInput, LeadListQuery, LeadPatch } from './leads.schemas';

export type UpsertOutcome =
  | { ok: true; created: boolean; lead: LeadRow }
  | { ok: false; error: 'lead_identity_conflict' | 'unknown_stage'; message: string };

/** One lead through the same path as the bulk endpoint, so both follow the same dedup rules. */
export async function upsertLead(db: Db, workspaceId: string, lead: LeadInput): Promise<UpsertOutcome> {
  return db.transaction(async (tx) => {
    const result = await upsertLeads(tx, { workspaceId, rows: [lead], source: 'api' });
    const failure = result.failed[0];
    if (failure) {
      const error = failure.error.startsWith('stage:') ? 'unknown_stage' : 'lead_identity_conflict';
      return { ok: false, error, message: failure.error };
    }
    const id = result.ids[0];
    const row = id ? await findLead(tx, workspaceId, id) : null;
    if (!row) throw new Error('upserted lead not found');
    return { ok: true, created: result.created === 1, lead: row };
  });
}

export async function listLeads(db: DbOrTx, workspaceId: string, query: LeadListQuery) {
  const rows = await listLeadRows(db, workspaceId, { ...query, cursor: decodeCursor(query.cursor) });
  return toPage(rows, query.limit, leadView);
}

export type PatchOutcome =
  | { ok: true; lead: LeadRow }
  | { ok: false; error: 'not_found' }
  | { ok: false; error: 'lead_exists'; field: 'email' | 'linkedinUrl'; leadId: string }
  | { ok: false; error: 'no_identity' };

const scored = (row: LeadRow): ScoredLead => row;

/** Edits a lead: given fields replace (null clears), custom fields merge (null removes a key). */
export async function patchLead(db: Db, workspaceId: string, leadId: string, patch: LeadPatch) {
  return db.transaction(async (tx): Promise<PatchOutcome> => {
    await lockLeadWrites(tx, workspaceId);
    const old = await findLead(tx, workspaceId, leadId, { forUpdate: true });
    if (!old) return { ok: false, error: 'not_found' };
    const next = applyPatch(old, patch);
    if (!next.emailKey && !next.linkedinUrl) return { ok: false, error: 'no_identity' };
    for (const field of ['email', 'linkedinUrl'] as const) {
      const column = field === 'email' ? leads.emailKey : leads.linkedinUrl;
      const value = field === 'email' ? next.emailKey : next.linkedinUrl;
      if (value === null || patch[field] === undefined) continue;
      const [other] = await tx
        .select({ id: leads.id })
        .from(leads)
        .where(and(eq(leads.workspaceId, workspaceId), eq(column, value), ne(leads.id, leadId)));
      if (other) return { ok: false, error: 'lead_exists', field, leadId: other.id };
    }
    const rules = await loadScoringRules(tx, workspaceId);
    next.score = old.score + attributePoints(rules, scored(next)) - attributePoints(rules, scored(old));
    const { id: _id, workspaceId: _ws, createdAt: _created, ...editable } = next;
    const [row] = await tx
      .update(leads)
      .set({ ...editable, updatedAt: new Date() })
      .where(eq(leads.id, leadId))
      .returning();
    if (!row) throw new Error('lead update returned nothing');
    if (rules.qualifyThreshold !== null && row.score >= rules.qualifyThreshold) {
      await promoteQualified(tx, workspaceId, [leadId]);
      return { ok: true, lead: (await findLead(tx, workspaceId, leadId)) ?? row };
    }
    return { ok: true, lead: row };
  });
}

function applyPatch(old: LeadRow, patch: LeadPatch): LeadRow {
  const next: LeadRow = { ...old };
  if (patch.email !== undefined) {
    next.email = patch.email;
    next.emailKey = patch.email === null ? null : emailKey(patch.email);
    next.companyDomain = patch.email === null ? null : emailDomain(patch.email);
  }
  if (patch.linkedinUrl !== undefined) next.linkedinUrl = patch.linkedinUrl;
  if (patch.firstName !== undefined) next.firstName = patch.firstName;
  if (patch.lastName !== undefined) next.lastName = patch.lastName;
  if (patch.company !== undefined) next.company = patch.company;
  if (patch.title !== undefined) next.title = patch.title;
  if (patch.timezone !== undefined) next.timezone = patch.timezone;
  if (patch.country !== undefined) next.country = patch.country;
  if (patch.status !== undefined) next.status = patch.status;
  if (patch.dealValue !== undefined) next.dealValue = patch.dealValue;
  if (patch.dealCurrency !== undefined) next.dealCurrency = patch.dealCurrency;
  if (patch.owner !== undefined) next.owner = patch.owner;
  if (patch.customFields) {
    const merged: Record<string, unknown> = { ...old.customFields, ...patch.customFields };
    next.customFields = Object.fromEntries(Object.entries(merged).filter(([, v]) => v !== null));
  }
  return next;
}
