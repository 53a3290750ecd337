import * as crypto from 'node:crypto';

/**
 * A number in [0, 1) derived from `seed`. Used where every worker (and every retry of one run) must
 * make the same "random" choice: the A/B variant of a run, the spacing jitter after a slot.
 */
export function hashFraction(seed: string): number {
  return sha256(seed).readUIntBE(0, 6) / 2 ** 48;
}

/** SHA-256 of a string: the one-shot `crypto.hash` where Node has it (20.12+), twice as fast. */
const sha256: (data: string) => Buffer =
  typeof crypto.hash === 'function'
    ? (data) => crypto.hash('sha256', data, 'buffer')
    : (data) => crypto.createHash('sha256').update(data).digest();
