import { and, asc, eq, gt, inArray, sql } from 'drizzle-orm';
import type { DbOrTx } from '../../db/client';
import { type LinkedInLimits, linkedinActions } from '../../db/schema/index';

export type ActionKind = 'visit' | 'invite' | 'message';

const DAY_MS = 24 * 3600 * 1000;

/** docs/design.md §4: what keeps an account under LinkedIn's radar, per rolling window. */
export const defaultLimits: LinkedInLimits = { invitesPerWeek: 100, messagesPerDay: 50, visitsPerDay: 80 };

/** Each action's rolling window and the limit field that caps it. */
export const actionWindows: Record<ActionKind, { windowMs: number; limit: (l: LinkedInLimits) => number }> = {
  invite: { windowMs: 7 * DAY_MS, limit: (l) => l.invitesPerWeek },
  message: { windowMs: DAY_MS, limit: (l) => l.messagesPerDay },
  visit: { windowMs: DAY_MS, limit: (l) => l.visitsPerDay },
};

/** Stored limits over the defaults: accounts created before a limit existed still get one. */
export const effectiveLimits = (stored: Partial<LinkedInLimits> | null | undefined): LinkedInLimits => ({
  ...defaultLimits,
  ...stored,
});

/**
 * When the next action fits under `limit` in a rolling window, or null when one fits now.
 * `times` are the actions inside the window (any order). With N actions and a limit L, the slot opens
 * when the (N-L+1)-th most recent falls out: the oldest ones must expire until only L-1 remain.
 */
export function slotFreeAt(times: Date[], limit: number, windowMs: number, now: Date): Date | null {
  const inWindow = times
    .filter((t) => t.getTime() > now.getTime() - windowMs && t.getTime() <= now.getTime())
    .sort((a, b) => a.getTime() - b.getTime());
  if (inWindow.length < limit) return null;
  // A limit of 0 means "none for now": look again after a full window.
  if (limit <= 0) return new Date(now.getTime() + windowMs);
  const expiring = inWindow[inWindow.length - limit];
  return expiring ? new Date(expiring.getTime() + windowMs) : null;
}

async function actionTimes(db: DbOrTx, accountId: string, kind: ActionKind, now: Date): Promise<Date[]> {
  const since = new Date(now.getTime() - actionWindows[kind].windowMs);
  const rows = await db
    .select({ at: linkedinActions.at })
    .from(linkedinActions)
    .where(
      and(
        eq(linkedinActions.accountId, accountId),
        eq(linkedinActions.kind, kind),
        gt(linkedinActions.at, since),
      ),
    )
    .orderBy(asc(linkedinActions.at));
  return rows.map((r) => r.at);
}

/** When the account may take another `kind` action under its limits; null when it may now. */
export async function nextFreeSlot(
  db: DbOrTx,
  account: { id: string; limits: Partial<LinkedInLimits> | null },
  kind: ActionKind,
  now: Date,
): Promise<Date | null> {
  const { windowMs, limit } = actionWindows[kind];
  const times = await actionTimes(db, account.id, kind, now);
  return slotFreeAt(times, limit(effectiveLimits(account.limits)), windowMs, now);
}

/** The oldest action of `kind` still inside its window: when LinkedIn's own counter frees a slot. */
export async function oldestInWindow(
  db: DbOrTx,
  accountId: string,
  kind: ActionKind,
  now: Date,
): Promise<Date | null> {
  return (await actionTimes(db, accountId, kind, now))[0] ?? null;
}

export async function recordAction(
  db: DbOrTx,
  input: { accountId: string; kind: ActionKind; profileUrl: string | null; at?: Date },
): Promise<void> {
  await db.insert(linkedinActions).values({
    accountId: input.accountId,
    kind: input.kind,
    profileUrl: input.profileUrl,
    at: input.at ?? new Date(),
  });
}

export type Usage = { invites: number; messages: number; visits: number };

/** Actions taken in each current window, per account. */
export async function usageByAccount(
  db: DbOrTx,
  accountIds: string[],
  now: Date,
): Promise<Map<string, Usage>> {
  const usage = new Map<string, Usage>(accountIds.map((id) => [id, { invites: 0, messages: 0, visits: 0 }]));
  if (accountIds.length === 0) return usage;
  const dayAgo = new Date(now.getTime() - DAY_MS);
  const weekAgo = new Date(now.getTime() - 7 * DAY_MS);
  const rows = await db
    .select({
      accountId: linkedinActions.accountId,
      invites: sql<number>`count(*) filter (where ${linkedinActions.kind} = 'invite')::int`,
      messages: sql<number>`count(*) filter (where ${linkedinActions.kind} = 'message' and ${linkedinActions.at} > ${dayAgo})::int`,
      visits: sql<number>`count(*) filter (where ${linkedinActions.kind} = 'visit' and ${linkedinActions.at} > ${dayAgo})::int`,
    })
    .from(linkedinActions)
    .where(and(inArray(linkedinActions.accountId, accountIds), gt(linkedinActions.at, weekAgo)))
    .groupBy(linkedinActions.accountId);
  for (const r of rows)
    usage.set(r.accountId, { invites: r.invites, messages: r.messages, visits: r.visits });
  return usage;
}
