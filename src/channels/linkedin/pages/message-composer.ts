import type { Locator, Page } from 'playwright-core';
import { z } from 'zod';
import { type Pacing, pause } from '../pacing';
import { selectors } from '../selectors';
import { composerMessages } from './in-page';
import type { ProfilePage } from './profile-page';
import { poll } from './wait';

const Texts = z.array(z.string());

/**
 * The conversation a profile's Message control opens: a form with an editable field and a submit
 * button, in the page (2023–24) or in the overlay inside #interop-outlet's shadow root (2026).
 */
export class MessageComposer {
  private form: Locator | null = null;

  constructor(
    private readonly page: Page,
    private readonly profile: ProfilePage,
    private readonly pacing: Pacing,
    private readonly timeoutMs: number,
  ) {}

  /** Waits for the composer the Message click opened; false when none appeared. */
  async waitOpen(): Promise<boolean> {
    const s = selectors.composer;
    const forms = this.page
      .locator(s.form)
      .filter({ has: this.page.locator(s.input) })
      .filter({ visible: true });
    const count = await poll(
      () => forms.count(),
      (n) => n > 0,
      this.timeoutMs,
    );
    this.form = count > 0 ? forms.last() : null;
    return this.form !== null;
  }

  private async texts(): Promise<string[]> {
    return this.form ? Texts.parse(await this.form.evaluate(composerMessages)) : [];
  }

  /**
   * True when the conversation already shows this exact text: a retry after a crash between the
   * send click and its confirmation must not send the message twice.
   */
  async alreadySent(text: string): Promise<boolean> {
    return (await this.texts()).some((b) => sameText(b, text));
  }

  /** Types and sends; true once the message shows in the conversation (LinkedIn accepted it). */
  async send(text: string): Promise<boolean> {
    const form = this.form;
    if (!form) return false;
    const s = selectors.composer;
    await this.profile.type(form.locator(s.input).first(), text);
    await pause(this.pacing);
    const before = (await this.texts()).length;
    await form.locator(s.send).last().click({ timeout: this.timeoutMs });
    const after = await poll(
      () => this.texts(),
      (t) => t.length > before,
      this.timeoutMs,
    );
    const shown = after[after.length - 1];
    return after.length > before && shown !== undefined && sameText(shown, text);
  }
}

/** Compares as the page shows text: whitespace runs and line breaks collapse. */
const sameText = (a: string, b: string) => a.replace(/\s+/g, ' ').trim() === b.replace(/\s+/g, ' ').trim();
