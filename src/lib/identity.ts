import { z } from 'zod';

/** Lower-cased, trimmed address: the dedup and suppression key. */
export const emailKey = (email: string) => email.trim().toLowerCase();

export const emailDomain = (email: string) => emailKey(email).split('@')[1] ?? '';

/** A deliverable-looking address: zod's check plus no CR/LF (header injection) and at most 254 chars. */
export const Email = z
  .string()
  .trim()
  .max(254)
  .refine((v) => !/[\r\n]/.test(v), 'must not contain line breaks')
  .pipe(z.email({ message: 'must be a valid email address' }));

/**
 * Canonical LinkedIn profile URL: `https://www.linkedin.com/in/<slug>` with the slug lower-cased and
 * decoded, no query, fragment or trailing slash. Returns null when the URL is not a profile URL.
 * `https://linkedin.com/in/Jane-Doe/?utm=x` and `https://www.linkedin.com/in/jane-doe` are the same.
 */
export function normalizeLinkedInUrl(input: string): string | null {
  let raw = input.trim();
  if (!/^https?:\/\//i.test(raw)) raw = `https://${raw}`;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return null;
  }
  const host = url.hostname.toLowerCase();
  if (host !== 'linkedin.com' && !host.endsWith('.linkedin.com')) return null;
  const match = /^\/(in|pub)\/([^/]+)/i.exec(url.pathname);
  if (!match?.[2]) return null;
  let slug: string;
  try {
    slug = decodeURIComponent(match[2]);
  } catch {
    return null;
  }
  slug = slug.trim().toLowerCase();
  if (!slug) return null;
  return `https://www.linkedin.com/in/${encodeURIComponent(slug)}`;
}

export const LinkedInUrl = z
  .string()
  .max(500)
  .transform((v, ctx) => {
    const normalized = normalizeLinkedInUrl(v);
    if (!normalized) {
      ctx.addIssue({
        code: 'custom',
        message: 'must be a LinkedIn profile URL (https://www.linkedin.com/in/…)',
      });
      return z.NEVER;
    }
    return normalized;
  });
