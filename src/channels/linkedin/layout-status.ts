import { and, eq, inArray, sql } from 'drizzle-orm';
import type { DbOrTx } from '../../db/client';
import { linkedinAccounts } from '../../db/schema/index';
import { recordEvent } from '../../timeline/events';
import type { LayoutReport } from './driver';

export const LAYOUT_UNRECOGNIZED_EVENT = 'linkedin.layout_unrecognized';

/**
 * LinkedIn showed the account a page its page objects do not recognise (a markup change, a new
 * A/B bucket): the account stops (`layout_unrecognized`, the page object as `statusReason`), its
 * counter goes up and `linkedin.layout_unrecognized` is recorded, once per episode. Steps wait for
 * the account instead of retrying into the same page; the canary or a person puts it back.
 */
export async function markLayoutUnrecognized(
  db: DbOrTx,
  input: { workspaceId: string; accountId: string; pageObject: string },
): Promise<boolean> {
  return db.transaction(async (tx) => {
    const [row] = await tx
      .update(linkedinAccounts)
      .set({
        status: 'layout_unrecognized',
        statusReason: input.pageObject,
        layoutUnrecognizedTotal: sql`${linkedinAccounts.layoutUnrecognizedTotal} + 1`,
        updatedAt: new Date(),
      })
      .where(and(eq(linkedinAccounts.id, input.accountId), eq(linkedinAccounts.status, 'active')))
      .returning({ id: linkedinAccounts.id, name: linkedinAccounts.name });
    if (!row) return false;
    await recordEvent(tx, {
      workspaceId: input.workspaceId,
      type: LAYOUT_UNRECOGNIZED_EVENT,
      data: {
        accountId: row.id,
        accountName: row.name,
        pageObject: input.pageObject,
      },
    });
    return true;
  });
}

/**
 * Stores what the canary saw. When it recognised everything it looks at, an account stopped for one
 * of those page objects goes back to `active` (LinkedIn rolled back, or a page was slow). One stopped
 * for a page the canary does not open (the invitation dialog, a thread) waits for a person: the
 * canary's success says nothing about it, and restoring it would only meet the same page again.
 */
export async function recordLayoutCheck(
  db: DbOrTx,
  accountId: string,
  report: LayoutReport,
  at = new Date(),
): Promise<{ restored: boolean }> {
  const check = { at: at.toISOString(), ...report };
  await db
    .update(linkedinAccounts)
    .set({ layoutCheck: check, layoutCheckedAt: at })
    .where(eq(linkedinAccounts.id, accountId));
  if (!report.recognised) return { restored: false };
  const checked = report.pages.flatMap((p) => Object.keys(p.recognised));
  const restored = await db
    .update(linkedinAccounts)
    .set({ status: 'active', statusReason: null, updatedAt: at })
    .where(
      and(
        eq(linkedinAccounts.id, accountId),
        eq(linkedinAccounts.status, 'layout_unrecognized'),
        inArray(linkedinAccounts.statusReason, checked),
      ),
    )
    .returning({ id: linkedinAccounts.id });
  return { restored: restored.length > 0 };
}
