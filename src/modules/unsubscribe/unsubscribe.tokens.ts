import type { Deps } from '../../context';
import type { Secrets } from '../../lib/crypto';

const PURPOSE = 'unsubscribe';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export type UnsubscribeTarget = { workspaceId: string; leadId: string };

/**
 * `<sealed>.<signature>`: the workspace and lead ids are AES-GCM sealed (a reader of the link learns
 * nothing about them) and the whole token is HMAC-signed under its own purpose key.
 */
export function unsubscribeToken(secrets: Secrets, target: UnsubscribeTarget): string {
  const sealed = secrets.encrypt(`${target.workspaceId}:${target.leadId}`);
  return `${sealed}.${secrets.sign(PURPOSE, sealed)}`;
}

/** The target of a token, or null when it is malformed, forged or sealed under another key. */
export function readUnsubscribeToken(secrets: Secrets, token: string): UnsubscribeTarget | null {
  const cut = token.lastIndexOf('.');
  if (cut <= 0) return null;
  const sealed = token.slice(0, cut);
  if (!secrets.verify(PURPOSE, sealed, token.slice(cut + 1))) return null;
  let plain: string;
  try {
    plain = secrets.decrypt(sealed);
  } catch {
    return null;
  }
  const [workspaceId, leadId, extra] = plain.split(':');
  if (!workspaceId || !leadId || extra !== undefined || !UUID.test(workspaceId) || !UUID.test(leadId))
    return null;
  return { workspaceId, leadId };
}

const baseUrl = (publicUrl: string) => publicUrl.replace(/\/+$/, '');

/** The HTTPS link for `List-Unsubscribe` and for an unsubscribe link in the body. */
export function unsubscribeUrl(deps: Pick<Deps, 'config' | 'secrets'>, target: UnsubscribeTarget): string {
  return `${baseUrl(deps.config.PUBLIC_URL)}/u/${unsubscribeToken(deps.secrets, target)}`;
}

/**
 * The `mailto:` alternative of `List-Unsubscribe`: a mail to the sending mailbox with the subject
 * `unsubscribe`. It arrives through the inbound webhook, where the replies module matches the lead by
 * its address and classifies the message as an unsubscribe request.
 */
export function unsubscribeMailto(fromEmail: string): string {
  return `mailto:${encodeURI(fromEmail.trim())}?subject=unsubscribe`;
}
