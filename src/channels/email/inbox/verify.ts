import type { Deps } from '../../../context';
import type { MailboxRow } from '../../../db/schema/index';
import { createTransportPool, smtpTimeouts } from '../transports';
import { imapErrorText, imapTargetOf, openImap } from './imap-connect';

export type Check = { ok: boolean; error: string | null };
export type Verification = { smtp: Check; imap: (Check & { folders: string[] }) | null };

/** How long each login may take: a verify answers a person waiting on it. */
const VERIFY_TIMEOUT_SECONDS = 15;

/** The SMTP server's own words (`535 5.7.8 …`) when it answered, else what went wrong. */
function smtpErrorText(err: unknown): string {
  if (!(err instanceof Error)) return String(err).slice(0, 500);
  const e = err as Error & { response?: string; code?: string };
  return (e.response ?? `${e.code ? `${e.code}: ` : ''}${e.message}`).slice(0, 500);
}

/**
 * Logs in over SMTP (and IMAP, when the inbox is configured) with the mailbox's settings, through
 * the same outbound guard as sending and reading, and says what works. Changes nothing: no mail is
 * sent, the inbox is only listed.
 */
export async function verifyMailbox(
  deps: Pick<Deps, 'db' | 'secrets' | 'targets' | 'log'>,
  mailbox: MailboxRow,
): Promise<Verification> {
  const [smtp, imap] = await Promise.all([verifySmtp(deps, mailbox), verifyImap(deps, mailbox)]);
  return { smtp, imap };
}

async function verifySmtp(
  deps: Pick<Deps, 'db' | 'secrets' | 'targets' | 'log'>,
  mailbox: MailboxRow,
): Promise<Check> {
  const pool = createTransportPool(deps, smtpTimeouts(VERIFY_TIMEOUT_SECONDS));
  try {
    const transport = await pool.get(mailbox);
    await transport.verify();
    return { ok: true, error: null };
  } catch (err) {
    return { ok: false, error: smtpErrorText(err) };
  } finally {
    pool.close();
  }
}

async function verifyImap(
  deps: Pick<Deps, 'db' | 'secrets' | 'targets' | 'log'>,
  mailbox: MailboxRow,
): Promise<Verification['imap']> {
  if (!imapTargetOf(mailbox)) return null;
  try {
    const client = await openImap(deps, mailbox, { timeoutMs: VERIFY_TIMEOUT_SECONDS * 1000 });
    try {
      const folders = (await client.list()).map((f) => f.path);
      return { ok: true, error: null, folders };
    } finally {
      await client.logout().catch(() => client.close());
    }
  } catch (err) {
    return { ok: false, error: imapErrorText(err), folders: [] };
  }
}
