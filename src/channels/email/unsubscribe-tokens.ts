import { timingSafeEqual } from 'node:crypto';
import type { Deps } from '../../context';
import type { Secrets } from '../../lib/crypto';

const PURPOSE = 'unsubscribe';
/** 22 base64url characters = 132 bits of HMAC: plenty, and it keeps the token short. */
const SIGNATURE_LENGTH = 22;

export type UnsubscribeTarget = { workspaceId: string; leadId: string };
export type OpenedToken = { leadId: string; sealed: string; signature: string };

const uuidToBase64 = (uuid: string) => Buffer.from(uuid.replace(/-/g, ''), 'hex').toString('base64url');
function base64ToUuid(value: string): string | null {
  const hex = Buffer.from(value, 'base64url').toString('hex');
  if (!/^[0-9a-f]{32}$/.test(hex)) return null;
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

const signatureOf = (secrets: Secrets, workspaceId: string, sealed: string) =>
  secrets.sign(PURPOSE, `${workspaceId}.${sealed}`).slice(0, SIGNATURE_LENGTH);

/**
 * `<iv>.<tag>.<sealed lead id>.<signature>` (about 90 characters, under Fastify's 100-character path
 * parameter limit). The lead id is AES-GCM sealed, so the link reveals nothing about who it is for;
 * the HMAC covers the workspace too, so a token only works while the lead is in that workspace.
 */
export function unsubscribeToken(secrets: Secrets, target: UnsubscribeTarget): string {
  const sealed = secrets.encrypt(uuidToBase64(target.leadId)).replace(/^v1\./, '');
  return `${sealed}.${signatureOf(secrets, target.workspaceId, sealed)}`;
}

/** Unseals the lead id; the signature still has to be checked against the lead's workspace. */
export function openUnsubscribeToken(secrets: Secrets, token: string): OpenedToken | null {
  const cut = token.lastIndexOf('.');
  if (cut <= 0) return null;
  const sealed = token.slice(0, cut);
  let plain: string;
  try {
    plain = secrets.decrypt(`v1.${sealed}`);
  } catch {
    return null;
  }
  const leadId = base64ToUuid(plain);
  return leadId ? { leadId, sealed, signature: token.slice(cut + 1) } : null;
}

export function verifyUnsubscribeToken(secrets: Secrets, opened: OpenedToken, workspaceId: string): boolean {
  const expected = Buffer.from(signatureOf(secrets, workspaceId, opened.sealed));
  const given = Buffer.from(opened.signature);
  return expected.length === given.length && timingSafeEqual(expected, given);
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
