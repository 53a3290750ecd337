import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startTestEngine, type TestEngine } from '../helpers/engine';

/** The queue dashboard in a real Chromium: offline (nothing fetched from outside) and from any address. */
describe('queue dashboard in a browser', { timeout: 120_000 }, () => {
  let engine: TestEngine;
  let browser: Browser;
  let origin: URL;
  beforeAll(async () => {
    engine = await startTestEngine();
    origin = new URL(await engine.app.listen({ host: '127.0.0.1', port: 0 }));
    browser = await chromium.launch({
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'],
    });
  });
  afterAll(async () => {
    await browser?.close();
    await engine.close();
  });

  /** Opens `url` offline: any request that leaves the engine is recorded and aborted. */
  const open = async (url: string, httpCredentials?: { username: string; password: string }) => {
    const context = await browser.newContext(httpCredentials ? { httpCredentials } : {});
    const outside: string[] = [];
    await context.route('**/*', (route) => {
      const target = new URL(route.request().url());
      if (target.host === origin.host) return route.continue();
      outside.push(target.href);
      return route.abort();
    });
    const page = await context.newPage();
    await page.goto(url);
    return { context, page, outside };
  };

  it('renders its queues with nothing fetched from outside (no Google Fonts)', async () => {
    const { context, page, outside } = await open(`${origin.origin}/admin/queues`, {
      username: 'admin',
      password: ADMIN_TOKEN,
    });
    try {
      await page.getByText('webhooks', { exact: false }).first().waitFor({ timeout: 60_000 });
      expect(outside).toEqual([]);
      expect(await page.content()).not.toContain('fonts.googleapis.com');
    } finally {
      await context.close();
    }
  });

  it.each([
    ['the token as the user name', (host: string) => `http://${ADMIN_TOKEN}@${host}/admin/queues`],
    ['the token as the password', (host: string) => `http://admin:${ADMIN_TOKEN}@${host}/admin/queues`],
  ])('opened with %s in the address, lists its queues instead of spinning', async (_what, url) => {
    const { context, page, outside } = await open(url(origin.host));
    try {
      await page.getByText('webhooks', { exact: false }).first().waitFor({ timeout: 60_000 });
      expect(outside).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it('refuses a wrong token in the address with the Basic challenge, so the browser asks', async () => {
    const res = await fetch(`${origin.origin}/admin/queues/api/queues`, {
      headers: { authorization: `Basic ${Buffer.from('wrong-token-0123456789:').toString('base64')}` },
    });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Basic realm=/);
  });
});
