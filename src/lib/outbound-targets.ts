import dns from 'node:dns';
import net from 'node:net';
import ipaddr from 'ipaddr.js';
import { type AllowedTarget, canonicalAddress, hostKey, type IpAddress } from './allowed-targets';

/** What a refused connection is recorded as: never what a socket to that address would have said. */
export const BLOCKED_TARGET = 'blocked: private address';

/** Raised instead of connecting to a private address that `ALLOWED_PRIVATE_TARGETS` does not allow. */
export class BlockedTargetError extends Error {
  override name = 'BlockedTargetError';
  readonly code = 'EBLOCKED';
  constructor() {
    super(BLOCKED_TARGET);
  }
}

export const isBlockedTarget = (err: unknown): err is BlockedTargetError => err instanceof BlockedTargetError;

/**
 * True for every address that is not plain public unicast: loopback, private, link-local (cloud
 * metadata at 169.254.169.254 included), carrier-grade NAT, unspecified (0.0.0.0/8, ::),
 * multicast, broadcast, unique-local, reserved and documentation ranges, and the IPv6 forms that
 * embed an IPv4 address (NAT64, 6to4, Teredo), which could carry any of those. Not an address: true.
 */
export function isPrivateAddress(address: string): boolean {
  return canonicalAddress(address)?.range() !== 'unicast';
}

/** Where an outbound connection goes, as configured: a host name or an address, and a port. */
export type Target = { host: string; port: number };

/** `dns.lookup` with every answer, as `net.connect` asks for it. Tests pass a fake one. */
export type Resolve = (hostname: string, options: dns.LookupAllOptions) => Promise<dns.LookupAddress[]>;

/**
 * The outbound guard for webhook endpoints, SMTP and (later) IMAP hosts: private addresses are
 * refused unless `ALLOWED_PRIVATE_TARGETS` allows them. The address checked is the one connected
 * to (a literal, each DNS answer, the socket's peer), so a name whose DNS answer changes between
 * the API's check and the connection gains nothing.
 */
export type OutboundTargets = {
  /** Whether a connection to `target` may reach `address` (what its host is or resolved to). */
  permits(target: Target, address: string): boolean;
  /**
   * What the API can refuse without DNS: an address literal in any spelling (`2130706433`,
   * `0x7f000001`, `127.1`, `[::ffff:127.0.0.1]`) or a `localhost` name that is not allowed.
   */
  allowsStatically(target: Target): boolean;
  /** A `dns.lookup` for connections on `port` that fails with `BlockedTargetError` on a private answer. */
  lookupFor(port: number): net.LookupFunction;
  /** A TCP connection to `target`, or `BlockedTargetError` before anything is sent to a private address. */
  connect(target: Target, timeoutMs: number): Promise<net.Socket>;
};

const defaultResolve: Resolve = (hostname, options) => dns.promises.lookup(hostname, options);

export function createOutboundTargets(
  allowed: readonly AllowedTarget[],
  resolve: Resolve = defaultResolve,
): OutboundTargets {
  function permits(target: Target, address: string): boolean {
    const ip = canonicalAddress(address);
    if (!ip) return false;
    if (ip.range() === 'unicast') return true;
    const name = hostKey(target.host);
    return allowed.some(
      (entry) =>
        (entry.port === null || entry.port === target.port) &&
        ('host' in entry ? entry.host === name : inRange(ip, entry.range)),
    );
  }

  function allowsStatically(target: Target): boolean {
    const name = hostKey(target.host);
    // RFC 6761: these names are loopback whatever DNS says.
    if (name === 'localhost' || name.endsWith('.localhost'))
      return permits(target, '127.0.0.1') || permits(target, '::1');
    return !ipaddr.isValid(name) || permits(target, name);
  }

  const lookupFor =
    (port: number): net.LookupFunction =>
    (hostname, options, callback) => {
      resolve(hostname, { ...options, all: true }).then(
        (addresses) => {
          const first = addresses[0];
          // One private answer refuses the name: a mix is how a rebinding answer would look.
          if (!first || addresses.some((a) => !permits({ host: hostname, port }, a.address)))
            return callback(new BlockedTargetError(), '');
          if (options.all) callback(null, addresses);
          else callback(null, first.address, first.family);
        },
        (err: NodeJS.ErrnoException) => callback(err, ''),
      );
    };

  async function connect(target: Target, timeoutMs: number): Promise<net.Socket> {
    const host = hostKey(target.host);
    // net.connect does not look up an address literal, so the lookup below never sees one.
    if (net.isIP(host) && !permits(target, host)) throw new BlockedTargetError();
    const socket = net.connect({ host, port: target.port, lookup: lookupFor(target.port) });
    try {
      await new Promise<void>((resolve, reject) => {
        const fail = (err: Error) => {
          clearTimeout(timer);
          reject(err);
        };
        const timer = setTimeout(
          () => fail(Object.assign(new Error('Connection timeout'), { code: 'ETIMEDOUT' })),
          timeoutMs,
        );
        socket.once('error', fail);
        socket.once('connect', () => {
          clearTimeout(timer);
          socket.off('error', fail);
          resolve();
        });
      });
    } catch (err) {
      socket.destroy();
      throw err;
    }
    // The peer the socket reached, however it got there: the check the two above anticipate.
    if (!permits(target, socket.remoteAddress ?? '')) {
      socket.destroy();
      throw new BlockedTargetError();
    }
    return socket;
  }

  return { permits, allowsStatically, lookupFor, connect };
}

function inRange(ip: IpAddress, [base, prefix]: [IpAddress, number]): boolean {
  return ip.kind() === base.kind() && ip.match(base, prefix);
}
