import { ImapFlow } from 'imapflow';
import type { Deps } from '../../../context';
import type { MailboxRow } from '../../../db/schema/index';
import { BlockedTargetError } from '../../../lib/outbound-targets';
import { accessTokenFor } from '../oauth2';

/** Inbox settings that are complete enough to connect with. */
export type ImapTarget = { host: string; port: number; secure: boolean; tls: 'required' | 'none' };

/** The IMAP server of a mailbox, or null when its inbox is not configured. */
export function imapTargetOf(mailbox: MailboxRow): ImapTarget | null {
  if (!mailbox.imapHost || !mailbox.imapPort) return null;
  return { host: mailbox.imapHost, port: mailbox.imapPort, secure: mailbox.imapSecure, tls: mailbox.imapTls };
}

/**
 * The largest literal the reader accepts from a server, in bytes. Message bodies are fetched with a
 * smaller cap (`MAX_FETCH_BYTES`), so only a broken or hostile server sends more: the connection
 * fails instead of buffering it.
 */
const MAX_LITERAL_BYTES = 16 * 1024 * 1024;

type ConnectDeps = Pick<Deps, 'db' | 'secrets' | 'targets' | 'log'>;

/**
 * Opens an IMAP session for a mailbox: its own IMAP credentials, else its SMTP ones, else an OAuth2
 * access token. The connection goes through the outbound guard (an address literal is checked here,
 * a name at each DNS answer), and with `tls: required` the password never travels in clear:
 * implicit TLS, or STARTTLS that the server must offer.
 */
export async function openImap(
  deps: ConnectDeps,
  mailbox: MailboxRow,
  opts: { timeoutMs?: number } = {},
): Promise<ImapFlow> {
  const target = imapTargetOf(mailbox);
  if (!target) throw new Error('the mailbox has no IMAP server');
  if (!deps.targets.allowsStatically(target)) throw new BlockedTargetError();
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const sealedPass = mailbox.imapPassEnc ?? mailbox.smtpPassEnc;
  const password = () => ({
    user: mailbox.imapUser ?? mailbox.smtpUser ?? mailbox.fromEmail,
    pass: sealedPass ? deps.secrets.decrypt(sealedPass) : '',
  });
  const connect = async (auth: { user: string; pass: string } | { user: string; accessToken: string }) => {
    const client = new ImapFlow({
      host: target.host,
      port: target.port,
      secure: target.secure,
      // `true` fails the session when the server offers no STARTTLS; undefined uses it when offered.
      doSTARTTLS: target.secure ? undefined : target.tls === 'required' ? true : undefined,
      auth,
      tls: { lookup: deps.targets.lookupFor(target.port) },
      logger: false,
      connectionTimeout: timeoutMs,
      greetingTimeout: Math.min(timeoutMs, 16_000),
      socketTimeout: 5 * 60_000,
      autoIdleDelay: 500,
      maxLiteralSize: MAX_LITERAL_BYTES,
      maxResponseSize: MAX_LITERAL_BYTES + 64 * 1024,
      maxLineLength: 1024 * 1024,
      disableCompression: true,
    });
    // An error after connect ends the session ('close'); without a listener it would crash the process.
    client.on('error', (err: Error) =>
      deps.log.debug({ mailboxId: mailbox.id, err: err.message }, 'imap error'),
    );
    await client.connect();
    return client;
  };
  const settings = mailbox.oauth2;
  if (!settings) return connect(password());
  const token = await oauth2Token(deps, mailbox);
  try {
    return await connect({ user: settings.user, accessToken: token });
  } catch (err) {
    if (!isAuthFailure(err)) throw err;
    // A token refused before its expiry (revoked early): refreshed once, unless another login has
    // already replaced it.
    return connect({ user: settings.user, accessToken: await oauth2Token(deps, mailbox, token) });
  }
}

/** Thrown when the access token could not be had: the OAuth2 module has recorded it on the mailbox. */
export class OAuth2TokenUnavailable extends Error {
  override name = 'OAuth2TokenUnavailable';
  constructor(override readonly cause: unknown) {
    super(cause instanceof Error ? cause.message : String(cause));
  }
}

async function oauth2Token(deps: ConnectDeps, mailbox: MailboxRow, rejected?: string): Promise<string> {
  try {
    return await accessTokenFor(deps, mailbox, rejected ? { rejected } : {});
  } catch (err) {
    throw new OAuth2TokenUnavailable(err);
  }
}

/** The server's own words for a failed IMAP session, for the mailbox's `lastError`. */
export function imapErrorText(err: unknown): string {
  if (!(err instanceof Error)) return String(err).slice(0, 500);
  const e = err as Error & { responseText?: string; serverResponseCode?: string; code?: string };
  const words = e.responseText
    ? `${e.responseText}${e.serverResponseCode ? ` [${e.serverResponseCode}]` : ''}`
    : null;
  return (words ?? `${e.code ? `${e.code}: ` : ''}${e.message}`).slice(0, 500);
}

/** Whether the server refused the credentials (rather than being down or unreachable). */
export function isAuthFailure(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as { authenticationFailed?: boolean; serverResponseCode?: string; name?: string };
  return (
    e.authenticationFailed === true ||
    e.serverResponseCode === 'AUTHENTICATIONFAILED' ||
    e.name === 'OAuth2AuthError'
  );
}
