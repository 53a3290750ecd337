import { and, between, eq, gt, inArray, isNull, sql } from 'drizzle-orm';
import type { Deps } from '../../context';
import { events, leads, linkedinAccounts, linkedinActions, messages } from '../../db/schema/index';
import { challengeReasonOf, type LinkedInAccountRow, markChallenged } from './accounts';
import { ingestLinkedInEvent } from '../../engine/inbound/ingest';
import { connectedEventTypes } from '../../core/step-types';
import type { DriverProblem, InboundLinkedInMessage, LinkedInDriver } from './driver';
import { markLayoutUnrecognized } from './layout-status';
import { runtimeFor } from './runtime';

type SyncDeps = Pick<Deps, 'config' | 'db' | 'pool' | 'secrets' | 'log' | 'redis'>;

/** Invitations older than this are treated as ignored and no longer checked. */
const PENDING_DAYS = 30;
/** Pending invitations checked one profile at a time, per account and pass, when not in the list. */
const PROFILE_CHECKS_PER_PASS = 5;
/** A pending profile is opened at most once a day: each check is a profile view LinkedIn sees. */
const PROFILE_RECHECK_SECONDS = 24 * 3600;

type Pending = { workspaceId: string; leadId: string; linkedinUrl: string; invitedAt: Date };

/** Leads this account invited (within 30 days) with no acceptance or connection recorded yet. */
async function pendingInvitations(deps: SyncDeps, account: LinkedInAccountRow): Promise<Pending[]> {
  const since = new Date(Date.now() - PENDING_DAYS * 24 * 3600 * 1000);
  return deps.db
    .selectDistinctOn([leads.id], {
      workspaceId: leads.workspaceId,
      leadId: leads.id,
      linkedinUrl: sql<string>`${leads.linkedinUrl}`,
      invitedAt: linkedinActions.at,
    })
    .from(linkedinActions)
    .innerJoin(
      leads,
      and(eq(leads.workspaceId, account.workspaceId), eq(leads.linkedinUrl, linkedinActions.profileUrl)),
    )
    .where(
      and(
        eq(linkedinActions.accountId, account.id),
        eq(linkedinActions.kind, 'invite'),
        gt(linkedinActions.at, since),
        isNull(leads.erasedAt),
        sql`not exists (select 1 from ${events} where ${events.leadId} = ${leads.id} and ${inArray(events.type, [...connectedEventTypes])})`,
      ),
    )
    .orderBy(leads.id, linkedinActions.at);
}

/** Claims the once-a-day profile check of a pending invitation (a TTL key: losing it costs one view). */
async function claimProfileCheck(deps: SyncDeps, accountId: string, leadId: string): Promise<boolean> {
  const key = `${deps.config.QUEUE_PREFIX}:linkedin:checked:${accountId}:${leadId}`;
  return (await deps.redis.set(key, '1', 'EX', PROFILE_RECHECK_SECONDS, 'NX')) === 'OK';
}

type PassResult = { ok: true } | { ok: false; problem: DriverProblem; detail?: string };

const DAY_MS = 24 * 3600 * 1000;

/**
 * Whether this message was ingested before. Reading never marks a conversation read, so an unread
 * one is read again at every pass until its owner opens it: the same sender, the same text, and a
 * time within a day of the page's (or, when the page gave none, within the last 30 days).
 */
async function alreadyIngested(
  deps: SyncDeps,
  workspaceId: string,
  m: InboundLinkedInMessage,
): Promise<boolean> {
  const [from, to] = m.atFromPage
    ? [new Date(m.at.getTime() - DAY_MS), new Date(m.at.getTime() + DAY_MS)]
    : [new Date(Date.now() - 30 * DAY_MS), new Date(Date.now() + DAY_MS)];
  const rows = await deps.db
    .select({ id: messages.id })
    .from(messages)
    .where(
      and(
        eq(messages.workspaceId, workspaceId),
        eq(messages.channel, 'linkedin'),
        eq(messages.direction, 'inbound'),
        eq(messages.fromAddress, m.profileUrl),
        eq(messages.bodyText, m.text),
        between(messages.createdAt, from, to),
      ),
    )
    .limit(1);
  return rows.length > 0;
}

