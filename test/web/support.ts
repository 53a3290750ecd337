import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import AxeBuilder from '@axe-core/playwright';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { expect } from 'vitest';
import { createTestWorkspace, startTestEngine, type TestEngine, type TestWorkspace } from '../helpers/engine';

const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** Where each test leaves its screenshots, for a reviewer to look at the pages. */
export const SCREENSHOTS = process.env.WEB_SCREENSHOTS ?? join('test-results', 'web');

export type WebRig = {
  engine: TestEngine;
  ws: TestWorkspace;
  baseUrl: string;
  browser: Browser;
  close(): Promise<void>;
};

/** A real engine listening on a port, a workspace, and Chromium. */
export async function startWebRig(opts: Parameters<typeof startTestEngine>[0] = {}): Promise<WebRig> {
  const engine = await startTestEngine(opts);
  const address = await engine.app.listen({ host: '127.0.0.1', port: 0 });
  const ws = await createTestWorkspace(engine.app);
  const browser = await chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
    ],
  });
  mkdirSync(SCREENSHOTS, { recursive: true });
  return {
    engine,
    ws,
    baseUrl: address,
    browser,
    async close() {
      await browser.close();
      await engine.close();
    },
  };
}

/** A browser context signed in with the workspace's key, through the sign-in form. */
export async function signIn(
  rig: WebRig,
  key = rig.ws.apiKey,
): Promise<{ context: BrowserContext; page: Page }> {
  const context = await rig.browser.newContext({
    baseURL: rig.baseUrl,
    viewport: { width: 1400, height: 900 },
  });
  const page = await context.newPage();
  await page.goto('/app/login');
  await page.getByLabel('API key').fill(key);
  await Promise.all([
    page.waitForURL((url) => !url.pathname.startsWith('/app/login')),
    page.getByRole('button', { name: 'Sign in' }).click(),
  ]);
  return { context, page };
}

export async function screenshot(page: Page, name: string, extraPath?: string): Promise<void> {
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
  // The README's pictures are refreshed on demand only, so a test run leaves the checkout clean.
  if (extraPath && process.env.UPDATE_DOCS_SCREENSHOTS === '1')
    await page.screenshot({ path: extraPath, fullPage: false });
}

/** axe-core on the page as it is: no serious or critical violation. */
export async function expectAccessible(page: Page): Promise<void> {
  const result = await new AxeBuilder({ page }).analyze();
  const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  expect(bad.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`)).toEqual([]);
}
