import type { Page } from 'playwright-core';
import type { DriverResult } from '../driver';
import { ok, unrecognised } from '../driver';
import type { Pacing } from '../pacing';
import { paths } from '../selectors';
import { canonicalFromHref, siteUrl } from '../urls';
import { ConnectionLinks, readConnections } from './in-page';
import { navigate, wall } from './landing';
import { poll } from './wait';

/**
 * The account's connections, newest first. A page showing no connection it recognises is reported
 * (`connections.list`), never read as "nobody accepted": only an empty list is an empty list.
 */
export class ConnectionsPage {
  constructor(
    private readonly page: Page,
    private readonly baseUrl: string,
    private readonly pacing: Pacing,
    private readonly timeoutMs: number,
  ) {}

  async profileUrls(): Promise<DriverResult<string[]>> {
    const landing = await navigate(this.page, siteUrl(this.baseUrl, paths.connections), this.pacing);
    if (landing !== 'ok') return wall(landing);
    const found = await poll(
      async () => ConnectionLinks.parse(await this.page.evaluate(readConnections, {})),
      (c) => c.hrefs.length > 0 || c.emptyList,
      this.timeoutMs,
    );
    if (found.hrefs.length === 0 && !found.emptyList) return unrecognised('connections.list');
    const urls = found.hrefs.map((h) => canonicalFromHref(h, this.baseUrl));
    return ok([...new Set(urls.filter((u): u is string => u !== null))]);
  }
}
