import { simpleParser } from 'mailparser';
import { htmlToText } from '../../core/reply-html';
import { emailKey } from '../../lib/identity';
import type { InboundEmailBody } from './schemas';

/** An inbound email, whichever way it arrived (JSON or raw MIME). Header names are lower-cased. */
export type InboundEmail = {
  from: string;
  fromAddress: string | null;
  to: string | null;
  subject: string | null;
  text: string | null;
  html: string | null;
  messageId: string | null;
  inReplyTo: string | null;
  references: string[];
  headers: Record<string, string>;
  /** Headers of the original message inside a delivery report, when it carries them. */
  attachedHeaders: string | null;
  /**
   * The machine-readable part of a report, lower-cased type and text: `message/delivery-status`
   * (RFC 3464) or `message/feedback-report` (RFC 5965). Raw MIME only.
   */
  reportType?: string | null;
  reportText?: string | null;
  receivedAt: Date;
};

/**
 * The longest Message-ID kept, in bytes: RFC 5322's line limit. Longer is junk (ours are under 100
 * bytes), and it would not fit the index that finds an inbound email by its Message-ID.
 */
export const MAX_MESSAGE_ID_BYTES = 998;

/** `<id@host>` with its angle brackets, as we store outbound Message-IDs; null for junk. */
export function normalizeMessageId(value: string | null | undefined): string | null {
  if (!value) return null;
  const bracketed = /<[^<>\s]+>/.exec(value)?.[0];
  const bare = value.trim();
  const id = bracketed ?? (bare && !/[\s<>]/.test(bare) ? `<${bare}>` : null);
  return id && Buffer.byteLength(id) <= MAX_MESSAGE_ID_BYTES ? id : null;
}

/** Every Message-ID in References-style values (space- or comma-separated, brackets optional). */
export function messageIdList(values: string[]): string[] {
  const ids = values.flatMap((v) => {
    const bracketed = v.match(/<[^<>\s]+>/g);
    if (bracketed) return bracketed;
    return v.split(/[\s,]+/).flatMap((token) => normalizeMessageId(token) ?? []);
  });
  return [...new Set(ids)].slice(-100);
}

/** The address inside `Jane Doe <Jane@Acme.com>` (or a bare address), lower-cased. */
export function addressOf(value: string): string | null {
  // These unanchored patterns take time quadratic in the length, and a raw MIME From header is
  // bounded only by the body limit (1 MiB: minutes of CPU). The JSON route allows 1000 characters.
  const head = value.slice(0, 1000);
  const inside = /<([^<>\s]+@[^<>\s]+)>/.exec(head)?.[1];
  const bare = /[^\s<>"',;:]+@[^\s<>"',;:]+/.exec(head)?.[0];
  const address = inside ?? bare;
  return address ? emailKey(address) : null;
}

/** A claimed time is kept unless it lies in the future (clock skew or a forged date). */
const receivedTime = (claimed: Date | undefined, now: Date) =>
  claimed && !Number.isNaN(claimed.getTime()) && claimed <= now ? claimed : now;

const dropNul = (text: string) => text.replaceAll('\u0000', '');
const dropNulOrNull = (text: string | null) => (text === null ? null : dropNul(text));

/**
 * Inbound mail is what strangers sent, relayed by a provider that cannot fix it: a NUL (which
 * Postgres cannot store) is dropped rather than refusing the reply.
 */
function withoutNul(email: InboundEmail): InboundEmail {
  return {
    ...email,
    from: dropNul(email.from),
    fromAddress: dropNulOrNull(email.fromAddress),
    to: dropNulOrNull(email.to),
    subject: dropNulOrNull(email.subject),
    text: dropNulOrNull(email.text),
    html: dropNulOrNull(email.html),
    messageId: dropNulOrNull(email.messageId),
    inReplyTo: dropNulOrNull(email.inReplyTo),
    references: email.references.map(dropNul),
    headers: Object.fromEntries(Object.entries(email.headers).map(([k, v]) => [dropNul(k), dropNul(v)])),
    attachedHeaders: dropNulOrNull(email.attachedHeaders),
  };
}

export function emailFromJson(body: InboundEmailBody, now = new Date()): InboundEmail {
  const headers = Object.fromEntries(
    Object.entries(body.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]),
  );
  headers.from ??= body.from;
  return withoutNul({
    from: body.from,
    fromAddress: addressOf(body.from),
    to: body.to?.join(', ') ?? headers.to ?? null,
    subject: body.subject ?? headers.subject ?? null,
    text: body.text ?? null,
    html: body.html ?? null,
    messageId: normalizeMessageId(body.messageId ?? headers['message-id']),
    inReplyTo: normalizeMessageId(body.inReplyTo ?? headers['in-reply-to']),
    references: messageIdList(body.references ?? (headers.references ? [headers.references] : [])),
    headers,
    attachedHeaders: null,
    receivedAt: receivedTime(body.receivedAt ? new Date(body.receivedAt) : undefined, now),
  });
}

