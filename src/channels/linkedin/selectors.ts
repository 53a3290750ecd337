/**
 * What the LinkedIn driver recognises pages by, in one place: when LinkedIn changes its markup, this
 * file, vocabulary.ts and pages/in-page.ts are where to look. The signals are the ones LinkedIn keeps
 * across redesigns and UI languages (docs/decisions.md, "LinkedIn on today's markup"): URLs and
 * hrefs, roles and ARIA attributes, the structure of the profile's own top card, and the icons the
 * 2023–24 buttons carry. Never generated class names, and never English label text alone.
 */

/** Any open dialog, in the page, in an open shadow root (Playwright's CSS pierces them) or a frame. */
export const dialogSelector = '[role="dialog"], [role="alertdialog"], dialog[open]';

export const selectors = {
  profile: {
    /** The top card's "More" opener: a button with aria-expanded (2026: no label at all). */
    more: 'button[aria-expanded]',
    /** Message: a compose link (2026) or the button with the send-privately icon (2023–24). */
    message:
      'a[href*="/messaging/compose/"], button:has([data-test-icon^="send-privately"]), button:has(use[href^="#send-privately"])',
    /** Connect as a button with the connect icon (2023–24), in the top card or its dropdown. */
    connectButton:
      'button:has([data-test-icon^="connect"]), [role="button"]:has([data-test-icon^="connect"]), button:has(use[href^="#connect"])',
    /** The menu "More" opens (2026: a portal at the end of the body; 2023–24: a dropdown in the card). */
    menu: '[role="menu"], .artdeco-dropdown__content',
  },
  invite: {
    emailField: 'input[type="email"]',
    premiumLink: 'a[href*="/premium/"]',
    note: 'textarea',
    buttons: 'button, [role="button"]',
    /** The weekly-limit notice's class, unchanged since 2019. */
    weeklyLimitClass: '.ip-fuse-limit-alert',
  },
  composer: {
    form: 'form',
    input: '[contenteditable="true"]',
    send: 'button[type="submit"]',
  },
  inbox: {
    /** A conversation row: a thread link (2023–24), or the row's selection label (2026, no link). */
    rows: 'main li',
    rowMarker: 'a[href*="/messaging/thread/"], label[aria-label]',
  },
  walls: {
    captcha: '#captcha-internal, form#captcha-challenge, iframe[src*="captcha"]',
    /** A password field: no page of a logged-in member has one. */
    password: 'input[type="password"]',
    /** "Welcome back": the remembered-account chooser LinkedIn shows a logged-out browser. */
    accountChooser: '#rememberme-div',
    notFound: 'main.not-found__container',
  },
} as const;

/** Paths on the LinkedIn site (joined to LINKEDIN_BASE_URL). */
export const paths = {
  profile: (slug: string) => `/in/${encodeURIComponent(slug)}/`,
  /** LinkedIn redirects it to the logged-in member's own profile. */
  ownProfile: '/in/me/',
  messaging: '/messaging/',
  connections: '/mynetwork/invite-connect/connections/',
} as const;

/** Where LinkedIn sends a session it does not trust, or a profile that does not exist. */
export const urlPatterns = {
  checkpoint: /\/checkpoint\//,
  loginWall: /\/(login|authwall|uas\/login)(\/|\?|$)/,
  notFound: /\/(404|in\/unavailable)\/?(\?|$)/,
  thread: /\/messaging\/thread\//,
} as const;

/**
 * Requests that tell LinkedIn a conversation was read: a `read: true` patch (2023–24:
 * /voyager/api/messaging/conversations/…; 2026: …/voyagerMessagingDashMessengerConversations?ids=…),
 * or a seen receipt. `routes` is the messaging API those are found in.
 */
export const readReceipts = {
  routes: /\/voyager\/api\/[^?]*messag/i,
  url: /seenreceipt/i,
  body: /"read"\s*:\s*true/,
} as const;
