import { createServer, type Server, type Socket, connect } from 'node:net';

/**
 * What happens to the server's answer to one message's final dot (the DATA verdict), chosen per
 * recipient: `pass` forwards it; `drop` closes both sockets instead, after the server has taken the
 * message (the client cannot know it was delivered); `delayMs` holds the answer back that long.
 */
export type VerdictFault = 'pass' | 'drop' | { delayMs: number };

/** One message as it crossed the wire: when the client finished handing it over, and its Message-ID. */
export type WireMessage = { recipient: string; messageId: string | null; handedOverAt: Date };

export type SmtpFaultProxy = {
  port: number;
  host: string;
  /** Every message whose final dot reached the server, faulted or not. */
  wire: WireMessage[];
  setFault(fault: (recipient: string) => VerdictFault): void;
  close(): Promise<void>;
};

const DATA_END = '\r\n.\r\n';

/**
 * A TCP proxy in front of the SMTP sink that injects network faults at the one moment that matters
 * for at-most-once delivery: between the server accepting a message and the client hearing so.
 * It reads the client's side of the conversation (RCPT TO, DATA, the final dot) and leaves the bytes
 * untouched; only the server's verdict is dropped or delayed.
 */
export async function startSmtpFaultProxy(target: { host: string; port: number }): Promise<SmtpFaultProxy> {
  const wire: WireMessage[] = [];
  let fault: (recipient: string) => VerdictFault = () => 'pass';
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(target.port, target.host);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {});
    }
    const session = new ClientStream((m) => wire.push(m));
    let pendingVerdict: string | null = null;
    const closeBoth = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    client.on('data', (chunk: Buffer) => {
      const ended = session.feed(chunk.toString('latin1'));
      if (ended) pendingVerdict = ended;
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      const recipient = pendingVerdict;
      pendingVerdict = null;
      const decision = recipient === null ? 'pass' : fault(recipient);
      if (decision === 'pass') client.write(chunk);
      else if (decision === 'drop') closeBoth();
      else setTimeout(() => client.writable && client.write(chunk), decision.delayMs);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('proxy has no TCP address');
  return {
    port: address.port,
    host: '127.0.0.1',
    wire,
    setFault(f) {
      fault = f;
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * The client's half of one SMTP session, parsed just enough to know the recipient of the current
 * transaction and the moment its message body ends.
 */
class ClientStream {
  private mode: 'command' | 'data' = 'command';
  private line = '';
  private body = '';
  private recipient = '';

  constructor(private readonly onMessage: (m: WireMessage) => void) {}

  /** Returns the recipient when this chunk completed a message (its verdict is the next reply). */
  feed(text: string): string | null {
    let ended: string | null = null;
    let rest = text;
    while (rest.length > 0) {
      if (this.mode === 'data') {
        this.body += rest;
        const end = this.body.indexOf(DATA_END);
        if (end < 0) return ended;
        rest = this.body.slice(end + DATA_END.length);
        this.finishMessage(this.body.slice(0, end));
        ended = this.recipient;
        continue;
      }
      const nl = rest.indexOf('\r\n');
      if (nl < 0) {
        this.line += rest;
        return ended;
      }
      this.command(this.line + rest.slice(0, nl));
      this.line = '';
      rest = rest.slice(nl + 2);
    }
    return ended;
  }

  private command(line: string) {
    const rcpt = /^RCPT TO:\s*<([^>]*)>/i.exec(line);
    if (rcpt) this.recipient = (rcpt[1] ?? '').toLowerCase();
    // nodemailer waits for 354 before streaming the body, so what follows DATA is the message.
    if (/^DATA$/i.test(line)) {
      this.mode = 'data';
      this.body = '\r\n';
    }
  }

  private finishMessage(body: string) {
    const header = body.split('\r\n\r\n')[0] ?? '';
    const id = /\r\nMessage-ID:\s*(<[^>\r\n]+>)/i.exec(header.replace(/\r\n[ \t]+/g, ' '));
    this.onMessage({ recipient: this.recipient, messageId: id?.[1] ?? null, handedOverAt: new Date() });
    this.mode = 'command';
    this.body = '';
  }
}