const reportParts = new Set(['text/rfc822-headers', 'message/rfc822']);

/**
 * Parses a raw RFC 5322 message with mailparser. Its own HTML-to-text pass is off: its nesting check
 * misses `<li><p>` pairs, which made 1 MiB of them take 43 s. An HTML-only body gets our bounded
 * `htmlToText` instead.
 */
export async function emailFromRaw(raw: Buffer, now = new Date()): Promise<InboundEmail> {
  // The report parts stay attachments: a delivery status is read as fields, not as the body, and an
  // inline message/rfc822 (an ARF report's original, a Gmail DSN's) keeps its headers (Message-ID).
  const mail = await simpleParser(raw, {
    skipImageLinks: true,
    skipHtmlToText: true,
    // `textAsHtml` (the text HTML-escaped, with links found by linkify) is never read: a sixth of
    // the parse, in the inbox bench's profile.
    skipTextToHtml: true,
    keepDeliveryStatus: true,
    ignoreEmbedded: true,
  });
  const html = typeof mail.html === 'string' ? mail.html : null;
  // Without mailparser's pass, an HTML-only body has no text (or an empty string).
  const text = mail.text?.trim() ? mail.text : html === null ? null : htmlToText(html);
  const headers: Record<string, string> = {};
  for (const { key, line } of mail.headerLines) {
    const value = line
      .slice(line.indexOf(':') + 1)
      .replace(/\r?\n[ \t]+/g, ' ')
      .trim();
    headers[key] = headers[key] === undefined ? value : `${headers[key]}, ${value}`;
  }
  const to = Array.isArray(mail.to) ? mail.to.map((a) => a.text).join(', ') : (mail.to?.text ?? null);
  const fromText = mail.from?.text ?? headers.from ?? '';
  const report = mail.attachments.find((a) => reportParts.has(a.contentType.toLowerCase()));
  const machineReadable = new Set([
    'message/delivery-status',
    'message/global-delivery-status',
    'message/feedback-report',
    'message/disposition-notification',
  ]);
  const status = mail.attachments.find((a) => machineReadable.has(a.contentType.toLowerCase()));
  const references = mail.references ?? [];
  return withoutNul({
    from: fromText,
    fromAddress: mail.from?.value[0]?.address ? emailKey(mail.from.value[0].address) : addressOf(fromText),
    to,
    subject: mail.subject ?? null,
    text,
    html,
    messageId: normalizeMessageId(mail.messageId),
    inReplyTo: normalizeMessageId(mail.inReplyTo),
    references: messageIdList(Array.isArray(references) ? references : [references]),
    headers,
    attachedHeaders: report ? report.content.subarray(0, 64 * 1024).toString('utf8') : null,
    reportType: status ? status.contentType.toLowerCase() : null,
    reportText: status ? dropNul(status.content.subarray(0, 64 * 1024).toString('utf8')) : null,
    receivedAt: receivedTime(mail.date, now),
  });
}

/**
 * A message the mailbox sent itself (its copy in the Sent folder, a follow-up of its own that a
 * shared thread put in the inbox): never a lead's reply. Read by the inbox reader, which also
 * skips any Message-ID the engine sent.
 */
export function isOwnMessage(email: Pick<InboundEmail, 'fromAddress'>, mailboxAddress: string): boolean {
  return email.fromAddress !== null && email.fromAddress === emailKey(mailboxAddress);
}
