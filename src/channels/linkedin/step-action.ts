import type { Deps } from '../../context';
import { messages } from '../../db/schema/index';
import type { ChannelResult, StepContext } from '../../engine/channel';
import { markChallenged } from './accounts';
import { noteConnected } from './connection';
import type { DriverProblem, DriverResult, LinkedInDriver } from './driver';
import { blockInvites } from './invite-block';
import { type ActionKind, recordAction } from './limits';

const MINUTE = 60_000;
export const later = (ms: number) => new Date(Date.now() + ms);

/** How long a step waits after the account hit a wall, before it checks the account again. */
export const ACCOUNT_RECHECK_MS = 15 * MINUTE;

export type LinkedInAction =
  | { kind: 'visit' }
  | { kind: 'invite'; note: string | undefined }
  | { kind: 'message'; text: string };

type ActionInput = {
  deps: Pick<Deps, 'db' | 'log'>;
  ctx: StepContext;
  accountId: string;
  profileUrl: string;
};

/** Runs the action through the driver and turns what LinkedIn showed into the step's result. */
export async function performAction(
  input: ActionInput,
  driver: LinkedInDriver,
  action: LinkedInAction,
): Promise<ChannelResult> {
  const { profileUrl } = input;
  if (action.kind === 'visit') {
    const res = await driver.visitProfile(profileUrl);
    if (!res.ok) return onProblem(input, res, 'visit');
    await recordAction(input.deps.db, { accountId: input.accountId, kind: 'visit', profileUrl });
    if (res.value.connection === 'connected') await connected(input);
    return { kind: 'sent', data: { connection: res.value.connection } };
  }
  if (action.kind === 'invite') {
    const res = await driver.sendInvite(profileUrl, action.note);
    if (!res.ok) return onProblem(input, res, 'invite');
    if (res.value === 'already_connected') {
      await connected(input);
      return { kind: 'sent', data: { alreadyConnected: true } };
    }
    if (res.value === 'already_pending') return { kind: 'sent', data: { alreadyPending: true } };
    await recordAction(input.deps.db, { accountId: input.accountId, kind: 'invite', profileUrl });
    return { kind: 'sent', data: { invited: true, note: action.note ?? null } };
  }
  const res = await driver.sendMessage(profileUrl, action.text);
  if (!res.ok) return onProblem(input, res, 'message');
  await recordAction(input.deps.db, { accountId: input.accountId, kind: 'message', profileUrl });
  return { kind: 'sent', data: { messageRowId: await storeOutbound(input, action.text) } };
}

/** The sent message, on the lead's timeline and where inbound matching looks for the last outbound. */
async function storeOutbound(input: ActionInput, text: string): Promise<string | null> {
  const { ctx } = input;
  const [row] = await input.deps.db
    .insert(messages)
    .values({
      workspaceId: ctx.lead.workspaceId,
      leadId: ctx.lead.id,
      enrollmentId: ctx.enrollment.id,
      stepRunId: ctx.run.id,
      direction: 'outbound',
      channel: 'linkedin',
      toAddress: input.profileUrl,
      bodyText: text,
      status: 'sent',
    })
    .returning({ id: messages.id });
  return row?.id ?? null;
}

function connected(input: ActionInput): Promise<void> {
  return noteConnected(input.deps.db, {
    workspaceId: input.ctx.lead.workspaceId,
    leadId: input.ctx.lead.id,
    accountId: input.accountId,
    enrollmentId: input.ctx.enrollment.id,
  });
}

const challengeReasons: Partial<Record<DriverProblem, string>> = {
  checkpoint: 'checkpoint',
  logged_out: 'login_wall',
};

/**
 * Walls pause the whole account and keep the step scheduled; a missing profile fails the step for
 * good; the weekly-limit notice defers invitations until the rolling week frees a slot.
 */
async function onProblem(
  input: ActionInput,
  res: Extract<DriverResult<unknown>, { ok: false }>,
  kind: ActionKind,
): Promise<ChannelResult> {
  const workspaceId = input.ctx.lead.workspaceId;
  const challenge = challengeReasons[res.problem];
  if (challenge) {
    await markChallenged(input.deps.db, { workspaceId, accountId: input.accountId, reason: challenge });
    input.deps.log.warn({ accountId: input.accountId, reason: challenge }, 'linkedin account challenged');
    return { kind: 'retry_later', at: later(ACCOUNT_RECHECK_MS), reason: 'account_challenged' };
  }
  switch (res.problem) {
    case 'not_found':
      return { kind: 'failed', reason: 'profile_not_found' };
    case 'not_connected':
      return { kind: 'failed', reason: 'not_connected' };
    case 'weekly_limit': {
      const at = await blockInvites(input.deps.db, {
        workspaceId,
        accountId: input.accountId,
        now: new Date(),
      });
      return { kind: 'retry_later', at, reason: 'limit' };
    }
    default:
      input.deps.log.warn(
        { accountId: input.accountId, kind, detail: res.detail },
        'unexpected linkedin page',
      );
      return {
        kind: 'retry_later',
        at: later(10 * MINUTE),
        reason: 'unexpected_page',
        countsAsAttempt: true,
      };
  }
}
