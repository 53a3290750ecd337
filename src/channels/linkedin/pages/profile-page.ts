import type { Page } from 'playwright-core';
import type { ConnectionStatus } from '../driver';
import { keystrokeDelay, type Pacing, pause } from '../pacing';
import { selectors } from '../selectors';
import { profilePageUrl } from '../urls';
import { type Landing, navigate } from './landing';

/** A member's profile page: the top card with its Connect / Pending / Message / More buttons. */
export class ProfilePage {
  constructor(
    private readonly page: Page,
    private readonly baseUrl: string,
    private readonly pacing: Pacing,
    private readonly timeoutMs: number,
  ) {}

  /** Opens the profile; `unexpected` when it loaded but the top card never showed. */
  async open(slug: string): Promise<Landing | 'unexpected'> {
    const landing = await navigate(this.page, profilePageUrl(this.baseUrl, slug), this.pacing);
    if (landing !== 'ok') return landing;
    try {
      await this.page.locator(selectors.profile.topCard).waitFor({ timeout: this.timeoutMs });
    } catch {
      return 'unexpected';
    }
    return 'ok';
  }

  async connection(): Promise<ConnectionStatus> {
    const p = selectors.profile;
    if (await this.page.locator(p.pendingButton).isVisible()) return 'pending';
    const distance = (await this.page.locator(p.distance).first().textContent())?.trim() ?? '';
    return /^1st\b/i.test(distance) ? 'connected' : 'none';
  }

  /** Scrolls down to the lazily loaded sections and waits for them, as someone reading would. */
  async readThrough(): Promise<boolean> {
    const sections = this.page.locator(selectors.profile.lazySections);
    if ((await sections.count()) === 0) return true;
    await pause(this.pacing);
    await sections.scrollIntoViewIfNeeded({ timeout: this.timeoutMs });
    try {
      await this.page.locator(selectors.profile.loadedSection).first().waitFor({ timeout: this.timeoutMs });
      return true;
    } catch {
      return false;
    }
  }

  /** Clicks Connect, looking under "More" when the top card does not show it. False if absent. */
  async clickConnect(): Promise<boolean> {
    const p = selectors.profile;
    const direct = this.page.locator(p.connectButton);
    await pause(this.pacing);
    if (await direct.isVisible()) {
      await direct.click({ timeout: this.timeoutMs });
      return true;
    }
    const more = this.page.locator(p.moreButton);
    if (!(await more.isVisible())) return false;
    await more.click({ timeout: this.timeoutMs });
    const hidden = this.page.locator(p.moreConnect);
    try {
      await hidden.waitFor({ timeout: Math.min(this.timeoutMs, 3000) });
    } catch {
      return false;
    }
    await pause(this.pacing);
    await hidden.click({ timeout: this.timeoutMs });
    return true;
  }

  /** Opens the message composer; false when the profile offers no Message button. */
  async openComposer(): Promise<boolean> {
    const button = this.page.locator(selectors.profile.messageButton);
    if (!(await button.isVisible())) return false;
    await pause(this.pacing);
    await button.click({ timeout: this.timeoutMs });
    await this.page.locator(selectors.composer.input).waitFor({ timeout: this.timeoutMs });
    return true;
  }

  /**
   * Types like a person: one key at a time with small irregular gaps. Line breaks go in as
   * Shift+Enter, because a bare Enter sends the message in LinkedIn's composer.
   */
  async type(selector: string, text: string): Promise<void> {
    const field = this.page.locator(selector);
    await field.click({ timeout: this.timeoutMs });
    const lines = text.split(/\r?\n/);
    for (const [i, line] of lines.entries()) {
      if (i > 0) await field.press('Shift+Enter');
      if (line) await field.pressSequentially(line, { delay: keystrokeDelay(this.pacing), timeout: 0 });
    }
  }
}
