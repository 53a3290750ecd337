import { randomBytes } from 'node:crypto';
import { and, desc, eq, isNull } from 'drizzle-orm';
import type { Deps } from '../../context';
import { apiKeys, stages, workspaces } from '../../db/schema/index';
import { randomToken, sha256 } from '../../lib/crypto';
import { defaultStages } from '../../timeline/default-stages';

type WorkspaceDeps = Pick<Deps, 'db' | 'secrets'>;

const newApiKey = () => `ok_${randomToken(30)}`;
export const newWebhookSecret = () => `whsec_${randomBytes(32).toString('base64')}`;

/** Creates a workspace with its default pipeline, one API key and the inbound webhook secret. */
export async function createWorkspace(
  deps: WorkspaceDeps,
  input: { name: string; timezone?: string; country?: string },
) {
  const apiKey = newApiKey();
  const webhookSecret = newWebhookSecret();
  const workspace = await deps.db.transaction(async (tx) => {
    const [ws] = await tx
      .insert(workspaces)
      .values({
        name: input.name,
        timezone: input.timezone ?? 'UTC',
        country: input.country ?? null,
        webhookSecretEnc: deps.secrets.encrypt(webhookSecret),
      })
      .returning();
    if (!ws) throw new Error('workspace insert returned nothing');
    await tx
      .insert(stages)
      .values(defaultStages.map((s, position) => ({ ...s, position, workspaceId: ws.id })));
    await tx
      .insert(apiKeys)
      .values({ workspaceId: ws.id, prefix: apiKey.slice(0, 10), hash: sha256(apiKey) });
    return ws;
  });
  const { id, name, timezone, country } = workspace;
  return { id, name, timezone, country, apiKey, webhookSecret };
}

/** Sets the workspace's own settings; null if there is no such workspace. */
export async function updateWorkspace(
  deps: WorkspaceDeps,
  workspaceId: string,
  patch: { country?: string | null; bounceThresholdPercent?: number; checkOnEnroll?: boolean },
) {
  const [ws] = await deps.db
    .update(workspaces)
    .set({ ...patch, updatedAt: new Date() })
    .where(eq(workspaces.id, workspaceId))
    .returning();
  return ws ?? null;
}

export async function getWorkspace(deps: WorkspaceDeps, workspaceId: string) {
  const [ws] = await deps.db.select().from(workspaces).where(eq(workspaces.id, workspaceId));
  return ws ?? null;
}

/** The workspace's inbound webhook secret (`whsec_…`), decrypted. */
export async function workspaceWebhookSecret(
  deps: WorkspaceDeps,
  workspaceId: string,
): Promise<string | null> {
  const ws = await getWorkspace(deps, workspaceId);
  return ws ? deps.secrets.decrypt(ws.webhookSecretEnc) : null;
}

export async function createApiKey(deps: WorkspaceDeps, workspaceId: string, name: string) {
  const apiKey = newApiKey();
  const [row] = await deps.db
    .insert(apiKeys)
    .values({ workspaceId, name, prefix: apiKey.slice(0, 10), hash: sha256(apiKey) })
    .returning();
  if (!row) throw new Error('api key insert returned nothing');
  return { id: row.id, name: row.name, prefix: row.prefix, createdAt: row.createdAt, apiKey };
}

export async function listApiKeys(deps: WorkspaceDeps, workspaceId: string) {
  return deps.db
    .select({ id: apiKeys.id, name: apiKeys.name, prefix: apiKeys.prefix, createdAt: apiKeys.createdAt })
    .from(apiKeys)
    .where(and(eq(apiKeys.workspaceId, workspaceId), isNull(apiKeys.revokedAt)))
    .orderBy(desc(apiKeys.createdAt));
}

/** Returns false when the key does not exist in this workspace (or is already revoked). */
export async function revokeApiKey(
  deps: WorkspaceDeps,
  workspaceId: string,
  keyId: string,
): Promise<boolean> {
  const rows = await deps.db
    .update(apiKeys)
    .set({ revokedAt: new Date() })
    .where(and(eq(apiKeys.id, keyId), eq(apiKeys.workspaceId, workspaceId), isNull(apiKeys.revokedAt)))
    .returning({ id: apiKeys.id });
  return rows.length > 0;
}
