import pLimit, { type LimitFunction } from 'p-limit';
import nodemailer, { type Transporter } from 'nodemailer';
import type SMTPPool from 'nodemailer/lib/smtp-pool';
import type { Deps } from '../../context';
import type { mailboxes } from '../../db/schema/index';
import { accessTokenFor, type OAuth2Deps } from './oauth2';

type MailboxRow = typeof mailboxes.$inferSelect;
export type SmtpTransport = Transporter<SMTPPool.SentMessageInfo, SMTPPool.Options>;

export type TransportPool = {
  /**
   * The pooled transport of a mailbox, rebuilt when the mailbox changed (new `updatedAt`). For an
   * OAuth2 mailbox, a valid access token is in place first: a refresh the provider refuses fails
   * here, before any connection to the SMTP server (see `accessTokenFor` for what it throws).
   */
  get(mailbox: MailboxRow): Promise<SmtpTransport>;
  /**
   * Runs `fn` once the mailbox has a free SMTP session (at most `sessionsPerMailbox` at once), so
   * the engine's hand-off check happens when the exchange can start, not before a wait in
   * nodemailer's queue: a reply that commits while a send waits for a session still stops it.
   */
  session<T>(mailboxId: string, fn: () => Promise<T>): Promise<T>;
  close(): void;
};

export type TransportDeps = Pick<Deps, 'db' | 'secrets' | 'targets' | 'log'>;

/** Timeouts short enough that a dead server becomes a retry in a minute, not a job stuck for ten. */
export type SmtpTimeouts = { connectionMs: number; greetingMs: number; socketMs: number };
/** From `SMTP_TIMEOUT_SECONDS`: connecting and the greeting get at most 30 s of it. */
export const smtpTimeouts = (seconds: number): SmtpTimeouts => ({
  connectionMs: Math.min(seconds, 30) * 1000,
  greetingMs: Math.min(seconds, 30) * 1000,
  socketMs: seconds * 1000,
});
const defaultTimeouts = smtpTimeouts(60);

/**
 * The SMTP transports of the mailboxes. Each connection is opened through `targets`, which refuses
 * a private address before anything is sent (nodemailer resolves host names with its own resolver,
 * which no lookup hook reaches). The original host name stays nodemailer's `host`, so TLS checks
 * the certificate against it.
 *
 * An OAuth2 mailbox logs in with XOAUTH2. Its access token changes without `updatedAt` changing, so
 * the transport holds no token: nodemailer asks `oauth2_provision_cb` for one each time a pooled
 * connection logs in (and again, `renew`, when the server refuses it), and the callback reads the
 * stored one through `accessTokenFor`. `get` refreshes it first, outside the SMTP session: a refresh
 * inside it could outlast the socket timeout, which would read as an ambiguous send.
 */
export function createTransportPool(
  deps: TransportDeps,
  timeouts: SmtpTimeouts = defaultTimeouts,
  /** SMTP sessions one mailbox keeps open at most (nodemailer's `maxConnections`). */
  sessionsPerMailbox = 3,
): TransportPool {
  const { secrets, targets } = deps;
  const cache = new Map<string, { version: number; transport: SmtpTransport }>();
  const sessions = new Map<string, LimitFunction>();
  function transportOf(mailbox: MailboxRow): SmtpTransport {
    const version = mailbox.updatedAt.getTime();
    const hit = cache.get(mailbox.id);
    if (hit && hit.version === version) return hit.transport;
    hit?.transport.close();
    const user = mailbox.smtpUser;
    const pass = mailbox.smtpPassEnc ? secrets.decrypt(mailbox.smtpPassEnc) : '';
    const target = { host: mailbox.smtpHost, port: mailbox.smtpPort };
    const transport = nodemailer.createTransport({
      pool: true,
      host: mailbox.smtpHost,
      port: mailbox.smtpPort,
      secure: mailbox.smtpSecure,
      // Credentials never go out in clear: no STARTTLS, no session, unless the mailbox says `none`.
      requireTLS: mailbox.smtpTls !== 'none',
      getSocket: (_options: unknown, callback: (err: Error | null, socketOptions?: object) => void) =>
        targets.connect(target, timeouts.connectionMs).then(
          (connection) => callback(null, { connection }),
          (err: Error) => callback(err),
        ),
      auth: mailbox.oauth2
        ? { type: 'OAuth2', user: mailbox.oauth2.user }
        : user
          ? { user, pass }
          : undefined,
      maxConnections: sessionsPerMailbox,
      maxMessages: 100,
      connectionTimeout: timeouts.connectionMs,
      greetingTimeout: timeouts.greetingMs,
      socketTimeout: timeouts.socketMs,
    });
    if (mailbox.oauth2) transport.set('oauth2_provision_cb', provisionFor(deps, mailbox.id));
    cache.set(mailbox.id, { version, transport });
    return transport;
  }
  return {
    async get(mailbox) {
      if (mailbox.oauth2) await accessTokenFor(deps, mailbox);
      return transportOf(mailbox);
    },
    async session(mailboxId, fn) {
      let limit = sessions.get(mailboxId);
      if (!limit) {
        limit = pLimit(sessionsPerMailbox);
        sessions.set(mailboxId, limit);
      }
      try {
        return await limit(fn);
      } finally {
        // Forget an idle mailbox's limiter, so the map does not grow with every mailbox ever used.
        if (limit.activeCount === 0 && limit.pendingCount === 0) sessions.delete(mailboxId);
      }
    },
    close() {
      for (const { transport } of cache.values()) transport.close();
      cache.clear();
    },
  };
}

/**
 * Tokens for nodemailer's XOAUTH2 logins. `renew` means the server refused the token it was given:
 * that one is refreshed even if it has not expired, unless another login has already replaced it.
 */
function provisionFor(deps: OAuth2Deps, mailboxId: string) {
  let handedOut: string | undefined;
  return (_user: string, renew: boolean, callback: (err: Error | null, accessToken?: string) => void) => {
    accessTokenFor(deps, { id: mailboxId }, renew ? { rejected: handedOut } : {}).then(
      (token) => {
        handedOut = token;
        callback(null, token);
      },
      (err: Error) => callback(err),
    );
  };
}
