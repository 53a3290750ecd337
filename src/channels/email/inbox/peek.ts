import type { FetchMessageObject, MessageStructureObject } from 'imapflow';
import { mayBeReport } from '../../../core/delivery-reports';
import {
  addressOf,
  type InboundEmail,
  messageIdList,
  normalizeMessageId,
} from '../../../engine/inbound/email';
import { emailKey } from '../../../lib/identity';

/**
 * The header fields read from every message before its body: who sent it and what it answers
 * (whether it can concern us), its report shape, what classification reads from headers, and what an
 * unread message is stored with.
 */
export const PEEK_HEADERS = [
  'from',
  'to',
  'subject',
  'date',
  'message-id',
  'in-reply-to',
  'references',
  'content-type',
  'auto-submitted',
  'precedence',
  'x-autoreply',
  'x-autorespond',
  'x-failed-recipients',
];

/**
 * What is fetched of every message before its body: UID, size, INTERNALDATE, BODYSTRUCTURE (a
 * report part inside `multipart/mixed`) and the header fields above.
 */
export const PEEK_QUERY = {
  uid: true,
  size: true,
  internalDate: true,
  bodyStructure: true,
  headers: PEEK_HEADERS,
} as const;

/** Stored in the headers of a message kept without its body. */
export const UNREAD_MARK = 'x-engine-body';
const UNREAD_REASON = 'not read: not from a lead, not in a thread of ours, not shaped like a report';
/** A From header longer than this is read in full rather than searched for addresses. */
const MAX_FROM_CHARS = 1000;
/** Parts of a body structure looked at, at most: a report's parts are at its top levels. */
const MAX_PARTS = 200;

/** A message as first read: UID, size, date, the header fields above and its parts' types. */
export type Peeked = {
  uid: number;
  size: number;
  internalDate: Date | null;
  /** What the header fields say, without a body: stored as is when the body is not needed. */
  email: InboundEmail;
  /** Every address in From (keys), when that can be told from the header; null: read the body. */
  senders: string[] | null;
  /** Every Message-ID of Message-ID, In-Reply-To and References (ours would make it a reply). */
  threadIds: string[];
  /** Whether it could be a bounce or complaint, whose lead is named only in the body. */
  mayBeReport: boolean;
};

export function toPeeked(message: FetchMessageObject, now = new Date()): Peeked | null {
  if (!message.uid) return null;
  const internal = message.internalDate ? new Date(message.internalDate) : null;
  const block = (message.headers ?? Buffer.alloc(0)).toString('utf8').replaceAll('\u0000', '');
  const headers = headerRecord(block);
  const email = emailOf(headers, now);
  const rawFrom = headers.from ?? '';
  return {
    uid: message.uid,
    size: message.size ?? 0,
    internalDate: internal && !Number.isNaN(internal.getTime()) ? internal : null,
    email,
    senders: rawFrom.length > MAX_FROM_CHARS ? null : addressesIn(`${rawFrom} ${email.from}`),
    // Each field on its own: the full parse keeps the last 100 References, and the In-Reply-To
    // before a 200 KB References must not be cut off by them.
    threadIds: ['message-id', 'in-reply-to', 'references'].flatMap((name) => {
      const value = headers[name];
      return value === undefined ? [] : messageIdList([value, decodeWords(value)]);
    }),
    mayBeReport: mayBeReport({
      from: rawFrom,
      subject: `${headers.subject ?? ''} ${email.subject ?? ''}`,
      contentType: headers['content-type'] ?? '',
      partTypes: partTypes(message.bodyStructure),
    }),
  };
}

/** Unfolded header fields, names lower-cased, a repeated field joined by `, ` (as `emailFromRaw` keeps them). */
function headerRecord(block: string): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const line of block.split(/\r?\n(?![ \t])/)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const key = line.slice(0, colon).trim().toLowerCase();
    const value = line
      .slice(colon + 1)
      .replace(/\r?\n[ \t]+/g, ' ')
      .trim();
    headers[key] = headers[key] === undefined ? value : `${headers[key]}, ${value}`;
  }
  return headers;
}

function emailOf(headers: Record<string, string>, now: Date): InboundEmail {
  const from = decodeWords(headers.from ?? '');
  const date = headers.date ? new Date(headers.date) : null;
  const decoded = (name: string) => (headers[name] === undefined ? null : decodeWords(headers[name]));
  return {
    from,
    fromAddress: addressOf(from),
    to: decoded('to'),
    subject: decoded('subject'),
    text: null,
    html: null,
    messageId: normalizeMessageId(decoded('message-id')),
    inReplyTo: normalizeMessageId(decoded('in-reply-to')),
    references: messageIdList(headers.references ? [decodeWords(headers.references)] : []),
    headers: { ...headers, [UNREAD_MARK]: UNREAD_REASON },
    attachedHeaders: null,
    receivedAt: date && !Number.isNaN(date.getTime()) && date <= now ? date : now,
  };
}

/** The address keys in a From value: tokens between delimiters that hold an `@` (linear). */
function addressesIn(value: string): string[] {
  const tokens = value.split(/[\s<>"',;:()[\]]+/).filter((t) => t.includes('@') && !t.startsWith('=?'));
  return [...new Set(tokens.map(emailKey))];
}

/** The types of a body structure's parts, breadth first, at most MAX_PARTS. */
function partTypes(root: MessageStructureObject | undefined): string[] {
  const types: string[] = [];
  const queue = root ? [root] : [];
  for (let i = 0; i < queue.length && i < MAX_PARTS; i++) {
    const part = queue[i];
    if (!part) break;
    types.push(part.type);
    queue.push(...(part.childNodes ?? []));
  }
  return types;
}

const encodedWord = /=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=/g;

/** RFC 2047 encoded words (`=?utf-8?Q?J=C3=BCrgen?=`) decoded; one that cannot be is left as it is. */
export function decodeWords(value: string): string {
  if (!value.includes('=?')) return value;
  // White space between two encoded words is no text (RFC 2047, 6.2).
  return value
    .replace(/\?=[ \t]+(?==\?)/g, '?=')
    .replace(encodedWord, (word, charset: string, encoding: string, text: string) => {
      const bytes =
        encoding.toLowerCase() === 'b'
          ? Buffer.from(text, 'base64')
          : Buffer.from(
              text
                .replaceAll('_', ' ')
                .replace(/=([0-9a-fA-F]{2})/g, (_, hex: string) =>
                  String.fromCharCode(Number.parseInt(hex, 16)),
                ),
              'latin1',
            );
      try {
        // `utf-8*en`: RFC 2231 language tags follow the charset.
        return new TextDecoder(charset.split('*')[0]).decode(bytes);
      } catch {
        return word;
      }
    });
}
