/** Connection degree between the account and a profile, as the profile page shows it. */
export type ConnectionStatus = 'connected' | 'pending' | 'none';

/**
 * Why the driver could not do what it was asked. These are expected outcomes, not bugs:
 * - `checkpoint`: a security check or captcha; `logged_out`: the session is not accepted (login
 *   wall, or the "Welcome back" account chooser: detail `account_chooser`);
 * - `not_found`: the profile does not exist; `weekly_limit`: LinkedIn refuses more invitations;
 * - `not_connected`: messaging someone who is not a connection;
 * - `email_required`: LinkedIn accepts an invitation to this member only with their email address;
 * - `note_quota_exhausted`: the free personalized notes are used up and the account says to fail;
 * - `connect_unavailable`: the profile offers no Connect at all (its More menu has none), or it is
 *   the account's own profile (detail `own_profile`);
 * - `layout_unrecognized`: the page loaded but a page object did not recognise it; `detail` names
 *   the page object (`profile.top_card`, `messaging.conversation_list`, …). LinkedIn changed.
 */
export type DriverProblem =
  | 'checkpoint'
  | 'logged_out'
  | 'not_found'
  | 'weekly_limit'
  | 'not_connected'
  | 'email_required'
  | 'note_quota_exhausted'
  | 'connect_unavailable'
  | 'layout_unrecognized';

export type DriverResult<T> = { ok: true; value: T } | { ok: false; problem: DriverProblem; detail?: string };

/** `sent_without_note`: the note quota was exhausted and the account says to send without it. */
export type InviteOutcome = 'sent' | 'sent_without_note' | 'already_connected' | 'already_pending';

/** What to do when LinkedIn's free personalized notes are used up (an account setting). */
export type NoteQuotaFallback = 'send_without_note' | 'fail';

export type InboundLinkedInMessage = {
  /** Canonical profile URL of the sender (`https://www.linkedin.com/in/<slug>`). */
  profileUrl: string;
  text: string;
  at: Date;
  /** Whether `at` was read from the page (else it is the time of reading). */
  atFromPage: boolean;
};

/** One page the canary opened and what of it the page objects recognised. */
export type PageCheck = { page: 'own_profile' | 'inbox'; path: string; recognised: Record<string, boolean> };

/** What `checkLayout` found: every page object recognised, or which were not. */
export type LayoutReport = { recognised: boolean; unrecognised: string[]; pages: PageCheck[] };

/**
 * What the engine needs from LinkedIn, for one logged-in account. Profile URLs are canonical
 * (`https://www.linkedin.com/in/<slug>`); implementations map them onto their own base URL.
 */
export interface LinkedInDriver {
  /** Opens the profile and reads it through, as a person would. */
  visitProfile(profileUrl: string): Promise<DriverResult<{ connection: ConnectionStatus }>>;
  sendInvite(
    profileUrl: string,
    note?: string,
    opts?: { whenNoteQuotaExhausted?: NoteQuotaFallback },
  ): Promise<DriverResult<InviteOutcome>>;
  sendMessage(profileUrl: string, text: string): Promise<DriverResult<void>>;
  connectionStatus(profileUrl: string): Promise<DriverResult<ConnectionStatus>>;
  /** Canonical URLs of the most recently added connections (first page of the connections list). */
  recentConnections(): Promise<DriverResult<string[]>>;
  /**
   * Messages in unread conversations that arrived after our last message. Reading never marks a
   * conversation read: it stays unread for the person, so callers see it again and must dedupe.
   */
  fetchNewMessages(): Promise<DriverResult<InboundLinkedInMessage[]>>;
  /** The canary: opens the account's own profile and inbox, reads nothing else, changes nothing. */
  checkLayout(): Promise<DriverResult<LayoutReport>>;
}

export const ok = <T>(value: T): DriverResult<T> => ({ ok: true, value });
export const problem = <T>(kind: DriverProblem, detail?: string): DriverResult<T> =>
  detail === undefined ? { ok: false, problem: kind } : { ok: false, problem: kind, detail };
export const unrecognised = <T>(pageObject: string): DriverResult<T> =>
  problem('layout_unrecognized', pageObject);
