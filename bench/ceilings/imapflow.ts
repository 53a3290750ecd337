import { type FetchQueryObject, ImapFlow } from 'imapflow';
import type { Throughput } from './bullmq';

/**
 * Ceiling: a bare imapflow read of the whole folder, as fast as a client can take the messages off
 * the server: log in, EXAMINE INBOX, `FETCH 1:* (UID BODY.PEEK[])` by UID, every message's bytes
 * consumed from the stream and nothing done with them. The clock runs from connect to the last
 * message, as the reader's runs from its start to the end of the folder's sync. With `parse`, each
 * message is also parsed as it arrives: the least any reader that parses every message can take.
 * With `query`, other data items are fetched instead of `BODY.PEEK[]` (a reference, not the
 * ceiling: the inbox reader's own header query, to tell the protocol's cost from the engine's).
 */
export async function imapFetchCeiling(opts: {
  host: string;
  port: number;
  user: string;
  pass: string;
  parse?: (raw: Buffer) => Promise<unknown>;
  query?: FetchQueryObject;
}): Promise<Throughput & { bytes: number }> {
  const started = performance.now();
  const client = new ImapFlow({
    host: opts.host,
    port: opts.port,
    secure: false,
    auth: { user: opts.user, pass: opts.pass },
    logger: false,
    disableAutoIdle: true,
  });
  client.on('error', () => {});
  await client.connect();
  try {
    const lock = await client.getMailboxLock('INBOX', { readOnly: true });
    let count = 0;
    let bytes = 0;
    try {
      const query = opts.query ?? { uid: true, source: true };
      for await (const message of client.fetch('1:*', query, { uid: true })) {
        count++;
        bytes += (message.source ?? message.headers)?.length ?? 0;
        if (opts.parse && message.source) await opts.parse(message.source);
      }
    } finally {
      lock.release();
    }
    const seconds = (performance.now() - started) / 1000;
    return { count, seconds, perSecond: count / seconds, bytes };
  } finally {
    await client.logout().catch(() => {});
  }
}
