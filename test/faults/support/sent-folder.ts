import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ImapFlow } from 'imapflow';
import type { Dovecot } from '../../helpers/dovecot';
import { waitFor } from '../../helpers/engine';
import type { SmtpSink } from '../../helpers/smtp-sink';
import type { InboxMailbox } from './inbox';
import { sleep } from './world';

export type SentCopier = {
  /** Messages filed in the Sent folder so far. */
  copied(): number;
  /** Resolves once everything the sink has accepted so far is filed. */
  flushed(): Promise<void>;
  stop(): Promise<void>;
};

/**
 * Files every message the SMTP sink accepts from `inbox`'s address in that account's `Sent` folder,
 * with IMAP APPEND, as Gmail and Microsoft 365 do with mail submitted over SMTP. It runs in the test
 * process, so a worker killed right after the server's answer does not stop the copy.
 */
export async function copySentMail(
  sink: SmtpSink,
  dovecot: Dovecot,
  inbox: InboxMailbox,
): Promise<SentCopier> {
  const client = new ImapFlow({
    host: dovecot.host,
    port: dovecot.port,
    secure: false,
    auth: { user: inbox.user, pass: inbox.pass },
    logger: false,
  });
  client.on('error', () => {});
  await client.connect().catch((err: Error & { responseText?: string }) => {
    // The server's words and its log: a refusal here is the test's setup, not the engine, failing.
    const log = readFileSync(join(dovecot.dir, 'dovecot.log'), 'utf8').split('\n').slice(-15).join('\n');
    throw new Error(`the Sent copier could not log in: ${err.responseText ?? err.message}\n${log}`);
  });
  let next = sink.received.length;
  let copied = 0;
  let stopped = false;
  let failure: unknown = null;
  const from = inbox.user.toLowerCase();
  const loop = (async () => {
    while (!stopped) {
      while (next < sink.received.length) {
        const mail = sink.received[next];
        if (mail?.parsed.from?.value[0]?.address?.toLowerCase() === from) {
          await client.append('Sent', mail.raw, ['\\Seen']);
          copied++;
        }
        next++;
      }
      await sleep(20);
    }
  })().catch((err: unknown) => {
    failure = err;
  });
  const check = () => {
    if (failure) throw new Error(`the Sent copy failed: ${String(failure)}`);
  };
  return {
    copied: () => copied,
    async flushed() {
      await waitFor(
        async () => {
          check();
          return next >= sink.received.length;
        },
        { intervalMs: 50, what: 'sent copies filed' },
      );
    },
    async stop() {
      stopped = true;
      await loop;
      await client.logout().catch(() => {});
      check();
    },
  };
}
