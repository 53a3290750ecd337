import net, { type AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

/**
 * An SMTP server that offers no STARTTLS but would take a password in clear (`allowInsecureAuth`),
 * behind a TCP proxy that keeps every byte the client sends: what a network observer would see.
 */
export type WireSink = {
  host: string;
  port: number;
  /** TCP connections that reached the proxy. */
  connections(): number;
  /** Users the server saw authenticate (onAuth calls). */
  logins: string[];
  /** Messages the server accepted. */
  accepted(): number;
  /** Everything clients sent, as text. */
  wire(): string;
  close(): Promise<void>;
};

export async function startWireSink(): Promise<WireSink> {
  const logins: string[] = [];
  let accepted = 0;
  const server = new SMTPServer({
    disabledCommands: ['STARTTLS'],
    allowInsecureAuth: true,
    authOptional: true,
    logger: false,
    onAuth(auth, _session, callback) {
      logins.push(auth.username ?? '');
      callback(null, { user: auth.username });
    },
    onData(stream, _session, callback) {
      stream.resume();
      stream.on('end', () => {
        accepted++;
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const sinkPort = portOf(server.server.address());
  const chunks: Buffer[] = [];
  const sockets = new Set<net.Socket>();
  let connections = 0;
  const proxy = net.createServer((client) => {
    connections++;
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    const upstream = net.connect(sinkPort, '127.0.0.1');
    client.on('data', (chunk: Buffer) => chunks.push(chunk));
    client.pipe(upstream).pipe(client);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  return {
    host: '127.0.0.1',
    port: portOf(proxy.address()),
    connections: () => connections,
    logins,
    accepted: () => accepted,
    wire: () => Buffer.concat(chunks).toString('latin1'),
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => proxy.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function portOf(address: string | AddressInfo | null): number {
  if (typeof address !== 'object' || address === null) throw new Error('not listening on a TCP port');
  return address.port;
}
