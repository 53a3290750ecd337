import type { Locator, Page, Request } from 'playwright-core';
import type { ConnectionStatus, DriverResult } from '../driver';
import { ok, unrecognised } from '../driver';
import { keystrokeDelay, type Pacing, pause } from '../pacing';
import { selectors } from '../selectors';
import { profilePageUrl } from '../urls';
import { readTopCard, TopCardSignals } from './in-page';
import { navigate, wall } from './landing';
import { cssString, poll } from './wait';

export type ConnectClick = 'clicked' | 'unavailable' | 'unrecognised';

/** The slug in a profile page's URL (after LinkedIn's redirects), lower-cased and decoded. */
function slugOfUrl(url: string): string | null {
  const match = /^\/in\/([^/]+)/i.exec(new URL(url).pathname);
  if (!match?.[1]) return null;
  try {
    return decodeURIComponent(match[1]).toLowerCase();
  } catch {
    return null;
  }
}

/**
 * A member's profile page, read through its own top card (pages/in-page.ts, `readTopCard`): the card
 * is found by the profile's own links, and every control the driver clicks is inside it, or is the
 * Connect link for this vanity name. The sidebar's Connect buttons belong to other people.
 */
export class ProfilePage {
  private slugs: string[] = [];

  constructor(
    private readonly page: Page,
    private readonly baseUrl: string,
    private readonly pacing: Pacing,
    private readonly timeoutMs: number,
  ) {}

  /** Opens the profile and waits for its top card to show a degree (or to be the account's own). */
  async open(slug: string): Promise<DriverResult<TopCardSignals>> {
    const landing = await navigate(this.page, profilePageUrl(this.baseUrl, slug), this.pacing);
    if (landing !== 'ok') return wall(landing);
    return this.recognise(slug);
  }

  /** Reads the top card of the page the browser is on (after a redirect to `/in/<slug>/`). */
  async recognise(slug: string | null): Promise<DriverResult<TopCardSignals>> {
    const landed = slugOfUrl(this.page.url());
    this.slugs = [...new Set([slug?.toLowerCase(), landed].filter((s): s is string => !!s))];
    const signals = await poll(
      () => this.signals(),
      (s) => s.found && (s.degrees.length > 0 || s.self),
      this.timeoutMs,
    );
    return signals.found ? ok(signals) : unrecognised('profile.top_card');
  }

  async signals(): Promise<TopCardSignals> {
    return TopCardSignals.parse(await this.page.evaluate(readTopCard, { slugs: this.slugs }));
  }

  /** The relationship the card shows; null when it shows none the driver knows (no degree). */
  static status(s: TopCardSignals): ConnectionStatus | null {
    if (s.pending) return 'pending';
    if (s.invite || s.connectButton) return 'none';
    if (s.degrees.length === 0) return null;
    return Math.max(...s.degrees) === 1 ? 'connected' : 'none';
  }

  /** The top card: the innermost section around the profile's own overlay or edit link. */
  private card(): Locator {
    const own = this.slugs
      .flatMap((s) => [s, encodeURIComponent(s)])
      .flatMap((s) => [`a[href*="/in/${cssString(s)}/overlay/" i]`, `a[href*="/in/${cssString(s)}/edit/" i]`])
      .join(', ');
    // No slug, no card: a selector that matches nothing rather than an invalid one.
    return this.page
      .locator('main')
      .locator(own || 'a[data-no-profile-slug]')
      .first()
      .locator('xpath=ancestor::section[1]');
  }

  /** The Connect link for this vanity name (exactly: `vanityName=ada` is not `ada-lovelace`). */
  private inviteLink(): Locator {
    const links = this.slugs.flatMap((s) => {
      const v = cssString(encodeURIComponent(s));
      const base = 'a[href*="/preload/custom-invite/"]';
      return [`${base}[href$="vanityName=${v}" i]`, `${base}[href*="vanityName=${v}&" i]`];
    });
    return this.page.locator(links.join(', ')).filter({ visible: true }).first();
  }

