import { eq, sql } from 'drizzle-orm';
import type { Deps } from '../../context';
import { workspaces } from '../../db/schema/index';
import { newWebhookSecret } from './workspaces.service';

type SecretDeps = Pick<Deps, 'db' | 'secrets'>;

/** How long the replaced secret still verifies after a rotation, unless the request says otherwise. */
export const DEFAULT_ROTATION_GRACE_SECONDS = 24 * 3600;

/** The workspace's inbound webhook secret, and when the one a rotation replaced stops verifying. */
export type WebhookSecretView = { webhookSecret: string; previousSecretExpiresAt: Date | null };

/** The secret as the API and the CLI answer it. */
export const webhookSecretJson = (v: WebhookSecretView) => ({
  webhookSecret: v.webhookSecret,
  previousSecretExpiresAt: v.previousSecretExpiresAt?.toISOString() ?? null,
});

/** Reads the workspace's inbound webhook secret again (admin only); null for an unknown workspace. */
export async function readWebhookSecret(
  deps: SecretDeps,
  workspaceId: string,
  now = new Date(),
): Promise<WebhookSecretView | null> {
  const [row] = await deps.db
    .select({
      sealed: workspaces.webhookSecretEnc,
      previousExpiresAt: workspaces.previousWebhookSecretExpiresAt,
    })
    .from(workspaces)
    .where(eq(workspaces.id, workspaceId));
  if (!row) return null;
  const live = row.previousExpiresAt && row.previousExpiresAt > now ? row.previousExpiresAt : null;
  return { webhookSecret: deps.secrets.decrypt(row.sealed), previousSecretExpiresAt: live };
}

/**
 * Gives the workspace a new inbound webhook secret. The one it replaces keeps verifying for
 * `graceSeconds` (0: not at all), so senders can switch over without a refused webhook. Only one
 * previous secret is kept: rotating again within the grace period drops the older one.
 */
export async function rotateWebhookSecret(
  deps: SecretDeps,
  workspaceId: string,
  graceSeconds: number,
): Promise<WebhookSecretView | null> {
  const webhookSecret = newWebhookSecret();
  const keepPrevious = graceSeconds > 0;
  const [row] = await deps.db
    .update(workspaces)
    .set({
      // The right-hand sides read the row as it was, so the old secret moves over unchanged.
      previousWebhookSecretEnc: keepPrevious ? sql`${workspaces.webhookSecretEnc}` : null,
      previousWebhookSecretExpiresAt: keepPrevious
        ? sql`now() + make_interval(secs => ${graceSeconds})`
        : null,
      webhookSecretEnc: deps.secrets.encrypt(webhookSecret),
      updatedAt: new Date(),
    })
    .where(eq(workspaces.id, workspaceId))
    .returning({ previousExpiresAt: workspaces.previousWebhookSecretExpiresAt });
  if (!row) return null;
  return { webhookSecret, previousSecretExpiresAt: row.previousExpiresAt };
}
