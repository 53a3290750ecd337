import { compile } from 'html-to-text';

/**
 * The HTML read from a body, in characters. A reply's new text comes first; beyond this is quoted
 * history, signatures and inline images. html-to-text is linear but not cheap (1 MiB of plain
 * paragraphs takes about 200 ms), and every request waits on it.
 */
export const MAX_HTML_CHARS = 256 * 1024;

/**
 * Tags read from a body. htmlparser2 (under html-to-text) keeps its open elements in an array it
 * shifts at the front, so each tag costs as much as the nesting depth: 200,000 nested `<div>`s take
 * 20 s and `<li><p>` pairs fool mailparser's depth check. No more tags than this, no deeper either.
 */
export const MAX_HTML_TAGS = 5_000;

const convert = compile({
  wordwrap: false,
  limits: { maxDepth: 500, ellipsis: '' },
  selectors: [
    { selector: 'a', options: { ignoreHref: true } },
    { selector: 'img', format: 'skip' },
    // The quote of the message answered: ours, whose footer says "unsubscribe".
    { selector: 'blockquote', format: 'skip' },
    { selector: 'script', format: 'skip' },
    { selector: 'style', format: 'skip' },
    { selector: 'title', format: 'skip' },
    ...['h1', 'h2', 'h3', 'h4', 'h5', 'h6'].map((selector) => ({
      selector,
      options: { uppercase: false },
    })),
  ],
});

/** Text of an HTML body, good enough for classification and previews (not for display). */
export function htmlToText(html: string): string {
  return convert(boundedHtml(html)).trim();
}

/**
 * The start of `html`: at most MAX_HTML_CHARS, cut before the tag after MAX_HTML_TAGS. Counts every
 * `<` that can start a tag or an end tag (the parser cannot open or close more), comments and
 * scripts included: counting too many only cuts earlier.
 */
export function boundedHtml(html: string): string {
  const head = html.length > MAX_HTML_CHARS ? html.slice(0, MAX_HTML_CHARS) : html;
  const tag = /<[/a-z]/gi;
  for (let n = 0; tag.exec(head) !== null; n++) {
    if (n === MAX_HTML_TAGS) return head.slice(0, tag.lastIndex - 2);
  }
  return head;
}
