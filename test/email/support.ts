import { createEmailChannel, type EmailChannel } from '../../src/channels/email/email.channel';
import { startTestEngine, type TestEngine } from '../helpers/engine';
import { type SmtpSink, startSmtpSink } from '../helpers/smtp-sink';

// The fault suite (test/faults) still imports the mailbox helper from here.
export { addMailbox, type MailboxJson } from '../helpers/mailboxes';

export type EmailChannelTest = {
  engine: TestEngine;
  sink: SmtpSink;
  channel: EmailChannel;
  close(): Promise<void>;
};

/** An engine without workers, an SMTP sink, and the real email channel: tests drive each send. */
export async function startEmailChannelTest(): Promise<EmailChannelTest> {
  const engine = await startTestEngine();
  const sink = await startSmtpSink();
  const channel = createEmailChannel(engine.deps);
  return {
    engine,
    sink,
    channel,
    async close() {
      await channel.close();
      await sink.close();
      await engine.close();
    },
  };
}

/** A header as it went over the wire (unfolded), read from the raw message. */
export function header(raw: string | undefined, name: string): string | null {
  const head = (raw ?? '').split('\r\n\r\n')[0]?.replace(/\r\n[ \t]+/g, ' ') ?? '';
  const line = head.split('\r\n').find((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`));
  return line ? line.slice(name.length + 1).trim() : null;
}
