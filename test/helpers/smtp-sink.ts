import { type AddressInfo } from 'node:net';
import { type ParsedMail, simpleParser } from 'mailparser';
import { SMTPServer, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server';

export type ReceivedMail = { envelopeTo: string[]; raw: string; parsed: ParsedMail; at: Date };

/** Decides the answer to one DATA command: undefined accepts; an object rejects with that code. */
export type SinkBehaviour = (mail: {
  envelopeTo: string[];
  attempt: number;
}) => { code: number; message: string } | { dropConnection: true } | undefined;

export type SmtpSink = {
  port: number;
  host: string;
  received: ReceivedMail[];
  /** What arrived for `address`; recipients are recorded lower-cased, so the lookup is too. */
  mailTo(address: string | null | undefined): ReceivedMail[];
  /** How many DATA commands arrived per recipient, including rejected ones. */
  attempts: Map<string, number>;
  setBehaviour(b: SinkBehaviour | undefined): void;
  close(): Promise<void>;
};

/** A real SMTP server (smtp-server) that records what it receives. */
export async function startSmtpSink(): Promise<SmtpSink> {
  const received: ReceivedMail[] = [];
  const attempts = new Map<string, number>();
  let behaviour: SinkBehaviour | undefined;
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    size: 25 * 1024 * 1024,
    onAuth(_auth, _session, callback) {
      callback(null, { user: 'test' });
    },
    onData(stream: SMTPServerDataStream, session: SMTPServerSession, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const envelopeTo = session.envelope.rcptTo.map((r) => r.address.toLowerCase());
        const key = envelopeTo.join(',');
        const attempt = (attempts.get(key) ?? 0) + 1;
        attempts.set(key, attempt);
        const verdict = behaviour?.({ envelopeTo, attempt });
        if (verdict && 'dropConnection' in verdict) {
          // Close the socket without answering DATA: the client cannot know whether we took it.
          (session as unknown as { socket?: { destroy(): void } }).socket?.destroy();
          return;
        }
        if (verdict) {
          const err = Object.assign(new Error(verdict.message), { responseCode: verdict.code });
          return callback(err);
        }
        const raw = Buffer.concat(chunks).toString('utf8');
        simpleParser(raw)
          .then((parsed) => {
            received.push({ envelopeTo, raw, parsed, at: new Date() });
            callback();
          })
          .catch((err: Error) => callback(err));
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.server.address() as AddressInfo;
  return {
    port: address.port,
    host: '127.0.0.1',
    received,
    mailTo: (address) => received.filter((m) => m.envelopeTo.includes((address ?? '').toLowerCase())),
    attempts,
    setBehaviour(b) {
      behaviour = b;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
