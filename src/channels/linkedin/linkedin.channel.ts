import type { Deps } from '../../context';
import type { Channel, ChannelResult, StepContext } from '../../engine/channel';
import { nextWindowTime, resolveTimezone, spreadSeed } from '../../core/schedule';
import { leadVariables } from '../../core/templates';
import { renderTemplates } from '../../engine/render/template-pool';
import { findAccount, type LinkedInAccountRow, pickActiveAccount } from './accounts';
import { stepTypesOf } from '../../core/step-types';
import { invitesBlockedUntil } from './invite-block';
import { type ActionKind, nextFreeSlot } from './limits';
import { closeLinkedInRuntime, runtimeFor } from './runtime';
import { ACCOUNT_RECHECK_MS, type LinkedInAction, later, performAction } from './step-action';

type ChannelDeps = Pick<Deps, 'config' | 'db' | 'pool' | 'secrets' | 'log'>;

const retry = (at: Date, reason: string): ChannelResult => ({ kind: 'retry_later', at, reason });

/**
 * The step's action with its templates rendered over the lead; a template error is a value. The
 * step preview (`POST /v1/sequences/:id/preview`) renders LinkedIn steps through it too.
 */
export async function buildAction(
  ctx: Pick<StepContext, 'lead' | 'step'>,
): Promise<LinkedInAction | { error: string }> {
  const vars = leadVariables(ctx.lead);
  const rendered = async (source: string) => {
    const [outcome] = await renderTemplates([{ source, vars }]);
    return outcome ?? { ok: false as const, error: 'render failed' };
  };
  switch (ctx.step.type) {
    case 'linkedin_visit':
      return { kind: 'visit' };
    case 'linkedin_invite': {
      if (!ctx.step.note) return { kind: 'invite', note: undefined };
      const note = await rendered(ctx.step.note);
      return note.ok ? { kind: 'invite', note: note.text.trim() || undefined } : { error: note.error };
    }
    case 'linkedin_message': {
      const text = await rendered(ctx.step.body);
      return text.ok ? { kind: 'message', text: text.text.trim() } : { error: text.error };
    }
    default:
      return { error: `not a linkedin step: ${ctx.step.type}` };
  }
}

/**
 * The enrollment's account when it has a live one, else the least busy active account of the
 * workspace. Sticking to one account matters: only the account that invited can message.
 */
async function resolveAccount(deps: ChannelDeps, ctx: StepContext): Promise<LinkedInAccountRow | null> {
  const assigned = ctx.enrollment.linkedinAccountId;
  if (assigned) {
    const account = await findAccount(deps.db, ctx.lead.workspaceId, assigned);
    if (account) return account;
  }
  return pickActiveAccount(deps.db, ctx.lead.workspaceId);
}

/** Checks that must hold at the moment of acting, so they run again inside the account lock. */
async function gate(
  deps: ChannelDeps,
  account: LinkedInAccountRow,
  kind: ActionKind,
  now: Date,
): Promise<ChannelResult | null> {
  const fresh = await findAccount(deps.db, account.workspaceId, account.id);
  if (!fresh) return retry(later(ACCOUNT_RECHECK_MS), 'no_linkedin_account');
  if (fresh.status !== 'active') return retry(later(ACCOUNT_RECHECK_MS), `account_${fresh.status}`);
  const free = await nextFreeSlot(deps.db, fresh, kind, now);
  if (free) return retry(free, 'limit');
  if (kind === 'invite') {
    const until = await invitesBlockedUntil(deps.db, {
      workspaceId: fresh.workspaceId,
      accountId: fresh.id,
      now,
    });
    if (until) return retry(until, 'limit');
  }
  return null;
}

async function sendStep(deps: ChannelDeps, ctx: StepContext): Promise<ChannelResult> {
  const profileUrl = ctx.lead.linkedinUrl;
  if (!profileUrl) return { kind: 'failed', reason: 'no_linkedin_url' };
  const action = await buildAction(ctx);
  if ('error' in action) return { kind: 'failed', reason: `template_error: ${action.error}` };
  const account = await resolveAccount(deps, ctx);
  if (!account) return retry(later(ACCOUNT_RECHECK_MS), 'no_linkedin_account');
  if (account.status !== 'active') return retry(later(ACCOUNT_RECHECK_MS), `account_${account.status}`);
  const now = new Date();
  if (account.workingHours) {
    const tz = resolveTimezone(account.workingHours.timezone);
    // Spread like the sequence window: the account's leads are not all due the second it opens.
    const seed = spreadSeed(ctx.lead.id, ctx.step.id);
    const opens = nextWindowTime(now, { ...account.workingHours, timezone: tz }, tz, { seed });
    if (opens.getTime() > now.getTime()) return retry(opens, 'working_hours');
  }
  const runtime = runtimeFor(deps);
  try {
    const run = await runtime.withDriver(account, async (driver) => {
      const blocked = await gate(deps, account, action.kind, new Date());
      if (blocked) return blocked;
      // The action runs after the engine's hand-off check: a reply committed since the claim stops
      // it; one committed during the action finds the run in flight and does not wait for it.
      const handed = await ctx.handOff(() =>
        performAction(
          {
            deps,
            ctx,
            accountId: account.id,
            profileUrl,
            whenNoteQuotaExhausted: account.whenNoteQuotaExhausted,
          },
          driver,
          action,
        ),
      );
      if (handed.allowed) return handed.value;
      // Acknowledged inbound mail is not applied yet: look again shortly.
      if (handed.retryAt)
        return {
          kind: 'retry_later',
          at: handed.retryAt,
          reason: 'inbound_pending',
          countsAsAttempt: false,
        } satisfies ChannelResult;
      return { kind: 'stopped', reason: 'stopped_before_send' } satisfies ChannelResult;
    });
    if (run.kind === 'busy') return retry(later(30_000), 'account_busy');
    const result = run.value;
    return result.kind === 'sent' && ctx.enrollment.linkedinAccountId !== account.id
      ? { ...result, enrollmentPatch: { linkedinAccountId: account.id } }
      : result;
  } catch (err) {
    // A crashed browser or a navigation error: nothing was confirmed, so try again later, fresh.
    deps.log.warn({ err, accountId: account.id, stepRunId: ctx.run.id }, 'linkedin driver error');
    await runtime.discard(account.id);
    return { kind: 'retry_later', at: later(5 * 60_000), reason: 'driver_error', countsAsAttempt: true };
  }
}

/** The LinkedIn channel: visit, invite and message steps, run under the account's limits and lock. */
export function createLinkedInChannel(deps: ChannelDeps): Channel {
  return {
    stepTypes: stepTypesOf('linkedin'),
    send: (ctx) => sendStep(deps, ctx),
    close: () => closeLinkedInRuntime(deps),
  };
}
