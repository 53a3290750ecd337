import { eq, sql } from 'drizzle-orm';
import { z } from 'zod';
import type { Deps } from '../../context';
import type { DbOrTx } from '../../db/client';
import { type InboxStatus, mailboxes, type OAuth2Settings } from '../../db/schema/index';
import type { Secrets } from '../../lib/crypto';
import { BlockedTargetError } from '../../lib/outbound-targets';
import { parseObject, requestToken, type TokenAnswer } from './oauth2-request';
import { recordEvent } from '../../timeline/events';

/** A cached access token is used only while it has more than this left (docs/decisions.md, OAuth2 tokens). */
export const REFRESH_MARGIN_MS = 5 * 60_000;
const MICROSOFT_SCOPE =
  'https://outlook.office.com/IMAP.AccessAsUser.All https://outlook.office.com/SMTP.Send offline_access';

/** The sealed secret half of a mailbox's OAuth2 settings (`mailboxes.oauth2_secret_enc`). */
export const OAuth2Secret = z.object({ clientSecret: z.string(), refreshToken: z.string().min(1) });
export type OAuth2Secret = z.infer<typeof OAuth2Secret>;

export const sealOAuth2Secret = (secrets: Secrets, secret: OAuth2Secret): string =>
  secrets.encrypt(JSON.stringify(OAuth2Secret.parse(secret)));

/** The provider refused the refresh (revoked grant, wrong client, bad settings): an operator must act. */
export class OAuth2AuthError extends Error {
  override name = 'OAuth2AuthError';
  code = 'EOAUTH2';
  constructor(
    message: string,
    readonly retryAt: Date,
  ) {
    super(message);
  }
}

/** The token endpoint failed or was unreachable (5xx, 429, timeout, network): tried again after `retryAt`. */
export class OAuth2TransientError extends Error {
  override name = 'OAuth2TransientError';
  code = 'EOAUTH2';
  constructor(
    message: string,
    readonly retryAt: Date,
  ) {
    super(message);
  }
}

export type OAuth2Deps = Pick<Deps, 'db' | 'secrets' | 'targets' | 'log'>;

/**
 * The token endpoint of a provider. Microsoft's default is the multi-tenant `common` endpoint; an app
 * registered for one tenant sets its own tenant's URL. Null: a custom provider without one.
 */
export function tokenUrlOf(settings: Pick<OAuth2Settings, 'provider' | 'tokenUrl'>): string | null {
  if (settings.provider === 'google') return 'https://oauth2.googleapis.com/token';
  if (settings.provider === 'microsoft')
    return settings.tokenUrl ?? 'https://login.microsoftonline.com/common/oauth2/v2.0/token';
  return settings.tokenUrl;
}

/**
 * A valid access token for the mailbox's OAuth2 settings: the sealed cached one while it has more
 * than 5 minutes left, else a new one from the provider, stored sealed before it is returned. One
 * refresh per mailbox at a time across processes (an advisory lock; the waiters then find the new
 * token). `rejected` is a token a server just refused: it is refreshed even if not yet expired.
 *
 * Throws `OAuth2AuthError` when the provider refuses, `OAuth2TransientError` when it fails, and
 * `BlockedTargetError` when the token URL reaches a private address that is not allowed; each is
 * recorded on the mailbox with a backoff (`inboxRetryAt`), during which the same error is thrown
 * again without asking the provider. Messages carry the provider's words, never a secret.
 */
