import { z } from 'zod';

/**
 * One cookie as browser extensions export it (Cookie-Editor, EditThisCookie: `expirationDate`,
 * `sameSite: "no_restriction"`) or as Playwright and DevTools do (`expires`, `sameSite: "None"`).
 */
export const ExportedCookie = z.object({
  name: z.string().min(1).max(256),
  value: z.string().max(8192),
  domain: z.string().max(256).optional(),
  path: z.string().max(1024).optional(),
  expires: z.number().optional(),
  expirationDate: z.number().optional(),
  httpOnly: z.boolean().optional(),
  secure: z.boolean().optional(),
  sameSite: z.string().max(32).nullable().optional(),
});
export type ExportedCookie = z.infer<typeof ExportedCookie>;

/** What is sealed in `linkedin_accounts.session_enc`. */
export const StoredSession = z.object({ cookies: z.array(ExportedCookie) });
export type StoredSession = z.infer<typeof StoredSession>;

/** The cookie that carries a LinkedIn login; a session without it is not a session. */
export const SESSION_COOKIE = 'li_at';

export function sessionFromLiAt(liAt: string): StoredSession {
  return { cookies: [{ name: SESSION_COOKIE, value: liAt, domain: '.linkedin.com', path: '/' }] };
}

export const hasSessionCookie = (cookies: ExportedCookie[]) =>
  cookies.some((c) => c.name === SESSION_COOKIE && c.value.trim() !== '');

/** The cookie shape Playwright's `BrowserContext.addCookies` takes. */
export type BrowserCookie = {
  name: string;
  value: string;
  url?: string;
  domain?: string;
  path?: string;
  expires?: number;
  httpOnly?: boolean;
  secure?: boolean;
  sameSite?: 'Strict' | 'Lax' | 'None';
};

function sameSite(value: string | null | undefined): BrowserCookie['sameSite'] {
  const v = value?.toLowerCase();
  if (v === 'strict') return 'Strict';
  if (v === 'lax') return 'Lax';
  if (v === 'none' || v === 'no_restriction') return 'None';
  return undefined;
}

/**
 * Maps stored cookies onto the site at `baseUrl`. Against linkedin.com they keep their domains; against
 * any other host (the test fixture, a proxy) the LinkedIn cookies are bound to that host instead, so
 * the same stored session drives either. Cookies of unrelated domains are dropped.
 */
export function browserCookies(session: StoredSession, baseUrl: string): BrowserCookie[] {
  const base = new URL(baseUrl);
  const onLinkedIn = base.hostname === 'linkedin.com' || base.hostname.endsWith('.linkedin.com');
  const out: BrowserCookie[] = [];
  for (const c of session.cookies) {
    const domain = (c.domain ?? '.linkedin.com').toLowerCase();
    if (!domain.replace(/^\./, '').endsWith('linkedin.com')) continue;
    const expires = c.expires ?? c.expirationDate;
    const common = {
      name: c.name,
      value: c.value,
      ...(expires !== undefined && expires > 0 ? { expires } : {}),
      ...(c.httpOnly !== undefined ? { httpOnly: c.httpOnly } : {}),
    };
    if (onLinkedIn) {
      const site = sameSite(c.sameSite);
      // Chromium rejects SameSite=None without Secure.
      const secure = c.secure ?? true;
      out.push({
        ...common,
        domain,
        path: c.path ?? '/',
        secure,
        ...(site && (site !== 'None' || secure) ? { sameSite: site } : {}),
      });
    } else {
      out.push({ ...common, url: base.origin });
    }
  }
  return out;
}
