import type { BrowserContext, Route } from 'playwright-core';
import { readReceipts } from '../selectors';

/**
 * Blocks, for the whole life of an account's browser context, the requests that tell LinkedIn a
 * conversation was read: the `read: true` patch its client sends when a conversation opens (in the
 * inbox or in a profile's message overlay), and seen receipts. The engine never means to read a
 * conversation for the person: their replies stay unread for them, and the sender sees no "seen".
 * Installed on the context, not around a read: a request already on its way when a per-read route
 * was removed would slip through. Only messaging API calls are routed through here, not every API
 * call of every page. (The context blocks service workers, so none of them bypasses the route.)
 */
export async function blockReadReceipts(context: BrowserContext): Promise<void> {
  await context.route(readReceipts.routes, async (route: Route) => {
    const request = route.request();
    const marksRead =
      request.method() !== 'GET' &&
      (readReceipts.url.test(request.url()) || readReceipts.body.test(request.postData() ?? ''));
    await (marksRead ? route.abort('blockedbyclient') : route.continue());
  });
}
