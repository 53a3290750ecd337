import { Resolver } from 'node:dns/promises';
import type { DomainVerdict } from '../core/address-check';

export type MxLookupOptions = {
  /** Name servers (`ip` or `ip:port`); undefined: the system's. */
  servers?: readonly string[];
  /** How long one query may take; past it, its answer is `unknown`. */
  timeoutMs: number;
  /** Queries in flight at once. */
  concurrency?: number;
  /** After this, domains not yet asked about are `unknown` without a query. */
  deadline?: Date;
};

/** c-ares codes that are answers about the name, not failures to get one. */
const NXDOMAIN = 'ENOTFOUND';
const NODATA = 'ENODATA';

const codeOf = (err: unknown) =>
  typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : 'unknown';

/** A name's records of one type: the records, `nodata`, `nxdomain`, or `failed` (no answer had). */
type Answer<T> = { records: T[] } | { none: 'nodata' | 'nxdomain' | 'failed' };

async function ask<T>(query: () => Promise<T[]>): Promise<Answer<T>> {
  try {
    const records = await query();
    return records.length > 0 ? { records } : { none: 'nodata' };
  } catch (err) {
    const code = codeOf(err);
    if (code === NXDOMAIN) return { none: 'nxdomain' };
    if (code === NODATA) return { none: 'nodata' };
    return { none: 'failed' };
  }
}

/**
 * Whether a domain takes mail, as RFC 5321 §5.1 finds its servers: its MX records; a single MX of
 * `.` is a null MX (RFC 7505: the domain takes no mail); no MX at all falls back to an A or AAAA
 * record (the implicit MX). NXDOMAIN is a domain that does not exist. A timeout, SERVFAIL or a
 * refused query is `unknown`: it says nothing about the address.
 */
async function lookUp(resolver: Resolver, domain: string): Promise<DomainVerdict> {
  const mx = await ask(() => resolver.resolveMx(domain));
  if ('records' in mx) {
    // c-ares gives the root name `.` as the empty string.
    const real = mx.records.filter((r) => r.exchange !== '' && r.exchange !== '.');
    return real.length > 0 ? 'ok' : 'null_mx';
  }
  if (mx.none === 'nxdomain') return 'no_domain';
  if (mx.none === 'failed') return 'unknown';
  const a = await ask(() => resolver.resolve4(domain));
  if ('records' in a) return 'ok';
  if (a.none === 'nxdomain') return 'no_domain';
  const aaaa = await ask(() => resolver.resolve6(domain));
  if ('records' in aaaa) return 'ok';
  if (a.none === 'failed' || aaaa.none === 'failed') return 'unknown';
  return aaaa.none === 'nxdomain' ? 'no_domain' : 'no_mx';
}

/**
 * A domain checker for one batch: each domain is looked up once (later calls share the answer),
 * at most `concurrency` lookups run at once, and each query gives up after `timeoutMs` (one try).
 */
export function createMxLookup(options: MxLookupOptions): (domain: string) => Promise<DomainVerdict> {
  const resolver = new Resolver({ timeout: options.timeoutMs, tries: 1 });
  if (options.servers?.length) resolver.setServers([...options.servers]);
  const cache = new Map<string, Promise<DomainVerdict>>();
  const limit = Math.max(1, options.concurrency ?? 16);
  let running = 0;
  const waiting: (() => void)[] = [];

  async function slot<T>(work: () => Promise<T>): Promise<T> {
    while (running >= limit) await new Promise<void>((resolve) => waiting.push(resolve));
    running++;
    try {
      return await work();
    } finally {
      running--;
      waiting.shift()?.();
    }
  }

  return (domain) => {
    const key = domain.toLowerCase();
    const known = cache.get(key);
    if (known) return known;
    const verdict = slot(async () =>
      options.deadline && Date.now() >= options.deadline.getTime() ? 'unknown' : lookUp(resolver, key),
    );
    cache.set(key, verdict);
    return verdict;
  };
}
