import { normalizeLinkedInUrl } from '../../lib/identity';
import { paths } from './selectors';

/** The slug of a canonical profile URL, or null when it is not one. */
export function profileSlug(profileUrl: string): string | null {
  const canonical = normalizeLinkedInUrl(profileUrl);
  if (!canonical) return null;
  const encoded = canonical.slice(canonical.lastIndexOf('/') + 1);
  return decodeURIComponent(encoded);
}

/** A path on the site the driver talks to (LINKEDIN_BASE_URL: linkedin.com or the test fixture). */
export const siteUrl = (baseUrl: string, path: string) => new URL(path, baseUrl).toString();

export const profilePageUrl = (baseUrl: string, slug: string) => siteUrl(baseUrl, paths.profile(slug));

/** Canonical profile URL for a link found on a page of the site (`/in/jane/`, absolute or relative). */
export function canonicalFromHref(href: string, baseUrl: string): string | null {
  const url = new URL(href, baseUrl);
  return normalizeLinkedInUrl(`https://www.linkedin.com${url.pathname}`);
}
