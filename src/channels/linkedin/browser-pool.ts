import { createHash } from 'node:crypto';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { blockReadReceipts } from './pages/read-guard';
import { browserCookies, type StoredSession } from './session';

/** Flags for a headless Chromium in a container: no sandbox (no user namespaces), no background chatter. */
export const chromiumArgs = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
];

type AccountContext = { context: BrowserContext; page: Page; sessionKey: string; lastUsed: number };

export type BrowserPoolOptions = { chromiumPath: string; baseUrl: string; headless: boolean };

/**
 * What the account's browser presents of its owner: the language it asks pages in and its clock.
 * Unset, Chromium's defaults stand; nothing is forced to English (LinkedIn picks the UI language from
 * the member's own settings anyway, and the driver reads any of its supported languages).
 */
export type BrowserPrefs = { locale?: string | null; timezoneId?: string | null };

/**
 * One Chromium per process and one long-lived browser context per account: an account keeps its
 * cookies, cache and tab between actions, as a person's browser would, and accounts never share
 * cookies. Chromium comes from CHROMIUM_PATH; nothing is ever downloaded.
 */
export class BrowserPool {
  private browser: Promise<Browser> | null = null;
  private readonly contexts = new Map<string, AccountContext>();

  constructor(private readonly opts: BrowserPoolOptions) {}

  private launch(): Promise<Browser> {
    if (!this.browser) {
      // Loaded on first use, not at start: playwright-core costs a worker about 43 MB of memory,
      // and most workers never drive a browser.
      const launching = import('playwright-core').then(({ chromium }) =>
        chromium.launch({
          executablePath: this.opts.chromiumPath,
          headless: this.opts.headless,
          args: chromiumArgs,
        }),
      );
      this.browser = launching;
      launching.then(
        (b) =>
          b.on('disconnected', () => {
            // A crashed browser takes its contexts with it; the next action relaunches.
            if (this.browser === launching) this.browser = null;
            this.contexts.clear();
          }),
        () => {
          if (this.browser === launching) this.browser = null;
        },
      );
    }
    return this.browser;
  }

  /** The account's page, in a context carrying its session; a changed session or prefs get a fresh one. */
  async page(accountId: string, session: StoredSession, prefs: BrowserPrefs = {}): Promise<Page> {
    const sessionKey = createHash('sha256')
      .update(JSON.stringify([session, prefs.locale ?? null, prefs.timezoneId ?? null]))
      .digest('hex');
    const existing = this.contexts.get(accountId);
    if (existing && existing.sessionKey === sessionKey && !existing.page.isClosed()) {
      existing.lastUsed = Date.now();
      return existing.page;
    }
    if (existing) await this.discard(accountId);
    const browser = await this.launch();
    const context = await browser.newContext({
      viewport: { width: 1366, height: 900 },
      ...(prefs.locale ? { locale: prefs.locale } : {}),
      ...(prefs.timezoneId ? { timezoneId: prefs.timezoneId } : {}),
      // A service worker would carry requests past the context's routes (pages/read-guard.ts).
      serviceWorkers: 'block',
    });
    await blockReadReceipts(context);
    await context.addCookies(browserCookies(session, this.opts.baseUrl));
    const page = await context.newPage();
    this.contexts.set(accountId, { context, page, sessionKey, lastUsed: Date.now() });
    return page;
  }

  /** Drops the account's context (after a challenge or a crash), so the next action starts clean. */
  async discard(accountId: string): Promise<void> {
    const entry = this.contexts.get(accountId);
    this.contexts.delete(accountId);
    await entry?.context.close().catch(() => {});
  }

  /** Closes contexts unused for `idleMs`, and the browser once none is left. */
  async closeIdle(idleMs: number, busy: (accountId: string) => boolean): Promise<void> {
    const cutoff = Date.now() - idleMs;
    for (const [id, entry] of this.contexts) {
      if (entry.lastUsed < cutoff && !busy(id)) await this.discard(id);
    }
    if (this.contexts.size === 0 && this.browser) await this.close();
  }

  async close(): Promise<void> {
    const browser = this.browser;
    this.browser = null;
    this.contexts.clear();
    if (browser) await (await browser.catch(() => null))?.close().catch(() => {});
  }
}
