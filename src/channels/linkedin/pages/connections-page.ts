import type { Page } from 'playwright-core';
import type { Pacing } from '../pacing';
import { paths, selectors } from '../selectors';
import { canonicalFromHref, siteUrl } from '../urls';
import { type Landing, navigate } from './landing';

/** "My Network › Connections", newest first: one page load tells which invitations were accepted. */
export class ConnectionsPage {
  constructor(
    private readonly page: Page,
    private readonly baseUrl: string,
    private readonly pacing: Pacing,
  ) {}

  async open(): Promise<Landing> {
    return navigate(this.page, siteUrl(this.baseUrl, paths.connections), this.pacing);
  }

  async profileUrls(): Promise<string[]> {
    const hrefs = await this.page
      .locator(selectors.connections.cardLinks)
      .evaluateAll((links) => links.map((a) => a.getAttribute('href') ?? ''));
    const urls = hrefs.map((h) => (h ? canonicalFromHref(h, this.baseUrl) : null));
    return [...new Set(urls.filter((u): u is string => u !== null))];
  }
}
