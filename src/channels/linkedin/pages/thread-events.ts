import type { InboundLinkedInMessage } from '../driver';
import { canonicalFromHref } from '../urls';
import type { ThreadEvents } from './in-page';

/**
 * Characters of a message kept: what the LinkedIn webhook accepts, far above LinkedIn's own limit.
 * What the page shows is not ours to trust, and the text is classified and stored.
 */
export const MAX_MESSAGE_CHARS = 100_000;

function parseTime(value: string | null): Date | null {
  if (!value) return null;
  const at = new Date(value);
  return Number.isNaN(at.getTime()) ? null : at;
}

/**
 * The other member's messages after our last one. LinkedIn groups consecutive messages of one
 * sender and names the sender (and the time) only on the group's first: a message without its own
 * sender belongs to the group above it, and so does its time when it has none. Null when the thread
 * names no other member.
 */
export function newMessagesOf(
  thread: NonNullable<ThreadEvents>,
  baseUrl: string,
  now: Date,
): InboundLinkedInMessage[] | null {
  const other = thread.other ? canonicalFromHref(thread.other, baseUrl) : null;
  if (!other) return null;
  let sender: string | null = null;
  let groupAt: string | null = null;
  const attributed = thread.events.map((e) => {
    if (e.senderHref !== null) {
      sender = canonicalFromHref(e.senderHref, baseUrl);
      groupAt = e.at;
    }
    return {
      fromOther: sender === other,
      text: e.text.slice(0, MAX_MESSAGE_CHARS),
      at: parseTime(e.at ?? groupAt),
    };
  });
  const lastOurs = attributed.findLastIndex((e) => !e.fromOther);
  return attributed
    .slice(lastOurs + 1)
    .filter((e) => e.text !== '')
    .map((e) => ({ profileUrl: other, text: e.text, at: e.at ?? now, atFromPage: e.at !== null }));
}