/**
 * Finds accepted invitations: one look at the connections list (newest first) settles most; a few
 * older pending ones are checked on their profile. Each acceptance goes through the inbound pipeline,
 * which records `linkedin.invite_accepted`.
 */
async function refreshConnections(
  deps: SyncDeps,
  account: LinkedInAccountRow,
  driver: LinkedInDriver,
  pending: Pending[],
): Promise<PassResult> {
  const listed = await driver.recentConnections();
  if (!listed.ok) return listed;
  const connected = new Set(listed.value);
  let checks = 0;
  for (const p of pending) {
    let accepted = connected.has(p.linkedinUrl);
    if (
      !accepted &&
      checks < PROFILE_CHECKS_PER_PASS &&
      (await claimProfileCheck(deps, account.id, p.leadId))
    ) {
      checks += 1;
      const status = await driver.connectionStatus(p.linkedinUrl);
      if (!status.ok && status.problem !== 'not_found') return status;
      accepted = status.ok && status.value === 'connected';
    }
    if (accepted) {
      await ingestLinkedInEvent(deps, {
        workspaceId: p.workspaceId,
        type: 'invite_accepted',
        linkedinUrl: p.linkedinUrl,
      });
    }
  }
  return { ok: true };
}

/** New messages from the inbox go through the same reply pipeline as email replies. */
async function fetchReplies(
  deps: SyncDeps,
  account: LinkedInAccountRow,
  driver: LinkedInDriver,
): Promise<PassResult> {
  const fetched = await driver.fetchNewMessages();
  if (!fetched.ok) return fetched;
  for (const m of fetched.value) {
    if (await alreadyIngested(deps, account.workspaceId, m)) continue;
    await ingestLinkedInEvent(deps, {
      workspaceId: account.workspaceId,
      type: 'reply',
      linkedinUrl: m.profileUrl,
      text: m.text,
      at: m.at,
    });
  }
  return { ok: true };
}

/** One pass for one account: acceptances, then replies, under the account's lock. */
export async function syncAccount(deps: SyncDeps, account: LinkedInAccountRow): Promise<void> {
  const pending = await pendingInvitations(deps, account);
  const run = await runtimeFor(deps).withDriver(account, async (driver): Promise<PassResult> => {
    if (pending.length > 0) {
      const refreshed = await refreshConnections(deps, account, driver, pending);
      if (!refreshed.ok) return refreshed;
    }
    return fetchReplies(deps, account, driver);
  });
  if (run.kind === 'busy' || run.value.ok) return;
  const failed = run.value;
  const { workspaceId, id: accountId } = account;
  const reason = challengeReasonOf(failed);
  if (reason) {
    await markChallenged(deps.db, { workspaceId, accountId, reason });
    await runtimeFor(deps).discard(accountId);
  } else if (failed.problem === 'layout_unrecognized') {
    // A reader that recognises nothing says so: replies and acceptances would be missed unseen.
    const pageObject = failed.detail ?? 'unknown';
    await markLayoutUnrecognized(deps.db, { workspaceId, accountId, pageObject });
    deps.log.warn({ accountId, pageObject }, 'linkedin sync: page not recognised; account stopped');
  } else {
    deps.log.warn({ accountId, problem: failed.problem }, 'linkedin sync pass stopped');
  }
}

/** Every active account, one after the other (each account's browser work is serial anyway). */
export async function syncLinkedInAccounts(deps: SyncDeps): Promise<void> {
  const accounts = await deps.db
    .select()
    .from(linkedinAccounts)
    .where(and(eq(linkedinAccounts.status, 'active'), isNull(linkedinAccounts.deletedAt)));
  for (const account of accounts) {
    try {
      await syncAccount(deps, account);
    } catch (err) {
      deps.log.warn({ err, accountId: account.id }, 'linkedin sync failed for an account');
      await runtimeFor(deps).discard(account.id);
    }
  }
}
