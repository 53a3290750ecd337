import type { Page } from 'playwright-core';
import type { DriverResult, InboundLinkedInMessage } from '../driver';
import { ok, unrecognised } from '../driver';
import { type Pacing, pause } from '../pacing';
import { paths, selectors, urlPatterns } from '../selectors';
import { siteUrl } from '../urls';
import { vocabularyLanguages } from '../vocabulary';
import { InboxRows, inboxArgs, readInbox, readThread, ThreadEvents } from './in-page';
import { navigate, wall } from './landing';
import { MAX_MESSAGE_CHARS, newMessagesOf } from './thread-events';
import { poll } from './wait';

/**
 * The messaging inbox and its conversations. Rows are recognised by a thread link (2023–24) or by
 * their selection label (2026, no link: a click opens the conversation in the page). An inbox whose
 * rows it cannot find is reported, never read as empty; only an empty list is an empty inbox.
 */
export class MessagingPage {
  constructor(
    private readonly page: Page,
    private readonly baseUrl: string,
    private readonly pacing: Pacing,
    private readonly timeoutMs: number,
  ) {}

  async open(): Promise<DriverResult<InboxRows>> {
    const landing = await navigate(this.page, siteUrl(this.baseUrl, paths.messaging), this.pacing);
    if (landing !== 'ok') return wall(landing);
    return this.rows();
  }

  private async rows(): Promise<DriverResult<InboxRows>> {
    const rows = await poll(
      async () => InboxRows.parse(await this.page.evaluate(readInbox, inboxArgs)),
      (r) => r.rows.length > 0 || r.emptyList,
      this.timeoutMs,
    );
    if (rows.rows.length === 0 && !rows.emptyList) return unrecognised('messaging.conversation_list');
    // Rows without links show unread only as a label, in the UI's language: one the vocabulary
    // does not cover would read as "nothing unread", which is not to be told from a quiet inbox.
    const lang = rows.lang.toLowerCase().split('-')[0] ?? '';
    const byLabel = rows.rows.length > 0 && rows.rows.every((r) => r.href === null);
    if (byLabel && lang !== '' && !vocabularyLanguages.includes(lang))
      return unrecognised('messaging.unread_label');
    return ok(rows);
  }

  /** Reads every unread conversation: linked ones at their address, the others by clicking the row. */
  async readUnread(inbox: InboxRows): Promise<DriverResult<InboundLinkedInMessage[]>> {
    const found: InboundLinkedInMessage[] = [];
    const clickable = inbox.rows.flatMap((r, i) => (r.unread && r.href === null ? [i] : []));
    let previous: { url: string; other: string | null } = { url: this.page.url(), other: null };
    for (const index of clickable) {
      const read = await this.openRow(index, previous);
      if (!read.ok) return read;
      previous = read.value.seen;
      found.push(...read.value.messages);
    }
    for (const href of inbox.rows.flatMap((r) => (r.unread && r.href !== null ? [r.href] : []))) {
      const landing = await navigate(this.page, siteUrl(this.baseUrl, href), this.pacing);
      if (landing !== 'ok') return wall(landing);
      const read = await this.thread(null);
      if (!read.ok) return read;
      found.push(...read.value.messages);
    }
    return ok(found);
  }

  /** Clicks a row (it has no link) and reads the conversation once the page shows it. */
  private async openRow(index: number, previous: { url: string; other: string | null }) {
    const s = selectors.inbox;
    const row = this.page
      .locator(s.rows)
      .filter({ has: this.page.locator(s.rowMarker) })
      .nth(index);
    await pause(this.pacing);
    await row.click({ timeout: this.timeoutMs });
    const moved = await poll(
      async () => this.page.url(),
      (url) => url !== previous.url && urlPatterns.thread.test(url),
      this.timeoutMs,
    );
    if (moved === previous.url) return unrecognised<never>('messaging.thread');
    return this.thread(previous.other);
  }

  /** The open conversation's new messages; waits until it shows a member other than `stale`. */
  private async thread(stale: string | null) {
    const thread = await poll(
      async () => ThreadEvents.parse(await this.page.evaluate(readThread, { maxChars: MAX_MESSAGE_CHARS })),
      (t) => t !== null && t.other !== null && t.other !== stale,
      this.timeoutMs,
    );
    const messages = thread ? newMessagesOf(thread, this.baseUrl, new Date()) : null;
    if (!thread || messages === null) return unrecognised<never>('messaging.thread');
    return ok({ messages, seen: { url: this.page.url(), other: thread.other } });
  }
}
