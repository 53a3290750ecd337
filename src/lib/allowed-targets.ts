import net from 'node:net';
import ipaddr from 'ipaddr.js';
import { z } from 'zod';

export type IpAddress = ipaddr.IPv4 | ipaddr.IPv6;

/**
 * One `ALLOWED_PRIVATE_TARGETS` entry, on one port or (`port: null`) on all. A host name allows
 * whatever that name resolves to; an address or CIDR allows the addresses it covers, whatever name
 * led there.
 */
export type AllowedTarget =
  | { host: string; port: number | null }
  | { range: [IpAddress, number]; port: number | null };

/** The address as compared: an IPv4-mapped IPv6 address (`::ffff:127.0.0.1`) is its IPv4 address. */
export function canonicalAddress(address: string): IpAddress | null {
  if (!ipaddr.isValid(address)) return null;
  const ip = ipaddr.parse(address);
  return ip instanceof ipaddr.IPv6 && ip.isIPv4MappedAddress() ? ip.toIPv4Address() : ip;
}

/** A host as written in a URL, a mailbox or an entry: lower case, no brackets, no trailing dot. */
export const hostKey = (host: string) =>
  host
    .trim()
    .toLowerCase()
    .replace(/^\[(.*)\]$/, '$1')
    .replace(/\.$/, '');

const hostName = /^[a-z0-9_](?:[a-z0-9_.-]{0,251}[a-z0-9_])?$/;

/**
 * Parses `ALLOWED_PRIVATE_TARGETS`: comma-separated host names, addresses and CIDRs, each with an
 * optional `:port` (an IPv6 address or CIDR takes one only in brackets: `[fd00::/8]:25`).
 */
export function parseAllowedTargets(text: string): { targets: AllowedTarget[] } | { error: string } {
  const targets: AllowedTarget[] = [];
  for (const raw of text.split(',')) {
    const entry = raw.trim().toLowerCase();
    if (!entry) continue;
    const target = parseEntry(entry);
    if (!target) return { error: `"${entry}" is not a host name, address or CIDR with an optional :port` };
    targets.push(target);
  }
  return { targets };
}

function parseEntry(entry: string): AllowedTarget | null {
  const split = splitPort(entry);
  if (!split) return null;
  const { host, port } = split;
  const [base = '', bits] = host.split('/');
  if (net.isIP(base)) {
    const ip = ipaddr.parse(base);
    const full = ip.kind() === 'ipv4' ? 32 : 128;
    const prefix = bits === undefined ? full : /^\d{1,3}$/.test(bits) ? Number(bits) : -1;
    if (prefix < 0 || prefix > full) return null;
    return { range: canonicalRange(ip, prefix), port };
  }
  // Only dotted addresses count as addresses here; `2130706433` in an allow-list is a typo, not a host.
  if (bits !== undefined || ipaddr.isValid(host) || !hostName.test(host.replace(/\.$/, ''))) return null;
  return { host: hostKey(host), port };
}

function splitPort(entry: string): { host: string; port: number | null } | null {
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(entry);
  if (bracketed) return withPort(bracketed[1], bracketed[2]);
  // More than one colon is a bare IPv6 address or CIDR, which cannot carry a port.
  if (entry.split(':').length > 2) return { host: entry, port: null };
  const [host, port] = entry.split(':');
  return withPort(host, port);
}

function withPort(host: string | undefined, port: string | undefined) {
  if (!host) return null;
  if (port === undefined) return { host, port: null };
  const n = Number(port);
  return /^\d{1,5}$/.test(port) && n >= 1 && n <= 65535 ? { host, port: n } : null;
}

/** `::ffff:10.0.0.0/104` covers the same addresses as `10.0.0.0/8`, and is compared as such. */
function canonicalRange(ip: IpAddress, prefix: number): [IpAddress, number] {
  if (ip instanceof ipaddr.IPv6 && ip.isIPv4MappedAddress() && prefix >= 96)
    return [ip.toIPv4Address(), prefix - 96];
  return [ip, prefix];
}

/** The config schema of `ALLOWED_PRIVATE_TARGETS`: unset allows no private address at all. */
export const AllowedPrivateTargets = z
  .string()
  .default('')
  .transform((text, ctx) => {
    const parsed = parseAllowedTargets(text);
    if ('targets' in parsed) return parsed.targets;
    ctx.addIssue({ code: 'custom', message: parsed.error, input: text });
    return z.NEVER;
  });
