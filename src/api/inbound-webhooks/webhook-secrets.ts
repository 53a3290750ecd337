import { eq } from 'drizzle-orm';
import type { Deps } from '../../context';
import { workspaces } from '../../db/schema/index';

/**
 * A workspace's inbound webhook secret, as stored (sealed) and in the clear, with the one a rotation
 * replaced while its grace period lasts.
 */
export type WebhookSecret = {
  sealed: string;
  secret: string;
  previous: { secret: string; expiresAt: Date } | null;
};

/** The secrets a signature may be made with at `now`: the current one, then the replaced one in its grace. */
export function acceptedSecrets(key: WebhookSecret, now = new Date()): string[] {
  return key.previous && key.previous.expiresAt > now ? [key.secret, key.previous.secret] : [key.secret];
}

export type WebhookSecrets = {
  /** The secret last read for this workspace, if any: to be confirmed (see below), never trusted alone. */
  cached(workspaceId: string): WebhookSecret | undefined;
  /** Reads the workspace's secret and remembers it; null for an unknown workspace. */
  load(workspaceId: string): Promise<WebhookSecret | null>;
  forget(workspaceId: string): void;
};

/** Enough for every workspace of a large installation; past it the cache starts over. */
const MAX_CACHED = 10_000;

/**
 * Webhook secrets by workspace in process memory, so a signed webhook needs no lookup before its
 * transaction. Correct across processes: the transaction that applies a webhook claims its receipt
 * only if the workspace still has the sealed secret the signature was checked with (`claimReceipt`),
 * so a secret changed elsewhere is noticed before any effect, and a signature that fails against a
 * cached secret is checked again against a fresh read. Unknown workspaces are not remembered, so
 * made-up ids cannot fill the cache.
 */
export function webhookSecrets(deps: Pick<Deps, 'db' | 'secrets'>): WebhookSecrets {
  const cache = new Map<string, WebhookSecret>();
  return {
    cached: (workspaceId) => cache.get(workspaceId),
    async load(workspaceId) {
      const [row] = await deps.db
        .select({
          sealed: workspaces.webhookSecretEnc,
          previousSealed: workspaces.previousWebhookSecretEnc,
          previousExpiresAt: workspaces.previousWebhookSecretExpiresAt,
        })
        .from(workspaces)
        .where(eq(workspaces.id, workspaceId));
      if (!row) {
        cache.delete(workspaceId);
        return null;
      }
      const previous =
        row.previousSealed && row.previousExpiresAt && row.previousExpiresAt > new Date()
          ? { secret: deps.secrets.decrypt(row.previousSealed), expiresAt: row.previousExpiresAt }
          : null;
      const found = { sealed: row.sealed, secret: deps.secrets.decrypt(row.sealed), previous };
      if (cache.size >= MAX_CACHED) cache.clear();
      cache.set(workspaceId, found);
      return found;
    },
    forget(workspaceId) {
      cache.delete(workspaceId);
    },
  };
}
