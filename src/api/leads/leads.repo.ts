import { and, eq, ilike, isNull, lt, or, type SQL, sql } from 'drizzle-orm';
import type { DbOrTx } from '../../db/client';
import { type Cursor, keyset } from '../../db/keyset';
import { leads } from '../../db/schema/index';
import type { Lead } from './leads.schemas';

export type LeadRow = typeof leads.$inferSelect;

/**
 * Serialises writes that touch lead identities (email, LinkedIn URL) within one workspace, for the
 * rest of the caller's transaction: an upsert reads who exists, then inserts, and two concurrent
 * upserts of the same person must not both insert.
 */
export async function lockLeadWrites(db: DbOrTx, workspaceId: string): Promise<void> {
  await db.execute(sql`select pg_advisory_xact_lock(hashtextextended(${`leads:${workspaceId}`}, 0))`);
}

/** A live (not erased) lead of this workspace. */
export async function findLead(
  db: DbOrTx,
  workspaceId: string,
  leadId: string,
  opts: { forUpdate?: boolean } = {},
): Promise<LeadRow | null> {
  const query = db
    .select()
    .from(leads)
    .where(and(eq(leads.id, leadId), eq(leads.workspaceId, workspaceId), isNull(leads.erasedAt)));
  const [row] = opts.forUpdate ? await query.for('update') : await query;
  return row ?? null;
}

export function leadView(row: LeadRow): Lead {
  return {
    id: row.id,
    email: row.email,
    linkedinUrl: row.linkedinUrl,
    firstName: row.firstName,
    lastName: row.lastName,
    company: row.company,
    title: row.title,
    timezone: row.timezone,
    country: row.country,
    customFields: row.customFields,
    stage: row.stage,
    score: row.score,
    status: row.status,
    dealValue: row.dealValue,
    dealCurrency: row.dealCurrency,
    owner: row.owner,
    lastActivityAt: row.lastActivityAt.toISOString(),
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

/** `text` for a LIKE pattern: its `\\`, `%` and `_` match themselves. */
export const escapeLike = (text: string) => text.replace(/[\\%_]/g, '\\$&');

export async function listLeadRows(
  db: DbOrTx,
  workspaceId: string,
  filter: { stage?: string; q?: string; staleDays?: number; cursor: Cursor | null; limit: number },
): Promise<LeadRow[]> {
  const conditions: (SQL | undefined)[] = [eq(leads.workspaceId, workspaceId), isNull(leads.erasedAt)];
  if (filter.stage) conditions.push(eq(leads.stage, filter.stage));
  if (filter.q) {
    const pattern = `%${escapeLike(filter.q)}%`;
    conditions.push(
      or(
        ilike(leads.firstName, pattern),
        ilike(leads.lastName, pattern),
        ilike(leads.email, pattern),
        ilike(leads.company, pattern),
        sql`(coalesce(${leads.firstName}, '') || ' ' || coalesce(${leads.lastName}, '')) ilike ${pattern}`,
      ),
    );
  }
  if (filter.staleDays !== undefined) {
    conditions.push(lt(leads.lastActivityAt, sql`now() - make_interval(days => ${filter.staleDays})`));
  }
  // Pages stay exact even for the thousands of leads one bulk call creates in the same millisecond.
  const page = keyset(leads.createdAt, leads.id, filter.cursor);
  return db
    .select()
    .from(leads)
    .where(and(...conditions, page.where))
    .orderBy(...page.orderBy)
    .limit(filter.limit + 1);
}
