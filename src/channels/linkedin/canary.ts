import { and, eq, isNull, lt, or } from 'drizzle-orm';
import type { Deps } from '../../context';
import { linkedinAccounts } from '../../db/schema/index';
import { challengeReasonOf, type LinkedInAccountRow, markChallenged } from './accounts';
import type { DriverProblem, LayoutReport } from './driver';
import { markLayoutUnrecognized, recordLayoutCheck } from './layout-status';
import { runtimeFor } from './runtime';

type CanaryDeps = Pick<Deps, 'config' | 'db' | 'pool' | 'secrets' | 'log'>;

export type CanaryResult =
  | { kind: 'report'; report: LayoutReport }
  | { kind: 'problem'; problem: DriverProblem; detail?: string }
  | { kind: 'busy' };

/** Active accounts are looked at every 6 hours; one the canary may restore, every 30 minutes. */
export const CANARY_ACTIVE_EVERY_MS = 6 * 3600_000;
export const CANARY_STOPPED_EVERY_MS = 30 * 60_000;

/**
 * Opens the account's own profile and inbox under the account's lock and reports which page
 * objects recognised them. Read-only on LinkedIn: no click, no conversation opened.
 */
export async function checkAccountLayout(
  deps: CanaryDeps,
  account: LinkedInAccountRow,
): Promise<CanaryResult> {
  const run = await runtimeFor(deps).withDriver(account, (driver) => driver.checkLayout());
  if (run.kind === 'busy') return { kind: 'busy' };
  const res = run.value;
  if (res.ok) return { kind: 'report', report: res.value };
  return res.detail === undefined
    ? { kind: 'problem', problem: res.problem }
    : { kind: 'problem', problem: res.problem, detail: res.detail };
}

/**
 * The scheduled canary: each account due for a look is checked; a page it does not recognise stops
 * an active account (as a failed step would, before any step fails), full recognition restores one
 * it had stopped (layout-status.ts), and a wall challenges it.
 */
export async function runLinkedInCanary(deps: CanaryDeps, now = new Date()): Promise<void> {
  const due = (ms: number) =>
    or(
      isNull(linkedinAccounts.layoutCheckedAt),
      lt(linkedinAccounts.layoutCheckedAt, new Date(now.getTime() - ms)),
    );
  const accounts = await deps.db
    .select()
    .from(linkedinAccounts)
    .where(
      and(
        isNull(linkedinAccounts.deletedAt),
        or(
          and(eq(linkedinAccounts.status, 'active'), due(CANARY_ACTIVE_EVERY_MS)),
          and(eq(linkedinAccounts.status, 'layout_unrecognized'), due(CANARY_STOPPED_EVERY_MS)),
        ),
      ),
    );
  for (const account of accounts) {
    try {
      await applyCheck(deps, account, await checkAccountLayout(deps, account));
    } catch (err) {
      deps.log.warn({ err, accountId: account.id }, 'linkedin canary failed for an account');
      await runtimeFor(deps).discard(account.id);
    }
  }
}

async function applyCheck(deps: CanaryDeps, account: LinkedInAccountRow, result: CanaryResult) {
  const { workspaceId, id: accountId } = account;
  if (result.kind === 'busy') return;
  if (result.kind === 'problem') {
    const reason = challengeReasonOf(result);
    if (reason) {
      await markChallenged(deps.db, { workspaceId, accountId, reason });
      await runtimeFor(deps).discard(accountId);
    } else deps.log.warn({ accountId, problem: result.problem }, 'linkedin canary could not look');
    return;
  }
  const { report } = result;
  const { restored } = await recordLayoutCheck(deps.db, accountId, report);
  const first = report.unrecognised[0];
  if (first) {
    await markLayoutUnrecognized(deps.db, { workspaceId, accountId, pageObject: first });
    deps.log.warn({ accountId, unrecognised: report.unrecognised }, 'linkedin canary: pages not recognised');
  } else if (restored)
    deps.log.info({ accountId }, 'linkedin canary: pages recognised again; account resumed');
}
