import type { Page, Response } from 'playwright-core';
import type { Pacing } from '../pacing';
import { pause } from '../pacing';
import { selectors, urlPatterns } from '../selectors';

/** Where a navigation ended: the page asked for, or one of LinkedIn's walls. */
export type Landing = 'ok' | 'checkpoint' | 'logged_out' | 'not_found';

/** Tells the walls apart from the page asked for, by final URL, status and markers on the page. */
export async function classifyLanding(page: Page, response: Response | null): Promise<Landing> {
  const url = page.url();
  if (urlPatterns.checkpoint.test(url)) return 'checkpoint';
  if (urlPatterns.loginWall.test(url)) return 'logged_out';
  if (urlPatterns.notFound.test(url) || response?.status() === 404) return 'not_found';
  if ((await page.locator(selectors.walls.captcha).count()) > 0) return 'checkpoint';
  if ((await page.locator(selectors.walls.loginForm).count()) > 0) return 'logged_out';
  if ((await page.locator(selectors.walls.notFound).count()) > 0) return 'not_found';
  return 'ok';
}

/** Navigates after a human-like pause and reports where it landed. */
export async function navigate(page: Page, url: string, pacing: Pacing): Promise<Landing> {
  await pause(pacing);
  const response = await page.goto(url, { waitUntil: 'domcontentloaded' });
  return classifyLanding(page, response);
}
