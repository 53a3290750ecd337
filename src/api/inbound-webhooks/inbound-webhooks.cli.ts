import { randomUUID } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import type { Deps } from '../../context';
import { existingWorkspace, splitArgs } from '../../lib/cli-args';
import { readWebhookSecret } from '../workspaces/webhook-secret.service';

export const REPLIES_POST_USAGE =
  'replies:post --workspace <workspace id> --from <address> [--text <text>] [--subject <subject>] ' +
  '[--in-reply-to <Message-ID>] [--url <engine URL, default PUBLIC_URL>]';

/**
 * `replies:post`: posts an inbound email to the running engine's webhook, signed the Standard
 * Webhooks way with the workspace's stored secret, as a mail provider's inbound parse would. What a
 * newcomer needs to see the core loop (a reply stops the cadence and moves the lead) without a
 * mail server; it goes through HTTP so the signature and the route are the real ones.
 */
export async function postReplyCommand(deps: Pick<Deps, 'db' | 'secrets' | 'config'>, args: string[]) {
  const usage = REPLIES_POST_USAGE;
  const valued = ['workspace', 'from', 'text', 'subject', 'in-reply-to', 'url'];
  const { options } = splitArgs(args, valued, [], usage);
  const workspaceId = await existingWorkspace(deps.db, options.workspace, usage);
  if (!options.from) throw new Error(`--from is required; usage: ${usage}`);
  const secret = await readWebhookSecret(deps, workspaceId);
  if (!secret) throw new Error(`workspace ${workspaceId} not found`);
  const body = JSON.stringify({
    from: options.from,
    subject: options.subject ?? 'Re: your message',
    text: options.text ?? 'Sounds interesting, can we talk next week?',
    ...(options['in-reply-to'] ? { inReplyTo: options['in-reply-to'] } : {}),
  });
  const id = `msg_${randomUUID()}`;
  const at = new Date();
  const base = (options.url ?? deps.config.PUBLIC_URL).replace(/\/+$/, '');
  const url = `${base}/v1/webhooks/${workspaceId}/email`;
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'webhook-id': id,
        'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
        'webhook-signature': new Webhook(secret.webhookSecret).sign(id, at, body),
      },
      body,
      signal: AbortSignal.timeout(30_000),
    });
  } catch (err) {
    const why = err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : '';
    throw new Error(`could not reach the engine at ${url} (${why}); is it running? (--url)`);
  }
  const answer = await res.text();
  if (!res.ok) throw new Error(`the engine answered ${res.status} to ${url}: ${answer}`);
  return JSON.parse(answer) as unknown;
}
