import { decodeEntities } from '../../channels/email/html-text';

/** `<a … href="http(s)://…">`: the links a click redirect may lead to, in body order. */
const LINK = /(<a\b[^>]*?\bhref\s*=\s*)(["'])(https?:\/\/[^"'\s<>]+)\2/gi;

/** The absolute http(s) link targets of an HTML body, in order, entities decoded. */
export function trackableLinks(html: string): string[] {
  return [...html.matchAll(LINK)].map((m) => decodeEntities(m[3] ?? ''));
}

/** Replaces the n-th trackable link's target with `urlFor(n)`; the same order as `trackableLinks`. */
export function rewriteLinks(html: string, urlFor: (index: number) => string): string {
  let index = 0;
  return html.replace(
    LINK,
    (_m, prefix: string, quote: string) => `${prefix}${quote}${urlFor(index++)}${quote}`,
  );
}

/** Adds the open pixel just before `</body>`, or at the end of a fragment. */
export function withPixel(html: string, pixelUrl: string): string {
  const img = `<img src="${pixelUrl}" width="1" height="1" alt="" style="display:none">`;
  const close = html.search(/<\/body\s*>/i);
  return close === -1 ? `${html}${img}` : `${html.slice(0, close)}${img}${html.slice(close)}`;
}
