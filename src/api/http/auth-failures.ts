import type { FastifyReply, FastifyRequest } from 'fastify';
import { HttpError } from './errors';

/**
 * Failed authentications per client address, so credentials cannot be guessed at the request
 * rate: the request limiter buckets by the presented key, and a guess is a new key each time.
 * Past `perMinute` failures an address gets 429 for every credential, right or wrong, until its
 * minute is over (answering a right guess differently would let guessing go on). Per process and
 * in memory, like the request limiter; the map starts over past a bound, so a flood of addresses
 * cannot grow it.
 */
const MAX_ADDRESSES = 100_000;
const WINDOW_MS = 60_000;

export type AuthFailures = {
  /** Throws 429 (with Retry-After) when `request`'s address has used up its failures. */
  check(request: FastifyRequest, reply: FastifyReply): void;
  /** Counts one failed authentication against `request`'s address. */
  fail(request: FastifyRequest): void;
};

export function createAuthFailures(perMinute: number): AuthFailures {
  const windows = new Map<string, { count: number; resetAt: number }>();
  const current = (ip: string, now: number) => {
    const window = windows.get(ip);
    return window && window.resetAt > now ? window : null;
  };
  return {
    check(request, reply) {
      const now = Date.now();
      const window = current(request.ip, now);
      if (window && window.count >= perMinute) {
        const seconds = Math.ceil((window.resetAt - now) / 1000);
        reply.header('retry-after', String(seconds));
        throw new HttpError(
          429,
          'rate_limited',
          `too many failed authentications from this address; retry in ${seconds} seconds`,
        );
      }
    },
    fail(request) {
      const now = Date.now();
      const window = current(request.ip, now);
      if (window) {
        window.count++;
        return;
      }
      if (windows.size >= MAX_ADDRESSES) windows.clear();
      windows.set(request.ip, { count: 1, resetAt: now + WINDOW_MS });
    },
  };
}
