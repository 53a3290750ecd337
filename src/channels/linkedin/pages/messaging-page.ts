import type { Page } from 'playwright-core';
import type { InboundLinkedInMessage } from '../driver';
import type { Pacing } from '../pacing';
import { paths, selectors } from '../selectors';
import { canonicalFromHref, siteUrl } from '../urls';
import { type Landing, navigate } from './landing';

type ThreadEvent = { senderHref: string | null; text: string; at: string | null };

/**
 * Characters of a message kept: what the LinkedIn webhook accepts, far above LinkedIn's own limit.
 * What the page shows is not ours to trust, and the text is classified and stored.
 */
const MAX_MESSAGE_CHARS = 100_000;

/** The messaging inbox and its threads. */
export class MessagingPage {
  constructor(
    private readonly page: Page,
    private readonly baseUrl: string,
    private readonly pacing: Pacing,
  ) {}

  async open(): Promise<Landing> {
    return navigate(this.page, siteUrl(this.baseUrl, paths.messaging), this.pacing);
  }

  /** Absolute URLs of the threads marked unread in the inbox. */
  async unreadThreads(): Promise<string[]> {
    const hrefs = await this.page
      .locator(selectors.inbox.unreadLinks)
      .evaluateAll((links) => links.map((a) => a.getAttribute('href') ?? ''));
    return hrefs.filter(Boolean).map((h) => siteUrl(this.baseUrl, h));
  }

  /**
   * Opens a thread (which marks it read) and returns the other member's messages sent after our last
   * one: in an unread thread those are the new ones.
   */
  async readThread(url: string): Promise<Exclude<Landing, 'ok'> | InboundLinkedInMessage[]> {
    const landing = await navigate(this.page, url, this.pacing);
    if (landing !== 'ok') return landing;
    const s = selectors.inbox;
    const otherHref = await this.page.locator(s.threadProfileLink).first().getAttribute('href');
    const other = otherHref ? canonicalFromHref(otherHref, this.baseUrl) : null;
    if (!other) return [];
    const events: ThreadEvent[] = await this.page.locator(s.events).evaluateAll(
      (items, sel) =>
        items.map((li) => ({
          senderHref: li.querySelector(sel.sender)?.getAttribute('href') ?? null,
          text: (li.querySelector(sel.body)?.textContent ?? '').trim().slice(0, sel.maxChars),
          at: li.querySelector(sel.time)?.getAttribute('datetime') ?? null,
        })),
      { sender: s.eventSender, body: s.eventBody, time: s.eventTime, maxChars: MAX_MESSAGE_CHARS },
    );
    const fromOther = (e: ThreadEvent) =>
      e.senderHref !== null && canonicalFromHref(e.senderHref, this.baseUrl) === other;
    const lastOurs = events.findLastIndex((e) => !fromOther(e));
    return events
      .slice(lastOurs + 1)
      .filter((e) => e.text !== '')
      .map((e) => ({ profileUrl: other, text: e.text, at: parseTime(e.at) }));
  }
}

function parseTime(value: string | null): Date {
  const at = value ? new Date(value) : new Date();
  return Number.isNaN(at.getTime()) ? new Date() : at;
}
