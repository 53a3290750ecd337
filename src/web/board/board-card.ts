import { Html, html } from '../html';
import { date, days, money } from '../view-filters';
import type { BoardCard, BoardFilter } from './board.service';

/** What every card of one page shares: the CSRF token, the filters to keep, the stage choices. */
export type CardContext = { csrf: string; filter: BoardFilter; stageOptions: Html };

/** The stage selector's options, the same on every card: rendered once per page. */
export const stageOptions = (stages: { key: string; name: string }[]): Html =>
  html`${stages.map((s) => html`<option value="${s.key}">${s.name}</option>`)}`;

/**
 * One card of the board, as HTML. Written here rather than in Liquid: a board renders 140 of them
 * and more, and the Liquid version took most of the page's render time (docs/web.md, "Figures").
 * Every value goes through `html`, which escapes it as the page engine would.
 */
export function boardCardHtml(card: BoardCard, ctx: CardContext): Html {
  const { filter } = ctx;
  const when = date(card.lastActivityAt);
  return html`<li class="card${card.stale ? ` card--${card.stale}` : ''}" data-lead-id="${card.id}" data-stale="${card.stale ?? ''}">
  <a class="card-name" href="/app/leads/${card.id}">${card.name}</a>${card.company ? html`<span class="card-company">${card.company}</span>` : ''}
  <dl class="card-facts">
    <dt>Score</dt><dd>${card.score}</dd>
    <dt>In stage</dt><dd>${days(card.daysInStage)}</dd>${
      card.dealValue !== null ? html`<dt>Deal</dt><dd>${money(card.dealValue, card.dealCurrency)}</dd>` : ''
    }${card.sequence ? html`<dt>Sequence</dt><dd>${card.sequence} · step ${card.step}</dd>` : ''}
    <dt>Last activity</dt><dd><time datetime="${when}">${when}</time></dd>
  </dl>${
    card.stale
      ? html`<p class="stale-flag">${card.stale === 'red' ? "Stale: twice the stage's limit" : "Stale: at the stage's limit"}</p>`
      : ''
  }
  <form method="post" action="/app/board/move" class="move" hx-post="/app/board/move" hx-target="#board" hx-select="#board" hx-swap="outerHTML">
    <input type="hidden" name="_csrf" value="${ctx.csrf}">
    <input type="hidden" name="leadId" value="${card.id}">${
      filter.sequenceId ? html`<input type="hidden" name="sequence" value="${filter.sequenceId}">` : ''
    }${filter.owner ? html`<input type="hidden" name="owner" value="${filter.owner}">` : ''}${
      filter.q ? html`<input type="hidden" name="q" value="${filter.q}">` : ''
    }
    <label for="stage-${card.id}" class="visually-hidden">Move ${card.name} to stage</label>
    <select id="stage-${card.id}" name="stage" required><option value="" selected disabled>Move to…</option>${ctx.stageOptions}</select>
    <button type="submit">Move</button>
  </form>
</li>`;
}

/** A list of cards, as one string for the templates to print unescaped (`| raw`). */
export const cardsHtml = (cards: BoardCard[], ctx: CardContext): string =>
  cards.map((c) => boardCardHtml(c, ctx).value).join('');
