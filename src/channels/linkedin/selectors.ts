/**
 * Every selector and URL pattern the LinkedIn driver relies on, in one place: when LinkedIn changes
 * its markup, this is the one file to fix. Selectors prefer accessible names (aria-label, role) over
 * generated class names, because LinkedIn renames classes far more often than it relabels buttons.
 */
export const selectors = {
  profile: {
    topCard: 'main section.pv-top-card',
    name: 'main section.pv-top-card h1',
    distance: 'main section.pv-top-card .dist-value',
    connectButton: 'main section.pv-top-card button[aria-label^="Invite"][aria-label$="to connect"]',
    pendingButton: 'main section.pv-top-card button[aria-label^="Pending"]',
    messageButton: 'main section.pv-top-card button[aria-label^="Message"]',
    moreButton: 'main section.pv-top-card button[aria-label="More actions"]',
    /** The Connect entry some profiles hide under "More". */
    moreConnect: '.artdeco-dropdown__content [role="button"][aria-label^="Invite"][aria-label$="to connect"]',
    /** Sections below the top card load lazily when scrolled into view, as a reader would. */
    lazySections: 'main #profile-sections',
    loadedSection: 'main #profile-sections section[data-loaded="true"]',
  },
  invite: {
    dialog: 'div[role="dialog"].send-invite',
    addNote: 'div[role="dialog"].send-invite button[aria-label="Add a note"]',
    noteInput: 'div[role="dialog"].send-invite textarea[name="message"]',
    sendWithNote: 'div[role="dialog"].send-invite button[aria-label="Send invitation"]',
    sendWithoutNote: 'div[role="dialog"].send-invite button[aria-label="Send without a note"]',
    weeklyLimitNotice: '.ip-fuse-limit-alert',
    sentToast: '.artdeco-toast-item[data-kind="invitation-sent"]',
  },
  composer: {
    box: '.msg-overlay-conversation-bubble',
    input: '.msg-overlay-conversation-bubble .msg-form__contenteditable[contenteditable="true"]',
    send: '.msg-overlay-conversation-bubble button.msg-form__send-button',
    sentBodies: '.msg-overlay-conversation-bubble li.msg-s-message-list__event p.msg-s-event-listitem__body',
  },
  inbox: {
    unreadLinks:
      'li.msg-conversation-listitem .msg-conversation-card__convo-item-container--unread a.msg-conversation-listitem__link',
    threadProfileLink: 'a.msg-thread__link-to-profile',
    events: 'li.msg-s-message-list__event',
    eventSender: 'a.msg-s-message-group__profile-link',
    eventBody: 'p.msg-s-event-listitem__body',
    eventTime: 'time[datetime]',
  },
  connections: {
    cardLinks: 'li.mn-connection-card a.mn-connection-card__link',
  },
  walls: {
    notFound: 'main.not-found__container',
    loginForm: 'form.login__form',
    captcha: '#captcha-internal, form#captcha-challenge',
  },
} as const;

/** Paths on the LinkedIn site (joined to LINKEDIN_BASE_URL). */
export const paths = {
  profile: (slug: string) => `/in/${encodeURIComponent(slug)}/`,
  messaging: '/messaging/',
  connections: '/mynetwork/invite-connect/connections/',
} as const;

/** Where LinkedIn sends a session it does not trust, or a profile that does not exist. */
export const urlPatterns = {
  checkpoint: /\/checkpoint\//,
  loginWall: /\/(login|authwall|uas\/login)(\/|\?|$)/,
  notFound: /\/404\/?(\?|$)/,
} as const;

/** Text of the weekly-limit notice, for a check that survives a class rename. */
export const weeklyLimitText = /weekly invitation limit/i;
