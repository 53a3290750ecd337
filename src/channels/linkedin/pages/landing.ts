import type { Page, Response } from 'playwright-core';
import type { DriverResult } from '../driver';
import { problem } from '../driver';
import type { Pacing } from '../pacing';
import { pause } from '../pacing';
import { selectors, urlPatterns } from '../selectors';

/** Where a navigation ended: the page asked for, or one of LinkedIn's walls. */
export type Landing = 'ok' | 'checkpoint' | 'logged_out' | 'account_chooser' | 'not_found';

/**
 * Tells the walls apart from the page asked for, by final URL, status and markers that hold in any
 * language: a captcha, a password field, the remembered-account chooser, LinkedIn's 404 page.
 */
export async function classifyLanding(page: Page, response: Response | null): Promise<Landing> {
  const url = page.url();
  if (urlPatterns.checkpoint.test(url)) return 'checkpoint';
  if (urlPatterns.loginWall.test(url)) return 'logged_out';
  if (urlPatterns.notFound.test(url) || response?.status() === 404) return 'not_found';
  const w = selectors.walls;
  if ((await page.locator(w.captcha).count()) > 0) return 'checkpoint';
  if ((await page.locator(w.accountChooser).count()) > 0) return 'account_chooser';
  if ((await page.locator(w.password).count()) > 0) return 'logged_out';
  if ((await page.locator(w.notFound).count()) > 0) return 'not_found';
  return 'ok';
}

/** Navigates after a human-like pause and reports where it landed. */
export async function navigate(page: Page, url: string, pacing: Pacing): Promise<Landing> {
  await pause(pacing);
  const response = await page.goto(url, { waitUntil: 'domcontentloaded' });
  return classifyLanding(page, response);
}

/** A wall as the driver's result: the chooser is a logged-out session too, said as such. */
export function wall<T>(landing: Exclude<Landing, 'ok'>): DriverResult<T> {
  return landing === 'account_chooser' ? problem('logged_out', 'account_chooser') : problem(landing);
}
