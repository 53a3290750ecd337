import { describe, expect, it } from 'vitest';
import { composeEmail, headerSafe, pickVariant, replySubject } from '../../../src/channels/email/compose';
import { htmlToText, looksLikeHtml } from '../../../src/core/html-text';
import type { LeadRow } from '../../../src/engine/channel';
import { EmailStep } from '../../../src/core/steps';
import { rewriteLinks, trackableLinks, withPixel } from '../../../src/channels/email/tracking-links';

const lead: LeadRow = {
  id: '00000000-0000-4000-8000-000000000001',
  workspaceId: '00000000-0000-4000-8000-000000000002',
  email: 'ada@example.test',
  emailKey: 'ada@example.test',
  linkedinUrl: null,
  firstName: 'Ada',
  lastName: 'Lovelace',
  company: 'Analytical <Engines> & Co',
  companyDomain: 'example.test',
  title: null,
  timezone: null,
  country: null,
  customFields: { industry: 'computing' },
  stage: 'lead',
  score: 0,
  status: 'active',
  lastActivityAt: new Date(),
  stageEnteredAt: new Date(),
  dealValue: null,
  dealCurrency: null,
  owner: null,
  erasedAt: null,
  createdAt: new Date(),
  updatedAt: new Date(),
};

const step = (input: Record<string, unknown>) => ({
  ...EmailStep.parse({ type: 'email', ...input }),
  id: 's1',
});

describe('headerSafe', () => {
  it.each([
    ['Hello\r\nBcc: x@evil.test', 'Hello Bcc: x@evil.test'],
    ['a\nb\rc', 'a b c'],
    ['tab\there', 'tab here'],
    ['nul\u0000and\u2028line sep', 'nul and line sep'],
    ['  plain  ', 'plain'],
  ])('%j → %j', (input, expected) => {
    expect(headerSafe(input)).toBe(expected);
  });
});

describe('pickVariant', () => {
  it.each([
    [[1, 1], 0, 0],
    [[1, 1], 0.49, 0],
    [[1, 1], 0.5, 1],
    [[1, 3], 0.24, 0],
    [[1, 3], 0.26, 1],
    [[5], 0.99, 0],
    [[1, 1, 2], 0.999999, 2],
  ])('weights %j at %d → %d', (weights, u, expected) => {
    expect(pickVariant(weights, u)).toBe(expected);
  });

  it('follows the weights over many draws', () => {
    let heavy = 0;
    for (let i = 0; i < 4000; i++) heavy += pickVariant([1, 3], Math.random());
    // Expected 3,000 of 4,000; far from the 2,000 an unweighted choice would give.
    expect(heavy).toBeGreaterThan(2700);
    expect(heavy).toBeLessThan(3300);
  });
});

/** The composed email; a template error fails the test with its reason. */
async function compose(input: Parameters<typeof composeEmail>[0]) {
  const email = await composeEmail(input);
  if ('error' in email) throw new Error(email.error);
  return email;
}

describe('composeEmail', () => {
  it('renders lead fields and custom fields into a text-only email', async () => {
    const email = await compose({
      step: step({ subject: 'Hi {{ firstName }}', body: 'Dear {{ firstName }} in {{ industry }}' }),
      lead,
      seed: 'run-1',
      threadSubject: null,
    });
    expect(email).toEqual({ subject: 'Hi Ada', text: 'Dear Ada in computing', html: null, variant: null });
  });

  it('gives an HTML body a text alternative and escapes lead values in the HTML', async () => {
    const email = await compose({
      step: step({
        subject: 'Hi',
        body: '<p>Hello {{ company }}</p><p><a href="https://x.test/a?b=1&amp;c=2">read</a></p>',
      }),
      lead,
      seed: 'run-1',
      threadSubject: null,
    });
    expect(email.html).toContain('Analytical &lt;Engines&gt; &amp; Co');
    expect(email.text).toBe('Hello Analytical <Engines> & Co\n\nread (https://x.test/a?b=1&c=2)');
  });

  it('replies with Re: and the thread subject, once', async () => {
    const s = step({ subject: 'ignored {{ firstName }}', body: 'x', thread: 'reply' });
    expect((await compose({ step: s, lead, seed: 'r', threadSubject: 'Quick question' })).subject).toBe(
      'Re: Quick question',
    );
    expect(replySubject('RE: Quick question')).toBe('RE: Quick question');
  });

  it('chooses the same variant for the same seed (A is the step itself), with its subject or the step subject', async () => {
    const s = step({
      subject: 'Base',
      body: 'base',
      variants: [{ body: 'zero' }, { subject: 'One', body: 'one' }],
    });
    const seen = new Set<number | null>();
    for (let i = 0; i < 40; i++) {
      const a = await compose({ step: s, lead, seed: `run-${i}`, threadSubject: null });
      const b = await compose({ step: s, lead, seed: `run-${i}`, threadSubject: null });
      expect(b).toEqual(a);
      expect(a.text).toBe(['base', 'zero', 'one'][a.variant ?? -1]);
      expect(a.subject).toBe(a.variant === 2 ? 'One' : 'Base');
      seen.add(a.variant);
    }
    expect(seen).toEqual(new Set([0, 1, 2]));
  });

  it('strips line breaks from a rendered subject', async () => {
    const email = await compose({
      step: step({ subject: 'Hi {{ firstName }}', body: 'x' }),
      lead: { ...lead, firstName: 'Eve\r\nBcc: x@evil.test' },
      seed: 'r',
      threadSubject: null,
    });
    expect(email.subject).toBe('Hi Eve Bcc: x@evil.test');
  });
});

describe('html to text', () => {
  it.each([
    ['plain text with < and >', 'a < b and c > d', false],
    ['a paragraph', '<p>Hi</p>', true],
    ['a line break', 'Hi<br>there', true],
  ])('looksLikeHtml: %s', (_n, body, expected) => {
    expect(looksLikeHtml(body)).toBe(expected);
  });

  it.each([
    ['<p>One</p><p>Two</p>', 'One\n\nTwo'],
    ['Line<br/>Next', 'Line\nNext'],
    ['<ul><li>a</li><li>b</li></ul>', '- a\n- b'],
    ['<style>p{color:red}</style><p>x&nbsp;&#233;&#x41;</p>', 'x éA'],
    ['<a href="https://x.test">https://x.test</a>', 'https://x.test'],
    ['', ''],
  ])('%j → %j', (html, text) => {
    expect(htmlToText(html)).toBe(text);
  });
});

describe('tracking links', () => {
  const html =
    '<p><a href="https://a.test/x?y=1&amp;z=2">A</a> <a class="b" href=\'http://b.test\'>B</a> <a href="mailto:m@x.test">M</a></p>';

  it('lists the http(s) links in order, decoded, and rewrites the same ones', () => {
    expect(trackableLinks(html)).toEqual(['https://a.test/x?y=1&z=2', 'http://b.test']);
    const rewritten = rewriteLinks(html, (i) => `https://t.test/c/${i}`);
    expect(trackableLinks(rewritten)).toEqual(['https://t.test/c/0', 'https://t.test/c/1']);
    expect(rewritten).toContain('mailto:m@x.test');
  });

  it('puts the pixel before </body> or at the end', () => {
    expect(withPixel('<html><body><p>x</p></body></html>', 'https://t.test/o')).toMatch(
      /<img src="https:\/\/t.test\/o"[^>]*><\/body>/,
    );
    expect(withPixel('<p>x</p>', 'https://t.test/o')).toMatch(/^<p>x<\/p><img /);
  });
});
