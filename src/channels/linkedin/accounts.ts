import { and, eq, isNull, sql } from 'drizzle-orm';
import type { DbOrTx } from '../../db/client';
import { linkedinAccounts } from '../../db/schema/index';
import { recordEvent } from '../../timeline/events';

export type LinkedInAccountRow = typeof linkedinAccounts.$inferSelect;

/** The workspace's accounts that are not deleted. */
export const live = (workspaceId: string) =>
  and(eq(linkedinAccounts.workspaceId, workspaceId), isNull(linkedinAccounts.deletedAt));

/** A live (not deleted) account of the workspace, or null. */
export async function findAccount(
  db: DbOrTx,
  workspaceId: string,
  accountId: string,
): Promise<LinkedInAccountRow | null> {
  const [row] = await db
    .select()
    .from(linkedinAccounts)
    .where(and(eq(linkedinAccounts.id, accountId), live(workspaceId)));
  return row ?? null;
}

/**
 * The order a new enrollment picks its account in: the one that acted least over the last day
 * first, then the oldest. The worker and the simulation both order by this.
 */
export function leastBusyFirst(
  a: { recent: number; account: Pick<LinkedInAccountRow, 'createdAt'> },
  b: { recent: number; account: Pick<LinkedInAccountRow, 'createdAt'> },
): number {
  if (a.recent !== b.recent) return a.recent - b.recent;
  return a.account.createdAt.getTime() - b.account.createdAt.getTime();
}

/** The active account of the workspace that acted least over the last day, for a new enrollment. */
export async function pickActiveAccount(db: DbOrTx, workspaceId: string): Promise<LinkedInAccountRow | null> {
  // Written out: in a select list drizzle leaves columns unqualified, and `id` would be the action's.
  const recent = sql<number>`(select count(*)::int from linkedin_actions la
    where la.account_id = linkedin_accounts.id and la.at > now() - interval '1 day')`;
  const rows = await db
    .select({ account: linkedinAccounts, recent })
    .from(linkedinAccounts)
    .where(and(live(workspaceId), eq(linkedinAccounts.status, 'active')));
  return rows.map((r) => ({ ...r, recent: Number(r.recent) })).sort(leastBusyFirst)[0]?.account ?? null;
}

/**
 * Marks the account challenged (checkpoint, captcha, login wall) and records
 * `linkedin.account_challenged`, once per episode: an already challenged account records nothing.
 */
export async function markChallenged(
  db: DbOrTx,
  input: { workspaceId: string; accountId: string; reason: string },
): Promise<boolean> {
  return db.transaction(async (tx) => {
    const [row] = await tx
      .update(linkedinAccounts)
      .set({ status: 'challenged', statusReason: input.reason, updatedAt: new Date() })
      .where(and(eq(linkedinAccounts.id, input.accountId), eq(linkedinAccounts.status, 'active')))
      .returning({ id: linkedinAccounts.id, name: linkedinAccounts.name });
    if (!row) return false;
    await recordEvent(tx, {
      workspaceId: input.workspaceId,
      type: 'linkedin.account_challenged',
      data: { accountId: row.id, accountName: row.name, reason: input.reason },
    });
    return true;
  });
}

/**
 * Why a wall challenges the account (`statusReason`): `checkpoint`, `login_wall`, or
 * `account_chooser` (LinkedIn's "Welcome back" page); null for anything that is not a wall.
 */
export function challengeReasonOf(res: { problem: string; detail?: string }): string | null {
  if (res.problem === 'checkpoint') return 'checkpoint';
  if (res.problem === 'logged_out')
    return res.detail === 'account_chooser' ? 'account_chooser' : 'login_wall';
  return null;
}
