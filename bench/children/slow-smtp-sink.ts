/**
 * An SMTP server in its own process that takes its time, as real ones do: the greeting and every
 * command answered after `--command-ms` (50), the end of DATA after `--data-ms` (300). It accepts
 * every message and only counts, like smtp-sink. Written on `net` rather than smtp-server because
 * smtp-server has no hook before its 354 or its EHLO answer, and every answer must wait.
 *
 * Requests from the parent: `count`, `reset` (answers the counts it clears), `hang <ms> <n>`: the
 * next `n` messages' end of DATA waits `ms` instead (an overloaded or greylisting server holding the
 * session); `held` counts them as they arrive, `heldAt` says when the first and last did.
 */
import net from 'node:net';
import { serveParent } from '../child';

const option = (name: string, fallback: number) => {
  const arg = process.argv.find((a) => a.startsWith(`--${name}=`));
  const value = arg ? Number(arg.slice(name.length + 3)) : fallback;
  return Number.isFinite(value) && value >= 0 ? value : fallback;
};
const commandMs = option('command-ms', 50);
const dataMs = option('data-ms', 300);
let hangMs = 0;
let hangLeft = 0;
let held = 0;
let firstHeldAt: number | null = null;
let lastHeldAt: number | null = null;

let received = 0;
let firstAt: number | null = null;
let lastAt: number | null = null;
/** Messages whose DATA ended and whose answer is still held back. */
let awaitingAnswer = 0;
let sessions = 0;
let peakSessions = 0;
const messageIds = new Map<string, number>();
/**
 * Sessions between MAIL FROM and the answer to their message, by sender (one sender a mailbox):
 * whether the sessions a client may open are used, and spread over its mailboxes.
 */
const busyBySender = new Map<string, number>();
let busy = 0;

const delay = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function recordMessage(head: string): void {
  const id = /^message-id:\s*(.+)$/im.exec(head)?.[1]?.trim();
  if (id) messageIds.set(id, (messageIds.get(id) ?? 0) + 1);
  received += 1;
  const now = Date.now();
  firstAt ??= now;
  lastAt = now;
}

/** The answer to one command line outside DATA, and whether DATA starts. */
function answer(line: string): { text: string; data?: true; quit?: true } {
  const verb = line.slice(0, 4).toUpperCase();
  switch (verb) {
    case 'EHLO':
      return { text: '250-sink.test\r\n250-8BITMIME\r\n250 SIZE 10485760\r\n' };
    case 'HELO':
    case 'MAIL':
    case 'RCPT':
    case 'RSET':
    case 'NOOP':
      return { text: '250 OK\r\n' };
    case 'DATA':
      return { text: '354 go ahead\r\n', data: true };
    case 'AUTH':
      return { text: '235 accepted\r\n' };
    case 'QUIT':
      return { text: '221 bye\r\n', quit: true };
    default:
      return { text: '502 not implemented\r\n' };
  }
}

const sockets = new Set<net.Socket>();
const server = net.createServer((socket) => {
  sockets.add(socket);
  sessions += 1;
  peakSessions = Math.max(peakSessions, sessions);
  socket.setNoDelay(true);
  socket.on('error', () => {});
  socket.on('close', () => {
    sockets.delete(socket);
    sessions -= 1;
  });
  // Answers go out in order, each after its own wait, as a server working one command at a time.
  let answers = Promise.resolve();
  const send = (text: string, ms: number, after?: () => void) => {
    answers = answers.then(async () => {
      await delay(ms);
      after?.();
      if (!socket.destroyed) socket.write(text);
    });
  };
  send('220 sink.test ESMTP\r\n', commandMs);
  let buffer = '';
  let sender: string | null = null;
  const idle = () => {
    if (sender === null) return;
    busy -= 1;
    busyBySender.set(sender, (busyBySender.get(sender) ?? 1) - 1);
    sender = null;
  };
  socket.on('close', idle);
  let inData = false;
  let head = '';
  let headDone = false;
  socket.on('data', (chunk: Buffer) => {
    buffer += chunk.toString('latin1');
    for (let end = buffer.indexOf('\r\n'); end >= 0; end = buffer.indexOf('\r\n')) {
      const line = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      if (inData) {
        if (line !== '.') {
          if (!headDone) {
            if (line === '') headDone = true;
            else if (head.length < 8192) head += `${line}\r\n`;
          }
          continue;
        }
        inData = false;
        recordMessage(head);
        head = '';
        headDone = false;
        const hang = hangLeft > 0;
        if (hang) {
          hangLeft -= 1;
          held += 1;
          lastHeldAt = Date.now();
          firstHeldAt ??= lastHeldAt;
        }
        const wait = hang ? hangMs : dataMs;
        awaitingAnswer += 1;
        send('250 queued\r\n', wait, () => {
          awaitingAnswer -= 1;
          idle();
        });
        continue;
      }
      if (/^MAIL FROM:/i.test(line) && sender === null) {
        sender = line.slice(10).trim().toLowerCase();
        busy += 1;
        busyBySender.set(sender, (busyBySender.get(sender) ?? 0) + 1);
      }
      if (/^RSET/i.test(line)) idle();
      const reply = answer(line);
      if (reply.data) inData = true;
      send(reply.text, commandMs, reply.quit ? () => socket.end() : undefined);
    }
  });
});

server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  serveParent(
    typeof address === 'object' && address ? address.port : 0,
    async (cmd) => {
      const [verb, arg, count] = cmd.split(' ');
      if (verb === 'hang') {
        hangMs = Math.max(0, Number(arg) || 0);
        hangLeft = Math.max(0, Number(count) || 0);
        held = 0;
        firstHeldAt = null;
        lastHeldAt = null;
      }
      const duplicates = [...messageIds.values()].filter((n) => n > 1).length;
      const counts = {
        received,
        firstAt,
        lastAt,
        uniqueMessageIds: messageIds.size,
        duplicates,
        awaitingAnswer,
        sessions,
        peakSessions,
        held,
        heldAt: { first: firstHeldAt, last: lastHeldAt },
        busy,
        sendersBusy: [...busyBySender.values()].filter((n) => n > 0).length,
        busiestSender: Math.max(0, ...busyBySender.values()),
      };
      if (verb === 'reset') {
        received = 0;
        firstAt = null;
        lastAt = null;
        peakSessions = sessions;
        messageIds.clear();
      }
      return counts;
    },
    () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  );
});
