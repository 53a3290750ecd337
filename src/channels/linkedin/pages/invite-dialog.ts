import type { Locator, Page, Response } from 'playwright-core';
import { type Pacing, pause } from '../pacing';
import { dialogSelector, selectors } from '../selectors';
import { classifyDialog, DialogKind, dialogArgs } from './in-page';
import type { ProfilePage } from './profile-page';
import { poll } from './wait';

/** How the dialog ended. `sent` is what the dialog said; the driver confirms it on the profile. */
export type DialogOutcome = 'sent' | 'weekly_limit' | 'email_required' | 'note_quota' | 'unrecognised';

type Open = { dialog: Locator; kind: DialogKind };

/**
 * The dialog Connect opens, wherever LinkedIn renders it: in the page (`dialog` or `alertdialog`),
 * inside the open shadow root of #interop-outlet (whose overlay takes every click outside it), or
 * in the /preload/ iframe. Its buttons are read by position, the way LinkedIn lays them out in every
 * language: the primary action last, "Add a note" just before it. A refused invitation request
 * (429) is the weekly limit whatever the notice says.
 */
export class InviteDialog {
  private limitSeen = false;
  private readonly onResponse = (response: Response) => {
    const request = response.request();
    if (response.status() === 429 && request.method() === 'POST' && /\/voyager\/api\//.test(response.url()))
      this.limitSeen = true;
  };

  constructor(
    private readonly page: Page,
    private readonly profile: ProfilePage,
    private readonly pacing: Pacing,
    private readonly timeoutMs: number,
  ) {}

  /** Listens for LinkedIn refusing the invitation, from before Connect is clicked until `stop`. */
  listen(): () => void {
    this.page.on('response', this.onResponse);
    return () => this.page.off('response', this.onResponse);
  }

  /** Completes the dialog: the note if any, then the primary button; waits for it to close. */
  async complete(note: string | undefined): Promise<DialogOutcome> {
    let open = await this.wait((o) => o !== null, this.timeoutMs);
    if (!open) return this.limitSeen ? 'weekly_limit' : 'unrecognised';
    const early = await this.settle(open);
    if (early) return early;
    if (note) {
      if (open.kind === 'choice') {
        const buttons = open.dialog.locator(selectors.invite.buttons).filter({ visible: true });
        const count = await buttons.count();
        if (count < 2) return 'unrecognised';
        await pause(this.pacing);
        await buttons.nth(count - 2).click({ timeout: this.timeoutMs });
        open = await this.wait((o) => o !== null && o.kind !== 'choice', Math.min(this.timeoutMs, 3000));
        if (!open || open.kind === 'choice') return 'unrecognised';
        const next = await this.settle(open);
        if (next) return next;
      }
      if (open.kind !== 'note') return 'unrecognised';
      await this.profile.type(
        open.dialog.locator(selectors.invite.note).filter({ visible: true }).first(),
        note,
      );
    }
    const buttons = open.dialog.locator(selectors.invite.buttons).filter({ visible: true });
    const count = await buttons.count();
    if (count === 0) return 'unrecognised';
    await pause(this.pacing);
    await buttons.nth(count - 1).click({ timeout: this.timeoutMs });
    const after = await this.wait(
      (o) => this.limitSeen || o === null || ['limit', 'premium'].includes(o.kind),
      this.timeoutMs,
    );
    if (this.limitSeen || after?.kind === 'limit') return 'weekly_limit';
    if (after?.kind === 'premium') return this.dismissed(after, 'note_quota');
    return after === null ? 'sent' : 'unrecognised';
  }

  /** The outcomes the dialog can show at any step: limit, e-mail required, Premium upsell. */
  private async settle(open: Open): Promise<DialogOutcome | null> {
    if (open.kind === 'limit') return 'weekly_limit';
    if (open.kind === 'email') return this.dismissed(open, 'email_required');
    if (open.kind === 'premium') return this.dismissed(open, 'note_quota');
    return null;
  }

  /** Closes the dialog (Escape, as a person would) and reports why; nothing was sent. */
  private async dismissed(open: Open, outcome: DialogOutcome): Promise<DialogOutcome> {
    await open.dialog.press('Escape', { timeout: 2000 }).catch(() => {});
    return outcome;
  }

  private async wait(done: (open: Open | null) => boolean, timeoutMs: number): Promise<Open | null> {
    return poll(() => this.find(), done, timeoutMs);
  }

  /** The topmost visible dialog in any frame, and what it asks for. */
  private async find(): Promise<Open | null> {
    for (const frame of this.page.frames()) {
      const dialogs = frame.locator(dialogSelector).filter({ visible: true });
      if ((await dialogs.count().catch(() => 0)) === 0) continue;
      const dialog = dialogs.last();
      const kind = await dialog
        .evaluate(classifyDialog, dialogArgs, { timeout: 1000 })
        .then((k) => DialogKind.parse(k))
        .catch(() => null);
      if (kind) return { dialog, kind };
    }
    return null;
  }
}
