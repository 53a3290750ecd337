import type Mail from 'nodemailer/lib/mailer';
import MailComposer from 'nodemailer/lib/mail-composer';
import { emailDomain } from '../../lib/identity';
import { headerSafe } from './compose';
import { unsubscribeMailto } from './unsubscribe-tokens';

/** Our own Message-ID for a run's email, known before the hand-off: replies and DSNs find the lead through it. */
export const runMessageId = (runId: string, fromEmail: string) =>
  `<${runId}@${emailDomain(fromEmail) || 'localhost'}>`;

/** RFC 8058 one-click unsubscribe headers: the lead's link, and a mailto to the sending mailbox. */
export const listUnsubscribeHeaders = (unsubscribeUrl: string, fromEmail: string) => ({
  'List-Unsubscribe': `<${unsubscribeUrl}>, <${unsubscribeMailto(fromEmail)}>`,
  'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
});

export type OutgoingEmail = {
  messageId: string;
  from: { name: string | null; email: string };
  to: { name: string; address: string };
  subject: string;
  text: string;
  html: string | undefined;
  thread: string | null;
  headers: Record<string, string>;
};

/** What nodemailer is handed for one email: the channel's sends, test sends and previews share it. */
export function mailOptions(email: OutgoingEmail): Mail.Options {
  return {
    messageId: email.messageId,
    from: { name: headerSafe(email.from.name ?? ''), address: email.from.email },
    to: { name: email.to.name, address: email.to.address },
    subject: email.subject,
    text: email.text,
    html: email.html,
    inReplyTo: email.thread ?? undefined,
    references: email.thread ?? undefined,
    headers: email.headers,
  };
}

/** Headers that belong to the MIME structure or the moment of sending, not to the email itself. */
const perSend = new Set(['date', 'mime-version', 'content-type', 'content-transfer-encoding']);

/**
 * The header lines nodemailer writes for these options, as they go over the wire (RFC 2047 encoded
 * words, unfolded), apart from the MIME structure and the date.
 */
export function wireHeaders(options: Mail.Options): Record<string, string> {
  const block = new MailComposer(options)
    .compile()
    .buildHeaders()
    .replace(/\r\n[ \t]+/g, ' ');
  const out: Record<string, string> = {};
  for (const line of block.split('\r\n')) {
    const colon = line.indexOf(':');
    const name = line.slice(0, colon);
    if (colon > 0 && !perSend.has(name.toLowerCase())) out[name] = line.slice(colon + 1).trim();
  }
  return out;
}
