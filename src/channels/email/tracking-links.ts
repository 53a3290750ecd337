import { decodeEntities } from '../../core/html-text';

/** The start of an anchor tag; the tag runs to the next `>`. */
const ANCHOR = /<a\b/gi;
/** An absolute http(s) `href` inside one tag (bounded text, so the pattern's cost is too). */
const HREF = /(\bhref\s*=\s*)(["'])(https?:\/\/[^"'\s<>]+)\2/i;
/** A tag longer than this is not a link anyone wrote; it is skipped. */
const MAX_TAG = 8192;

type Link = { start: number; end: number; target: string };

/**
 * The http(s) links of a body, in order, with where each target sits. One pass: each anchor tag is
 * found, cut at its `>`, and only that tag is searched, so no character is scanned twice (a regex
 * over the whole body backtracked quadratically on `<a <a <a …` without a `>`).
 */
function links(html: string): Link[] {
  const found: Link[] = [];
  ANCHOR.lastIndex = 0;
  for (let open = ANCHOR.exec(html); open; open = ANCHOR.exec(html)) {
    const close = html.indexOf('>', open.index);
    if (close === -1) break;
    ANCHOR.lastIndex = close + 1;
    if (close - open.index > MAX_TAG) continue;
    const href = HREF.exec(html.slice(open.index, close));
    if (!href) continue;
    const start = open.index + href.index + (href[1]?.length ?? 0) + 1;
    const target = href[3] ?? '';
    found.push({ start, end: start + target.length, target });
  }
  return found;
}

/** The absolute http(s) link targets of an HTML body, in order, entities decoded. */
export function trackableLinks(html: string): string[] {
  return links(html).map((link) => decodeEntities(link.target));
}

/** Replaces the n-th trackable link's target with `urlFor(n)`; the same order as `trackableLinks`. */
export function rewriteLinks(html: string, urlFor: (index: number) => string): string {
  const parts: string[] = [];
  let at = 0;
  for (const [index, link] of links(html).entries()) {
    parts.push(html.slice(at, link.start), urlFor(index));
    at = link.end;
  }
  parts.push(html.slice(at));
  return parts.join('');
}

/** Adds the open pixel just before `</body>`, or at the end of a fragment. */
export function withPixel(html: string, pixelUrl: string): string {
  const img = `<img src="${pixelUrl}" width="1" height="1" alt="" style="display:none">`;
  const close = html.search(/<\/body\s*>/i);
  return close === -1 ? `${html}${img}` : `${html.slice(0, close)}${img}${html.slice(close)}`;
}
