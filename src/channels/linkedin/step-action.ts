import type { Deps } from '../../context';
import { messages } from '../../db/schema/index';
import type { ChannelResult, StepContext } from '../../engine/channel';
import { challengeReasonOf, markChallenged } from './accounts';
import { noteConnected } from './connection';
import type { DriverProblem, DriverResult, LinkedInDriver, NoteQuotaFallback } from './driver';
import { blockInvites } from './invite-block';
import { markLayoutUnrecognized } from './layout-status';
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
  /** The account's setting for invitations once LinkedIn's free notes are used up. */
  whenNoteQuotaExhausted: NoteQuotaFallback;
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
    const res = await driver.sendInvite(profileUrl, action.note, {
      whenNoteQuotaExhausted: input.whenNoteQuotaExhausted,
    });
    if (!res.ok) return onProblem(input, res, 'invite');
    if (res.value === 'already_connected') {
      await connected(input);
      return { kind: 'sent', data: { alreadyConnected: true } };
    }
    if (res.value === 'already_pending') return { kind: 'sent', data: { alreadyPending: true } };
    await recordAction(input.deps.db, { accountId: input.accountId, kind: 'invite', profileUrl });
    if (res.value === 'sent_without_note')
      return { kind: 'sent', data: { invited: true, note: null, noteDropped: 'note_quota_exhausted' } };
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

/** Problems that end the step for good: this lead cannot be reached this way. */
const finalReasons: Partial<Record<DriverProblem, string>> = {
  not_found: 'profile_not_found',
  not_connected: 'not_connected',
  email_required: 'email_required',
  note_quota_exhausted: 'note_quota_exhausted',
  connect_unavailable: 'connect_unavailable',
};

/**
 * Every outcome is its own result, never a blind retry: walls challenge the account and a layout the
 * page objects do not recognise stops it (both keep the step scheduled, waiting for the account); a
 * lead that cannot be reached this way fails the step; the weekly-limit notice defers invitations
 * until the rolling week frees a slot.
 */
async function onProblem(
  input: ActionInput,
  res: Extract<DriverResult<unknown>, { ok: false }>,
  kind: ActionKind,
): Promise<ChannelResult> {
  const workspaceId = input.ctx.lead.workspaceId;
  const { accountId } = input;
  const challenge = challengeReasonOf(res);
  if (challenge) {
    await markChallenged(input.deps.db, { workspaceId, accountId, reason: challenge });
    input.deps.log.warn({ accountId, reason: challenge }, 'linkedin account challenged');
    return { kind: 'retry_later', at: later(ACCOUNT_RECHECK_MS), reason: 'account_challenged' };
  }
  if (res.problem === 'layout_unrecognized') {
    const pageObject = res.detail ?? 'unknown';
    await markLayoutUnrecognized(input.deps.db, { workspaceId, accountId, pageObject });
    input.deps.log.warn({ accountId, kind, pageObject }, 'linkedin page not recognised; account stopped');
    return { kind: 'retry_later', at: later(ACCOUNT_RECHECK_MS), reason: 'layout_unrecognized' };
  }
  const final = res.detail === 'own_profile' ? 'own_profile' : finalReasons[res.problem];
  if (final) return { kind: 'failed', reason: final };
  // What is left is LinkedIn's weekly invitation limit.
  const at = await blockInvites(input.deps.db, { workspaceId, accountId, now: new Date() });
  return { kind: 'retry_later', at, reason: 'limit' };
}
