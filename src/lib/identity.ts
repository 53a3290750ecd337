import { domainToASCII } from 'node:url';
import { z } from 'zod';

/**
 * The address with an internationalised domain in its ASCII (punycode) form: `jörg@bücher.example`
 * → `jörg@xn--bcher-kva.example`. nodemailer sends IDN domains that way itself, and suppressions
 * and dedup must see one spelling. An ASCII or invalid domain is returned as it is.
 */
export function asciiDomain(address: string): string {
  const at = address.lastIndexOf('@');
  const domain = address.slice(at + 1);
  if (at < 0 || /^[\x20-\x7e]*$/.test(domain)) return address;
  const ascii = domainToASCII(domain);
  return ascii ? `${address.slice(0, at)}@${ascii}` : address;
}

/** Lower-cased, trimmed address with an ASCII domain: the dedup, suppression and matching key. */
export const emailKey = (email: string) => asciiDomain(email.trim()).toLowerCase();

export const emailDomain = (email: string) => emailKey(email).split('@')[1] ?? '';

/**
 * A deliverable-looking address: zod's check (on the ASCII form, so IDN domains pass; the address
 * is kept as given) plus no CR/LF (header injection) and at most 254 chars. A non-ASCII local part
 * fails: it needs SMTPUTF8, which the sending path does not negotiate.
 */
export const Email = z
  .string()
  .trim()
  .max(254)
  .refine((v) => !/[\r\n]/.test(v), 'must not contain line breaks')
  .refine((v) => AsciiEmail.safeParse(asciiDomain(v)).success, 'must be a valid email address');

/** zod's default pattern, with punycode top-level domains (`xn--p1ai`, the ASCII of `.рф`) too. */
const AsciiEmail = z
  .email({
    pattern:
      /^(?:[A-Za-z0-9_'+-]+\.)*[A-Za-z0-9_'+-]*[A-Za-z0-9_+-]@(?:[A-Za-z0-9][A-Za-z0-9-]*\.)+(?:[A-Za-z]{2,}|xn--[A-Za-z0-9-]{2,})$/,
  })
  .max(254);

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