  /**
   * Scrolls down to the end, as someone reading would, and waits for the sections the scrolling
   * made the page fetch: a visit is a profile read through, not a top card glanced at.
   */
  async readThrough(): Promise<void> {
    const pending = new Set<Request>();
    const started = (r: Request) => {
      if (r.resourceType() === 'fetch' || r.resourceType() === 'xhr') pending.add(r);
    };
    const settled = (r: Request) => pending.delete(r);
    this.page.on('request', started);
    this.page.on('requestfinished', settled);
    this.page.on('requestfailed', settled);
    try {
      for (let step = 0; step < 30; step++) {
        await pause(this.pacing);
        await this.page.mouse.wheel(0, 700);
        const atEnd = await this.page.evaluate(
          'window.scrollY + window.innerHeight >= document.documentElement.scrollHeight - 4',
        );
        if (atEnd === true) break;
      }
      // Two frames: the page has seen what scrolled into view and asked for it.
      await this.page.evaluate(
        'new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))',
      );
      await poll(
        async () => pending.size,
        (n) => n === 0,
        this.timeoutMs,
      );
    } finally {
      this.page.off('request', started);
      this.page.off('requestfinished', settled);
      this.page.off('requestfailed', settled);
    }
  }

  /**
   * Clicks Connect: the top card's own link or button, else the one under "More". `unavailable`
   * when More opened a menu without it; `unrecognised` when there was no More or no menu.
   */
  async clickConnect(): Promise<ConnectClick> {
    await pause(this.pacing);
    const connect = await this.visibleConnect();
    if (connect) {
      await connect.click({ timeout: this.timeoutMs });
      return 'clicked';
    }
    const more = this.card().locator(selectors.profile.more).filter({ visible: true }).last();
    if ((await more.count()) === 0) return 'unrecognised';
    await more.click({ timeout: this.timeoutMs });
    const menu = this.page.locator(selectors.profile.menu).filter({ visible: true });
    // A menu that has shown for half a second without Connect has none (menus render at once).
    let menuSince: number | null = null;
    const found = await poll(
      async () => {
        const connect = await this.visibleConnect();
        if (connect) return connect;
        if ((await menu.count()) === 0) return null;
        menuSince ??= Date.now();
        return 'menu' as const;
      },
      (v) => (v !== null && v !== 'menu') || (menuSince !== null && Date.now() - menuSince >= 500),
      Math.min(this.timeoutMs, 3000),
    );
    if (found === null) return 'unrecognised';
    if (found === 'menu') return 'unavailable';
    await pause(this.pacing);
    await found.click({ timeout: this.timeoutMs });
    return 'clicked';
  }

  private async visibleConnect(): Promise<Locator | null> {
    const link = this.inviteLink();
    if ((await link.count()) > 0) return link;
    const button = this.card().locator(selectors.profile.connectButton).filter({ visible: true }).first();
    return (await button.count()) > 0 ? button : null;
  }

  /** Clicks the card's Message control; false when the card shows none. */
  async clickMessage(): Promise<boolean> {
    const button = this.card().locator(selectors.profile.message).filter({ visible: true }).first();
    if ((await button.count()) === 0) return false;
    await pause(this.pacing);
    await button.click({ timeout: this.timeoutMs });
    return true;
  }

  /**
   * Types like a person: one key at a time with small irregular gaps. Line breaks go in as
   * Shift+Enter, because a bare Enter sends the message in LinkedIn's composer.
   */
  async type(field: Locator, text: string): Promise<void> {
    await field.click({ timeout: this.timeoutMs });
    const lines = text.split(/\r?\n/);
    for (const [i, line] of lines.entries()) {
      if (i > 0) await field.press('Shift+Enter');
      if (line) await field.pressSequentially(line, { delay: keystrokeDelay(this.pacing), timeout: 0 });
    }
  }
}