export async function accessTokenFor(
  deps: OAuth2Deps,
  mailbox: { id: string },
  opts: { rejected?: string } = {},
): Promise<string> {
  const early = settled(deps.secrets, await readTokenRow(deps.db, mailbox.id), opts, new Date());
  if (early) return unwrap(early);
  const outcome = await deps.db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${`oauth2:${mailbox.id}`}, 0))`);
    const row = await readTokenRow(tx, mailbox.id);
    const again = settled(deps.secrets, row, opts, new Date());
    if (again) return again;
    const answer = await refresh(deps, row);
    if (answer.kind === 'token') return storeToken(tx, deps.secrets, row, answer);
    deps.log.warn({ mailboxId: row.id, kind: answer.kind, reason: answer.reason }, 'oauth2 refresh failed');
    return recordFailure(tx, row, answer);
  });
  return unwrap(outcome);
}

type Outcome = { token: string } | { error: Error };
const unwrap = (outcome: Outcome): string => {
  if ('error' in outcome) throw outcome.error;
  return outcome.token;
};

const tokenColumns = {
  id: mailboxes.id,
  workspaceId: mailboxes.workspaceId,
  oauth2: mailboxes.oauth2,
  secretEnc: mailboxes.oauth2SecretEnc,
  accessEnc: mailboxes.oauth2AccessEnc,
  expiresAt: mailboxes.oauth2AccessExpiresAt,
  imapHost: mailboxes.imapHost,
  inboxStatus: mailboxes.inboxStatus,
  inboxLastError: mailboxes.inboxLastError,
  inboxFailures: mailboxes.inboxFailures,
  inboxRetryAt: mailboxes.inboxRetryAt,
};
type TokenRow = Awaited<ReturnType<typeof readTokenRow>>;

async function readTokenRow(db: DbOrTx, id: string) {
  const [row] = await db.select(tokenColumns).from(mailboxes).where(eq(mailboxes.id, id));
  if (!row) throw new Error(`mailbox ${id} not found`);
  const { oauth2 } = row;
  if (!oauth2) throw new Error(`mailbox ${id} has no OAuth2 settings`);
  return { ...row, oauth2 };
}

/** What `inboxLastError` starts with when this module wrote it, by the error it stands for. */
const failurePrefixes = {
  refused: 'oauth2 refused: ',
  unavailable: 'oauth2 unavailable: ',
  blocked: 'oauth2 token endpoint ',
} as const;

/** The cached token, the pending failure, or null when the provider must be asked. */
function settled(secrets: Secrets, row: TokenRow, opts: { rejected?: string }, now: Date): Outcome | null {
  if (row.accessEnc && row.expiresAt && row.expiresAt.getTime() - now.getTime() > REFRESH_MARGIN_MS) {
    const token = secrets.decrypt(row.accessEnc);
    if (token !== opts.rejected) return { token };
  }
  const error = row.inboxLastError;
  if (!error || !row.inboxRetryAt || row.inboxRetryAt <= now) return null;
  if (row.inboxStatus === 'auth_failed' && error.startsWith(failurePrefixes.refused))
    return { error: new OAuth2AuthError(error, row.inboxRetryAt) };
  if (row.inboxStatus !== 'error') return null;
  if (error.startsWith(failurePrefixes.unavailable))
    return { error: new OAuth2TransientError(error, row.inboxRetryAt) };
  if (error.startsWith(failurePrefixes.blocked)) return { error: new BlockedTargetError() };
  return null;
}

type Failure = Exclude<TokenAnswer, { kind: 'token' }>;
/** A new token, with the secret it was obtained with (to re-seal a rotated refresh token). */
type Refreshed = Extract<TokenAnswer, { kind: 'token' }> & { secret: OAuth2Secret };

/** Asks the provider for a new access token with the stored refresh token. */
async function refresh(deps: OAuth2Deps, row: TokenRow): Promise<Refreshed | Failure> {
  const url = tokenUrlOf(row.oauth2);
  if (!url) return { kind: 'refused', reason: 'a custom provider needs a tokenUrl' };
  const parsed = row.secretEnc
    ? OAuth2Secret.safeParse(parseObject(deps.secrets.decrypt(row.secretEnc)))
    : null;
  if (!parsed?.success) return { kind: 'refused', reason: 'no client secret and refresh token stored' };
  const secret = parsed.data;
  const form = new URLSearchParams({
    grant_type: 'refresh_token',
    client_id: row.oauth2.clientId,
    refresh_token: secret.refreshToken,
  });
  // Public clients (Microsoft's native apps) have no secret; an empty one would be refused.
  if (secret.clientSecret) form.set('client_secret', secret.clientSecret);
  if (row.oauth2.provider === 'microsoft') form.set('scope', MICROSOFT_SCOPE);
  const answer = await requestToken(deps.targets, url, form, [secret.clientSecret, secret.refreshToken]);
  return answer.kind === 'token' ? { ...answer, secret } : answer;
}

async function storeToken(tx: DbOrTx, secrets: Secrets, row: TokenRow, answer: Refreshed): Promise<Outcome> {
  const ours = Object.values(failurePrefixes).some((p) => row.inboxLastError?.startsWith(p));
  await tx
    .update(mailboxes)
    .set({
      oauth2AccessEnc: secrets.encrypt(answer.accessToken),
      oauth2AccessExpiresAt: new Date(Date.now() + answer.expiresInS * 1000),
      // Microsoft may rotate the refresh token: the old one stops working some time later.
      ...(answer.refreshToken && answer.refreshToken !== answer.secret.refreshToken
        ? {
            oauth2SecretEnc: sealOAuth2Secret(secrets, {
              ...answer.secret,
              refreshToken: answer.refreshToken,
            }),
          }
        : {}),
      // A failure this module recorded is over; the inbox reader sets its own status when it connects.
      ...(ours
        ? {
            inboxStatus: (row.imapHost ? 'idle' : 'disabled') satisfies InboxStatus,
            inboxLastError: null,
            inboxFailures: 0,
            inboxRetryAt: null,
          }
        : {}),
    })
    .where(eq(mailboxes.id, row.id));
  return { token: answer.accessToken };
}

/** Backoff after the `failures`-th consecutive failure (0-based): 1 min doubling to at most 1 h. */
export const oauth2BackoffMs = (failures: number) =>
  Math.min(60_000 * 2 ** Math.min(failures, 10), 3_600_000);

async function recordFailure(tx: DbOrTx, row: TokenRow, answer: Failure): Promise<Outcome> {
  const retryAt = new Date(Date.now() + oauth2BackoffMs(row.inboxFailures));
  const status: InboxStatus = answer.kind === 'refused' ? 'auth_failed' : 'error';
  const lastError = `${failurePrefixes[answer.kind]}${answer.reason}`;
  const failures = row.inboxFailures + 1;
  await tx
    .update(mailboxes)
    .set({ inboxStatus: status, inboxLastError: lastError, inboxFailures: failures, inboxRetryAt: retryAt })
    .where(eq(mailboxes.id, row.id));
  // One event per new failure, not one per retry of the same one.
  if (row.inboxStatus === status && row.inboxLastError === lastError)
    return thrown(answer, lastError, retryAt);
  await recordEvent(tx, {
    workspaceId: row.workspaceId,
    type: 'mailbox.inbox_error',
    leadId: null,
    data: { mailboxId: row.id, status, error: lastError, failures, retryAt: retryAt.toISOString() },
  });
  return thrown(answer, lastError, retryAt);
}

function thrown(answer: Failure, lastError: string, retryAt: Date): Outcome {
  if (answer.kind === 'blocked') return { error: new BlockedTargetError() };
  const ErrorClass = answer.kind === 'refused' ? OAuth2AuthError : OAuth2TransientError;
  return { error: new ErrorClass(lastError, retryAt) };
}
