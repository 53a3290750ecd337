import type { Page } from 'playwright-core';
import { type Pacing, pause } from '../pacing';
import { selectors } from '../selectors';
import type { ProfilePage } from './profile-page';

/** The conversation bubble that a profile's Message button opens. */
export class MessageComposer {
  constructor(
    private readonly page: Page,
    private readonly profile: ProfilePage,
    private readonly pacing: Pacing,
    private readonly timeoutMs: number,
  ) {}

  /**
   * True when the conversation already shows this exact text: a retry after a crash between the
   * send click and its confirmation must not send the message twice.
   */
  async alreadySent(text: string): Promise<boolean> {
    const bodies = await this.page.locator(selectors.composer.sentBodies).allTextContents();
    return bodies.some((b) => sameText(b, text));
  }

  /** Types and sends; true once the message shows in the conversation (LinkedIn accepted it). */
  async send(text: string): Promise<boolean> {
    const s = selectors.composer;
    await this.profile.type(s.input, text);
    await pause(this.pacing);
    const before = await this.page.locator(s.sentBodies).count();
    await this.page.locator(s.send).click({ timeout: this.timeoutMs });
    try {
      await this.page.locator(s.sentBodies).nth(before).waitFor({ timeout: this.timeoutMs });
    } catch {
      return false;
    }
    const shown = await this.page.locator(s.sentBodies).nth(before).textContent();
    return sameText(shown ?? '', text);
  }
}

/** Compares as the page shows text: whitespace runs and line breaks collapse. */
const sameText = (a: string, b: string) => a.replace(/\s+/g, ' ').trim() === b.replace(/\s+/g, ' ').trim();
