import nodemailer, { type Transporter } from 'nodemailer';
import type SMTPPool from 'nodemailer/lib/smtp-pool';
import type { mailboxes } from '../../db/schema/index';
import type { Secrets } from '../../lib/crypto';
import type { OutboundTargets } from '../../lib/outbound-targets';

type MailboxRow = typeof mailboxes.$inferSelect;
export type SmtpTransport = Transporter<SMTPPool.SentMessageInfo, SMTPPool.Options>;

export type TransportPool = {
  /** The pooled transport of a mailbox, rebuilt when the mailbox changed (new `updatedAt`). */
  get(mailbox: MailboxRow): SmtpTransport;
  close(): void;
};

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
 */
export function createTransportPool(
  secrets: Secrets,
  targets: OutboundTargets,
  timeouts: SmtpTimeouts = defaultTimeouts,
): TransportPool {
  const cache = new Map<string, { version: number; transport: SmtpTransport }>();
  return {
    get(mailbox) {
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
        auth: user ? { user, pass } : undefined,
        maxConnections: 3,
        maxMessages: 100,
        connectionTimeout: timeouts.connectionMs,
        greetingTimeout: timeouts.greetingMs,
        socketTimeout: timeouts.socketMs,
      });
      cache.set(mailbox.id, { version, transport });
      return transport;
    },
    close() {
      for (const { transport } of cache.values()) transport.close();
      cache.clear();
    },
  };
}
