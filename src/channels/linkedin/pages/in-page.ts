import { z } from 'zod';
import { selectors } from '../selectors';
import { unreadLabel, weeklyLimitNotice } from '../vocabulary';

/**
 * Functions that run inside LinkedIn's page, kept as source text. The engine runs under tsx, whose
 * esbuild wraps named inner functions in `__name(…)`, a helper the page does not have; source text
 * reaches the page as written. What comes back is the page's word, so it is parsed with zod.
 */
function pageFunction(params: string[], body: string): (...args: unknown[]) => unknown {
  // The one untyped construct of the driver: the Function constructor types nothing.
  return new Function(...params, body) as (...args: unknown[]) => unknown;
}

/** Shared helpers, prepended to each script: slug matching on hrefs, and visibility. */
const helpers = `
  const norm = (s) => { try { return decodeURIComponent(s).toLowerCase(); } catch { return String(s).toLowerCase(); } };
  const wanted = new Set((arg.slugs || []).map(norm));
  const ownPath = (href, rest) => {
    try {
      const m = /^\\/in\\/([^/]+)(?:\\/(.*))?$/i.exec(new URL(href, location.href).pathname);
      return !!m && wanted.has(norm(m[1])) && rest.test(m[2] || '');
    } catch { return false; }
  };
  const visible = (e) => typeof e.checkVisibility === 'function'
    ? e.checkVisibility({ visibilityProperty: true, opacityProperty: true })
    : e.getClientRects().length > 0;
  const main = document.querySelector('main') || document.body;
`;

export const TopCardSignals = z.object({
  found: z.boolean(),
  name: z.string().default(''),
  degrees: z.array(z.number()).default([]),
  self: z.boolean().default(false),
  invite: z.boolean().default(false),
  connectButton: z.boolean().default(false),
  pending: z.boolean().default(false),
  message: z.boolean().default(false),
  more: z.boolean().default(false),
});
export type TopCardSignals = z.infer<typeof TopCardSignals>;

/**
 * The profile's own top card: the innermost section around its own overlay or edit links
 * (`/in/<slug>/overlay/contact-info/`, `…/background-photo/`, `…/edit/intro/`), so nothing of the
 * sidebar's other members is ever read or clicked. Inside it: the visible degree (`· 2nd`, `1er`,
 * `2.`; a hidden pre-rendered one does not count), the Pending control (a labelled link back to the
 * profile, or the clock icon), Message, More, and the Connect link for this vanity name anywhere
 * in the document (the More menu is a portal outside the card).
 */
export const readTopCard = pageFunction(
  ['arg'],
  `${helpers}
  const anchor = [...main.querySelectorAll('a[href*="/in/"]')].find((a) => ownPath(a.getAttribute('href') || '', /^(overlay|edit)\\//i));
  const card = anchor ? anchor.closest('section') : null;
  if (!card) return { found: false };
  // "· 2nd", "· 1er", "· 2.", "2º", "3rd+": a 1–3 after the separator, or with a short suffix.
  const degreeRe = /^(?:[·•]\\s*([1-3])(?!\\d)\\S{0,4}|([1-3])(?!\\d)\\S{1,4})$/;
  const degrees = [...card.querySelectorAll('p, span')]
    .filter((e) => e.children.length === 0 && visible(e))
    .map((e) => degreeRe.exec((e.textContent || '').trim()))
    .filter(Boolean)
    .map((m) => Number(m[1] || m[2]));
  const iconIn = (sel) => [...card.querySelectorAll(sel)].some((i) => {
    const control = i.closest('button, [role="button"], a');
    return !!control && card.contains(control) && visible(control);
  });
  const invite = [...document.querySelectorAll('a[href*="/preload/custom-invite/"]')].some((a) => {
    try {
      const name = new URL(a.getAttribute('href') || '', location.href).searchParams.get('vanityName') || '';
      return wanted.has(norm(name)) && visible(a);
    } catch { return false; }
  });
  return {
    found: true,
    name: ((card.querySelector('h1, h2') || {}).textContent || '').trim(),
    degrees,
    self: [...card.querySelectorAll('a[href*="/edit/"]')].some((a) => ownPath(a.getAttribute('href') || '', /^edit\\//i)),
    invite,
    connectButton: iconIn('[data-test-icon^="connect"], use[href^="#connect"]'),
    pending: [...card.querySelectorAll('a[aria-label]')].some((a) => visible(a) && ownPath(a.getAttribute('href') || '', /^$/))
      || iconIn('[data-test-icon^="clock"], use[href^="#clock"]'),
    message: [...card.querySelectorAll('a[href*="/messaging/compose/"]')].some(visible)
      || iconIn('[data-test-icon^="send-privately"], use[href^="#send-privately"]'),
    more: [...card.querySelectorAll('button[aria-expanded]')].some(visible),
  };`,
);

export const DialogKind = z.enum(['limit', 'email', 'premium', 'note', 'choice']);
export type DialogKind = z.infer<typeof DialogKind>;

