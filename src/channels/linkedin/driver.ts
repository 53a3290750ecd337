/** Connection degree between the account and a profile, as the profile page shows it. */
export type ConnectionStatus = 'connected' | 'pending' | 'none';

/**
 * Why the driver could not do what it was asked. These are expected outcomes, not bugs:
 * - `checkpoint`: a security check or captcha; `logged_out`: the session is not accepted (login wall);
 * - `not_found`: the profile does not exist; `weekly_limit`: LinkedIn refuses more invitations;
 * - `not_connected`: messaging someone who is not a connection;
 * - `unexpected_page`: the page did not look like what the selectors expect (markup change, slow load).
 */
export type DriverProblem =
  | 'checkpoint'
  | 'logged_out'
  | 'not_found'
  | 'weekly_limit'
  | 'not_connected'
  | 'unexpected_page';

export type DriverResult<T> = { ok: true; value: T } | { ok: false; problem: DriverProblem; detail?: string };

export type InviteOutcome = 'sent' | 'already_connected' | 'already_pending';

export type InboundLinkedInMessage = {
  /** Canonical profile URL of the sender (`https://www.linkedin.com/in/<slug>`). */
  profileUrl: string;
  text: string;
  at: Date;
};

/**
 * What the engine needs from LinkedIn, for one logged-in account. Profile URLs are canonical
 * (`https://www.linkedin.com/in/<slug>`); implementations map them onto their own base URL.
 */
export interface LinkedInDriver {
  /** Opens the profile and reads it through, as a person would. */
  visitProfile(profileUrl: string): Promise<DriverResult<{ connection: ConnectionStatus }>>;
  sendInvite(profileUrl: string, note?: string): Promise<DriverResult<InviteOutcome>>;
  sendMessage(profileUrl: string, text: string): Promise<DriverResult<void>>;
  connectionStatus(profileUrl: string): Promise<DriverResult<ConnectionStatus>>;
  /** Canonical URLs of the most recently added connections (first page of the connections list). */
  recentConnections(): Promise<DriverResult<string[]>>;
  /** Messages in unread conversations that arrived after our last message; reading marks them read. */
  fetchNewMessages(): Promise<DriverResult<InboundLinkedInMessage[]>>;
}

export const ok = <T>(value: T): DriverResult<T> => ({ ok: true, value });
export const problem = <T>(kind: DriverProblem, detail?: string): DriverResult<T> =>
  detail === undefined ? { ok: false, problem: kind } : { ok: false, problem: kind, detail };
