import type { Deps } from '../../context';
import { existingWorkspace, splitArgs } from '../../lib/cli-args';
import {
  DEFAULT_ROTATION_GRACE_SECONDS,
  readWebhookSecret,
  rotateWebhookSecret,
} from './webhook-secret.service';
import { webhookSecretJson } from './webhook-secret.service';

export const WEBHOOK_SECRET_USAGE = 'workspace:webhook-secret --workspace <workspace id>';
export const ROTATE_WEBHOOK_SECRET_USAGE =
  'workspace:rotate-webhook-secret --workspace <workspace id> [--grace-seconds <0..604800, default 86400>]';

type SecretDeps = Pick<Deps, 'db' | 'secrets'>;

const view = webhookSecretJson;

/** `workspace:webhook-secret`: what `GET /v1/workspaces/:id/webhook-secret` answers. */
export async function webhookSecretCommand(deps: SecretDeps, args: string[]) {
  const { options } = splitArgs(args, ['workspace'], [], WEBHOOK_SECRET_USAGE);
  const id = await existingWorkspace(deps.db, options.workspace, WEBHOOK_SECRET_USAGE);
  const secret = await readWebhookSecret(deps, id);
  if (!secret) throw new Error(`workspace ${id} not found`);
  return { workspaceId: id, ...view(secret) };
}

/** `workspace:rotate-webhook-secret`: what `POST /v1/workspaces/:id/webhook-secret/rotate` does. */
export async function rotateWebhookSecretCommand(deps: SecretDeps, args: string[]) {
  const usage = ROTATE_WEBHOOK_SECRET_USAGE;
  const { options } = splitArgs(args, ['workspace', 'grace-seconds'], [], usage);
  const id = await existingWorkspace(deps.db, options.workspace, usage);
  const given = options['grace-seconds'];
  const grace = given === undefined ? DEFAULT_ROTATION_GRACE_SECONDS : Number(given);
  if (!/^\d+$/.test(given ?? '0') || grace > 7 * 86_400)
    throw new Error(`--grace-seconds: "${given}" is not a whole number of seconds from 0 to 604800`);
  const rotated = await rotateWebhookSecret(deps, id, grace);
  if (!rotated) throw new Error(`workspace ${id} not found`);
  return { workspaceId: id, ...view(rotated) };
}
