import { createSocket } from 'node:dgram';
import type { AddressInfo } from 'node:net';
import * as dnsPacket from 'dns-packet';

/** What the test's name server knows about one name; a name it does not know is NXDOMAIN. */
export type Zone = {
  mx?: { preference: number; exchange: string }[];
  a?: string[];
  aaaa?: string[];
  /** Never answer queries for this name: the resolver times out. */
  silent?: true;
  /** Answer SERVFAIL: the name server failed, which says nothing about the name. */
  servfail?: true;
};

export type DnsServer = {
  /** `127.0.0.1:<port>`, for DNS_SERVERS. */
  address: string;
  /** Queries received, as `TYPE name`. */
  queries: string[];
  close(): Promise<void>;
};

const SERVFAIL = 2;
const NXDOMAIN = 3;

/** A tiny authoritative name server on loopback UDP, answering from `zones` (dns-packet). */
export async function startDnsServer(zones: Record<string, Zone>): Promise<DnsServer> {
  const socket = createSocket('udp4');
  const queries: string[] = [];
  socket.on('message', (message, remote) => {
    let query: dnsPacket.DecodedPacket;
    try {
      query = dnsPacket.decode(message);
    } catch {
      return;
    }
    const question = query.questions?.[0];
    if (!question) return;
    queries.push(`${question.type} ${question.name}`);
    const zone = zones[question.name.toLowerCase()];
    if (zone?.silent) return;
    const answers: dnsPacket.Answer[] = [];
    if (zone && question.type === 'MX')
      for (const data of zone.mx ?? []) answers.push({ type: 'MX', name: question.name, ttl: 60, data });
    if (zone && question.type === 'A')
      for (const data of zone.a ?? []) answers.push({ type: 'A', name: question.name, ttl: 60, data });
    if (zone && question.type === 'AAAA')
      for (const data of zone.aaaa ?? []) answers.push({ type: 'AAAA', name: question.name, ttl: 60, data });
    const response = dnsPacket.encode({
      type: 'response',
      id: query.id,
      flags: dnsPacket.AUTHORITATIVE_ANSWER | (zone ? (zone.servfail ? SERVFAIL : 0) : NXDOMAIN),
      questions: [question],
      answers,
    });
    socket.send(response, remote.port, remote.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const { port } = socket.address() as AddressInfo;
  return {
    address: `127.0.0.1:${port}`,
    queries,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}
