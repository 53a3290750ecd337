/**
 * A real SMTP server (smtp-server) in its own process that accepts every message and only counts:
 * the same sink for raw nodemailer and for the engine, so neither pays for parsing the other skips.
 */
import { SMTPServer } from 'smtp-server';
import { serveParent } from '../child';

let received = 0;
let firstAt: number | null = null;
let lastAt: number | null = null;
/** Message-IDs seen, to prove the engine sent no step twice. */
const messageIds = new Map<string, number>();

function recordHeaders(head: string): void {
  const match = /^message-id:\s*(.+)$/im.exec(head);
  const id = match?.[1]?.trim();
  if (id) messageIds.set(id, (messageIds.get(id) ?? 0) + 1);
}

const server = new SMTPServer({
  authOptional: true,
  disabledCommands: ['STARTTLS'],
  logger: false,
  size: 10 * 1024 * 1024,
  onAuth(_auth, _session, callback) {
    callback(null, { user: 'bench' });
  },
  onData(stream, _session, callback) {
    let head = '';
    stream.on('data', (chunk: Buffer) => {
      if (head.length < 8192) head += chunk.toString('latin1');
    });
    stream.on('end', () => {
      recordHeaders(head.split('\r\n\r\n')[0] ?? '');
      received += 1;
      const now = Date.now();
      firstAt ??= now;
      lastAt = now;
      callback();
    });
  },
});

server.listen(0, '127.0.0.1', () => {
  const address = server.server.address();
  serveParent(
    typeof address === 'object' && address ? address.port : 0,
    async (cmd) => {
      const duplicates = [...messageIds.values()].filter((n) => n > 1).length;
      const counts = { received, firstAt, lastAt, uniqueMessageIds: messageIds.size, duplicates };
      // `reset` answers with the counts it clears, so nothing arriving in between is lost.
      if (cmd === 'reset') {
        received = 0;
        firstAt = null;
        lastAt = null;
        messageIds.clear();
      }
      return counts;
    },
    () => new Promise<void>((resolve) => server.close(() => resolve())),
  );
});