/** What an open dialog asks for, by its fields and links; the limit also by its class or wording. */
export const classifyDialog = pageFunction(
  ['el', 'arg'],
  `const visible = (e) => typeof e.checkVisibility === 'function' ? e.checkVisibility() : e.getClientRects().length > 0;
  const any = (sel) => [...el.querySelectorAll(sel)].some(visible);
  const text = (el.innerText || el.textContent || '').replace(/\\s+/g, ' ');
  if (el.matches(arg.limitClass) || any(arg.limitClass) || new RegExp(arg.limitText, 'i').test(text)) return 'limit';
  if (any(arg.email)) return 'email';
  if (any(arg.premium)) return 'premium';
  if (any(arg.note)) return 'note';
  return 'choice';`,
);
export const dialogArgs = {
  limitClass: selectors.invite.weeklyLimitClass,
  limitText: weeklyLimitNotice.source,
  email: selectors.invite.emailField,
  premium: selectors.invite.premiumLink,
  note: selectors.invite.note,
};

export const InboxRows = z.object({
  rows: z.array(z.object({ href: z.string().nullable(), unread: z.boolean() })),
  emptyList: z.boolean(),
  /** The page's `<html lang>`: the UI language the unread label is written in. */
  lang: z.string(),
});
export type InboxRows = z.infer<typeof InboxRows>;

/** Conversation rows in order, each with its thread link if it has one and whether it is unread. */
export const readInbox = pageFunction(
  ['arg'],
  `${helpers}
  const unreadRe = new RegExp(arg.unread, 'i');
  const rows = [...main.querySelectorAll('li')].filter((li) => li.querySelector('a[href*="/messaging/thread/"], label[aria-label]'));
  const lists = [...main.querySelectorAll('ul, ol, [role="list"]')];
  return {
    rows: rows.map((li) => ({
      href: (li.querySelector('a[href*="/messaging/thread/"]') || { getAttribute: () => null }).getAttribute('href'),
      unread: li.matches('[class*="--unread"]') || !!li.querySelector('[class*="--unread"]')
        || [...li.querySelectorAll('*')].some((e) => e.children.length === 0 && unreadRe.test((e.textContent || '').trim())),
    })),
    emptyList: rows.length === 0 && lists.some((l) => l.querySelectorAll('li').length === 0),
    lang: document.documentElement.lang || '',
  };`,
);
export const inboxArgs = { unread: unreadLabel.source };

export const ThreadEvents = z
  .object({
    other: z.string().nullable(),
    events: z.array(
      z.object({ senderHref: z.string().nullable(), text: z.string(), at: z.string().nullable() }),
    ),
  })
  .nullable();
export type ThreadEvents = z.infer<typeof ThreadEvents>;

/**
 * The open conversation: its message list (the last list in main whose items hold paragraphs and
 * which is not the conversation list), the other member (the closest profile link before it), and
 * each item's sender link (only a group's first item has one), text and time.
 */
export const readThread = pageFunction(
  ['arg'],
  `${helpers}
  const lists = [...main.querySelectorAll('ul, ol')].filter((l) =>
    !l.querySelector('label[aria-label], a[href*="/messaging/thread/"]')
    && [...l.children].some((li) => li.tagName === 'LI' && li.querySelector('p')));
  const list = lists[lists.length - 1];
  if (!list) return null;
  const before = [...main.querySelectorAll('a[href*="/in/"]')].filter((a) =>
    !list.contains(a) && (a.compareDocumentPosition(list) & Node.DOCUMENT_POSITION_FOLLOWING));
  const attr = (root, sel, name) => { const e = root.querySelector(sel); return e ? e.getAttribute(name) : null; };
  return {
    other: before.length ? before[before.length - 1].getAttribute('href') : null,
    events: [...list.children].filter((li) => li.tagName === 'LI').map((li) => ({
      senderHref: attr(li, 'a[href*="/in/"]', 'href'),
      text: [...li.querySelectorAll('p')].map((p) => (p.textContent || '').trim()).filter(Boolean).join('\\n').slice(0, arg.maxChars),
      at: attr(li, 'time[datetime]', 'datetime'),
    })),
  };`,
);

/** The texts of the conversation a composer form belongs to (its nearest ancestor holding a list). */
export const composerMessages = pageFunction(
  ['form'],
  `let box = form.parentElement;
  while (box && !box.querySelector('ul, ol')) box = box.parentElement;
  if (!box) return [];
  return [...box.querySelectorAll('li')].map((li) => [...li.querySelectorAll('p')].map((p) => (p.textContent || '').trim()).join('\\n'));`,
);

export const ConnectionLinks = z.object({ hrefs: z.array(z.string()), emptyList: z.boolean() });

/** Profile links of the connections list (2026: `data-view-name`; 2023–24: the card link). */
export const readConnections = pageFunction(
  ['arg'],
  `${helpers}
  const hrefs = [...main.querySelectorAll('a[data-view-name="connections-profile"], li.mn-connection-card a.mn-connection-card__link')]
    .map((a) => a.getAttribute('href') || '').filter(Boolean);
  const lists = [...main.querySelectorAll('ul, ol, [role="list"]')];
  return { hrefs, emptyList: hrefs.length === 0 && lists.some((l) => l.querySelectorAll('li').length === 0) };`,
);
