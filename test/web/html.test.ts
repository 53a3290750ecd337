import { describe, expect, it } from 'vitest';
import { boardCardHtml, stageOptions } from '../../src/web/board/board-card';
import { Html, html } from '../../src/web/html';
import { pages } from '../../src/web/page-engine';

const hostile = `"><script>alert('x')</script>&`;

describe('html: the board cards written in TypeScript escape like the pages', () => {
  it('escapes every value as the page engine does, and prints nothing for null, undefined, false', () => {
    expect(html`<p title="${hostile}">${hostile}</p>`.value).toBe(
      `<p title="${pages.parseAndRenderSync('{{ v }}', { v: hostile })}">${pages.parseAndRenderSync('{{ v }}', { v: hostile })}</p>`,
    );
    expect(html`${null}${undefined}${false}${0}`.value).toBe('0');
    // Only Html made by the tag passes unescaped, nested or in arrays.
    expect(html`<ul>${['<a>', html`<li>${'<b>'}</li>`]}</ul>`.value).toBe(
      '<ul>&lt;a&gt;<li>&lt;b&gt;</li></ul>',
    );
    expect(new Html('<i>').toString()).toBe('<i>');
  });

  it('leaves no tenant text unescaped on a card', () => {
    const out = boardCardHtml(
      {
        id: '00000000-0000-4000-8000-000000000001',
        name: hostile,
        company: hostile,
        score: 3,
        stage: 'lead',
        daysInStage: 6,
        stale: 'amber',
        dealValue: 12.5,
        dealCurrency: 'EUR',
        owner: hostile,
        sequence: hostile,
        step: hostile,
        lastActivityAt: new Date('2026-01-02T03:04:05Z'),
      },
      {
        csrf: hostile,
        filter: { owner: hostile, q: hostile },
        stageOptions: stageOptions([{ key: 'lead', name: hostile }]),
      },
    ).value;
    expect(out).not.toContain('<script>');
    expect(out).not.toContain(hostile);
    expect(out).not.toContain("'x'");
    expect(out).toContain('&#34;&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;');
    expect(out).toContain('<dd>6 days</dd>');
    expect(out).toContain('<dd>€12.50</dd>');
    expect(out).toContain('data-stale="amber"');
  });
});
