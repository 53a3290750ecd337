import type { Page } from 'playwright-core';
import { type Pacing, pause } from '../pacing';
import { selectors, weeklyLimitText } from '../selectors';
import type { ProfilePage } from './profile-page';

export type InviteDialogState = 'dialog' | 'weekly_limit' | 'unexpected';

/** The "Add a note to your invitation?" dialog that Connect opens, and the notices around it. */
export class InviteDialog {
  constructor(
    private readonly page: Page,
    private readonly profile: ProfilePage,
    private readonly pacing: Pacing,
    private readonly timeoutMs: number,
  ) {}

  /** After Connect: either the dialog opens or LinkedIn shows the weekly-limit notice instead. */
  async waitOpen(): Promise<InviteDialogState> {
    const s = selectors.invite;
    // Hidden copies of both sit in the DOM: wait for whichever becomes visible.
    const either = this.page.locator(s.dialog).or(this.page.locator(s.weeklyLimitNotice));
    try {
      await either.filter({ visible: true }).first().waitFor({ timeout: this.timeoutMs });
    } catch {
      return 'unexpected';
    }
    return (await this.limitShown()) ? 'weekly_limit' : 'dialog';
  }

  /** Sends with or without a note and waits for LinkedIn's confirmation (toast or Pending button). */
  async send(note: string | undefined): Promise<'sent' | 'weekly_limit' | 'unexpected'> {
    const s = selectors.invite;
    if (note) {
      await pause(this.pacing);
      await this.page.locator(s.addNote).click({ timeout: this.timeoutMs });
      await this.profile.type(s.noteInput, note);
      await pause(this.pacing);
      await this.page.locator(s.sendWithNote).click({ timeout: this.timeoutMs });
    } else {
      await pause(this.pacing);
      await this.page.locator(s.sendWithoutNote).click({ timeout: this.timeoutMs });
    }
    const outcome = this.page
      .locator(s.sentToast)
      .or(this.page.locator(selectors.profile.pendingButton))
      .or(this.page.locator(s.weeklyLimitNotice));
    try {
      await outcome.filter({ visible: true }).first().waitFor({ timeout: this.timeoutMs });
    } catch {
      return 'unexpected';
    }
    return (await this.limitShown()) ? 'weekly_limit' : 'sent';
  }

  private async limitShown(): Promise<boolean> {
    const notice = this.page.locator(selectors.invite.weeklyLimitNotice);
    if (await notice.isVisible()) return true;
    // The notice's class may change; its wording is steadier.
    return this.page.getByText(weeklyLimitText).first().isVisible();
  }
}
